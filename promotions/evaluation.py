"""Evaluating a project's alias rules for one move (docs/lifecycle.md, "Protected aliases").

Every rule whose pattern matches the alias applies, so `production` under rules for
`production` and `prod*` must satisfy both: the strictest movers, every condition, every
"no worse than", and the largest number of approvals. Each unmet requirement is a Failure with
a code, the rule and a sentence a person understands; services.py turns a list of them into
the 409 (RulesBroken).
"""

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase

from promotions.conditions import unmet_parts
from promotions.models import AliasRule, Direction, Movers
from registry import rules as registry_rules
from registry.models import MLModel, Role
from registry.search.errors import QueryError

# Failure codes: who moves it, what the version matches, how its metric compares.
NOT_PERMITTED, CONDITION, NO_WORSE_THAN = "not_permitted", "condition", "no_worse_than"


@dataclass(frozen=True)
class Failure:
    code: str  # NOT_PERMITTED, CONDITION or NO_WORSE_THAN
    rule_id: int
    pattern: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "rule_id": self.rule_id, "pattern": self.pattern, "message": self.message}


def pattern_matches(pattern: str, alias: str) -> bool:
    return fnmatchcase(alias, pattern)


def rules_for(project_id: int, alias: str) -> list[AliasRule]:
    """The rules that apply to `alias` in the project (their named users loaded)."""
    return AliasRule.objects.matching(project_id, alias)


def approvals_required(rules: list[AliasRule]) -> int:
    return max((rule.approvals for rule in rules), default=0)


def role_of(user, workspace_id: int) -> str | None:
    """The user's role in the workspace as the rules read it: staff count as owners."""
    return Role.OWNER if user.is_staff else registry_rules.role_in(user, workspace_id)


def _permitted(rule: AliasRule, user, role: str | None) -> bool:
    if role == Role.OWNER:
        return True  # owners manage the rules, so they may always move what the rules guard
    if role != Role.MEMBER:
        return False  # viewers never move aliases
    if rule.movers == Movers.MEMBERS:
        return True
    return rule.movers == Movers.USERS and any(named.pk == user.pk for named in rule.users.all())


def may_move(user, rules: list[AliasRule], workspace_id: int) -> bool:
    """Whether `user` may move an alias these rules guard, and so approve or reject its requests.
    With no rules: the workspace's owners and members (registry.rules.can_set_alias)."""
    return may_move_as(user, rules, role_of(user, workspace_id))


def may_move_as(user, rules: list[AliasRule], role: str | None) -> bool:
    """may_move for a user whose role (role_of) is known: a page asking about many aliases."""
    return role in (Role.OWNER, Role.MEMBER) and all(_permitted(rule, user, role) for rule in rules)


def mover_failures(user, rules: list[AliasRule], workspace_id: int, alias: str) -> list[Failure]:
    role = role_of(user, workspace_id)
    return [
        Failure(NOT_PERMITTED, rule.pk, rule.pattern, f"{user.get_username()} may not move {alias}: {_movers(rule)}")
        for rule in rules
        if not _permitted(rule, user, role)
    ]


def _movers(rule: AliasRule) -> str:
    if rule.movers == Movers.OWNERS:
        return f"the rule for {rule.pattern} lets only the workspace's owners move it."
    if rule.movers == Movers.USERS:
        logins = ", ".join(sorted(user.get_username() for user in rule.users.all()))
        return f"the rule for {rule.pattern} lets only the workspace's owners and {logins} move it."
    return f"the rule for {rule.pattern} lets only the workspace's owners and members move it."


def candidate_failures(
    rules: list[AliasRule], alias: str, candidate: MLModel, holder: MLModel | None, user
) -> list[Failure]:
    """What `candidate` fails of the rules' conditions and "no worse than the version it
    replaces" (`holder`, the alias's version now, or None). `user` is who will read the
    sentences: a holder they may not see is not described."""
    failures = []
    for rule in rules:
        try:
            unmet = unmet_parts(rule.condition, candidate) if rule.condition else []
        except QueryError as error:
            # Parsed when saved, but the search language may have changed since: refuse, and say so.
            message = f"the condition of the rule for {rule.pattern} no longer runs ({error}); an owner must fix it"
            failures.append(Failure(CONDITION, rule.pk, rule.pattern, message))
            continue
        for part in unmet:
            found = f"{part.found}; " if part.found else f"version {candidate.version} does not match it; "
            message = f"{found}the rule for {rule.pattern} needs {part.text}"
            failures.append(Failure(CONDITION, rule.pk, rule.pattern, message))
        if rule.metric and holder is not None and holder.pk != candidate.pk:
            message = _worse(rule, candidate, holder, user)
            if message:
                failures.append(Failure(NO_WORSE_THAN, rule.pk, rule.pattern, message))
    return failures


def _number(metrics: dict, key: str) -> float | None:
    value = (metrics or {}).get(key)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return value if is_number and math.isfinite(value) else None


def _worse(rule: AliasRule, candidate: MLModel, holder: MLModel, user) -> str | None:
    """The sentence saying how `candidate` is worse than `holder` on the rule's metric, or None.
    A holder without a number there sets no bar."""
    current = _number(holder.metrics, rule.metric)
    if current is None:
        return None
    higher = rule.direction == Direction.HIGHER
    limit = current - rule.tolerance if higher else current + rule.tolerance
    value = _number(candidate.metrics, rule.metric)
    # A relative epsilon: 0.91 - 0.01 is 0.9000000000000001, and 0.9 should pass.
    slack = 1e-9 * max(1.0, abs(limit))
    if value is not None and ((value >= limit - slack) if higher else (value <= limit + slack)):
        return None
    side, sign = ("lower", "minus") if higher else ("higher", "plus")
    tolerance = f", {sign} a tolerance of {_g(rule.tolerance)}" if rule.tolerance else ""
    if holder.private and holder.uploader_id != user.pk and not user.is_staff:
        bar = f"no {side} than on the version it replaces{tolerance}"  # one they cannot see: no figures
    else:
        bar = f"no {side} than {_g(limit)}: {_g(current)} on version {holder.version}, which it replaces{tolerance}"
    name = f"metrics.{rule.metric}"
    found = f"{name} is {_g(value)}" if value is not None else f"{name} is not a number"
    needs = f"the rule for {rule.pattern} needs it {bar} ({rule.direction} is better)"
    return f"{found} on version {candidate.version}; {needs}"


def _g(number: float) -> str:
    return format(number, ".10g") if isinstance(number, float) else str(number)
