"""Every write of alias rules, protected alias moves and promotion requests (docs/lifecycle.md).

The API and the web UI call these, never `registry.services.alias_set` / `alias_remove`: those
are the raw moves, which know the workspace roles but not the project's alias rules. Here each
move takes the registered model's lock (so the alias cannot move between the rules' evaluation
and the move, and two moves happen one after the other), evaluates the rules that apply
(evaluation.py), then moves the alias through the raw move or opens a promotion request. Every
change records its events in the same transaction.

Errors, as in registry.services: PermissionDenied (403) for what the caller's role forbids,
ValidationError (400) for bad input, Http404 for what they may not see, Conflict (409) for what
the state forbids, and RulesBroken (409) for a move the rules refuse, with the failed rules.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from events.models import Event
from events.services import changes, record
from maisie_site.api_errors import ExplainedHttp404
from promotions import evaluation
from promotions.evaluation import Failure
from promotions.models import AliasRule, Movers, PromotionApproval, PromotionRequest, RequestState
from registry import rules as registry_rules
from registry import services as registry_services
from registry.models import Alias, Membership, MLModel, Project, RegisteredModel, Role
from registry.registered_models import version_seen
from registry.services import Conflict

# The fields of a rule a caller sets; `users` is the named users (User instances).
RULE_FIELDS = ("pattern", "movers", "users", "condition", "metric", "direction", "tolerance", "approvals")


class RulesBroken(Conflict):
    """409: the move breaks alias rules. `failures` holds them (evaluation.Failure); the API adds
    them to its error body as `failed_rules` (maisie_site/api_errors.py reads `error_fields`)."""

    default_code = "rules_broken"

    def __init__(self, alias: str, failures: list[Failure]):
        self.failures = failures
        broken = "a rule" if len(failures) == 1 else f"{len(failures)} rules"
        super().__init__(f"Moving {alias} breaks {broken}: {failures[0].message}.")
        self.error_fields = {"failed_rules": [failure.as_dict() for failure in failures]}


class PendingRequestExists(Conflict):
    """409: a promotion request for the alias is already pending; `error_fields` names it."""

    default_code = "request_pending"

    def __init__(self, pending: PromotionRequest):
        super().__init__(
            f"Request {pending.pk} to move {pending.alias} to version {pending.version_number} is already "
            "pending: it must be approved, rejected or cancelled before another is opened."
        )
        self.error_fields = {"pending_request_id": pending.pk}


@dataclass
class AliasMove:
    """A move done at once: the alias as it is now (with `version_number`), and the version it
    pointed at before (None when it is new; the same version when nothing changed)."""

    alias: Alias
    previous_version: int | None


# ----------------------------------------------------------------------------- rules


def rule_state(rule: AliasRule) -> dict:
    """A rule as `rules.changed` events record it, named users as sorted logins."""
    return {
        "pattern": rule.pattern,
        "movers": rule.movers,
        "users": sorted(user.get_username() for user in rule.users.all()),
        "condition": rule.condition,
        "metric": rule.metric,
        "direction": rule.direction,
        "tolerance": rule.tolerance,
        "approvals": rule.approvals,
    }


def check_named_users(project: Project, movers: str, users) -> None:
    """The named users of a rule: only with movers "users", at least one, each an owner or a
    member of the project's workspace (viewers never move aliases). Raises ValidationError."""
    users = list(users)
    if movers != Movers.USERS:
        if users:
            raise ValidationError({"users": 'Named users apply only when movers is "users".'})
        return
    if not users:
        raise ValidationError({"users": 'Name at least one user when movers is "users" (or choose "owners").'})
    writers = Membership.objects.filter(
        workspace_id=project.workspace_id, user__in=users, role__in=(Role.OWNER, Role.MEMBER)
    ).values_list("user_id", flat=True)
    outside = [user.get_username() for user in users if user.pk not in set(writers)]
    if outside:
        raise ValidationError(
            {"users": f"Not an owner or member of this workspace, so cannot move aliases: {', '.join(outside)}."}
        )


def _require_rule_manager(user, project: Project) -> None:
    if not registry_rules.can_manage_workspace(user, project.workspace):
        raise PermissionDenied("Only the workspace's owners manage alias rules.")


def _lock_project(project: Project) -> None:
    # Moves take the project's lock first too (registry_model_lock): a rule changes between
    # moves, never during one's evaluation.
    if not Project.objects.select_for_update().filter(pk=project.pk).exists():
        raise ExplainedHttp404("No such project.")


def _save_rule(rule: AliasRule, fields: dict) -> AliasRule:
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown alias rule fields: {', '.join(sorted(unknown))}")
    users = fields.pop("users", None)
    for name, value in fields.items():
        setattr(rule, name, value)
    if users is None:
        users = list(rule.users.all()) if rule.pk and rule.movers == Movers.USERS else []
    rule.full_clean()
    check_named_users(rule.project, rule.movers, users)
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        rule.full_clean()  # a parallel request took the pattern: the field's 400
        raise
    rule.users.set(users)
    return rule


def _record_rule(user, rule: AliasRule, before=None, after=None) -> None:
    scope = {"workspace_id": rule.project.workspace_id, "project_id": rule.project_id}
    record(kind="rules.changed", actor=user, subject=rule, before=before, after=after, **scope)


@transaction.atomic
def alias_rule_create(*, project: Project, user, **fields) -> AliasRule:
    """A new rule for the project's aliases matching `pattern`; `fields` are RULE_FIELDS
    (`users` a list of User). Owners (and staff) only. Records `rules.changed` (before null)."""
    _require_rule_manager(user, project)
    _lock_project(project)
    rule = _save_rule(AliasRule(project=project, created_by=user), dict(fields))
    _record_rule(user, rule, after=rule_state(rule))
    return rule


@transaction.atomic
def alias_rule_update(*, rule: AliasRule, user, **fields) -> AliasRule:
    """Change some of a rule's RULE_FIELDS. Moving away from movers "users" drops the named
    users unless `users` is given. Records `rules.changed` with the changed fields, if any."""
    _require_rule_manager(user, rule.project)
    _lock_project(rule.project)
    stored = AliasRule.objects.select_related("project").filter(pk=rule.pk).first()
    if stored is None:
        raise ExplainedHttp404("No such alias rule.")
    before = rule_state(stored)
    rule = _save_rule(stored, dict(fields))
    old, new = changes(before, rule_state(rule))
    if new:
        _record_rule(user, rule, before=old, after=new)
    return rule


@transaction.atomic
def alias_rule_delete(*, rule: AliasRule, user) -> None:
    """Remove a rule: its aliases are guarded by the remaining rules only. Pending requests stay
    and are evaluated against the rules as they are when their last approval arrives."""
    _require_rule_manager(user, rule.project)
    _lock_project(rule.project)
    stored = AliasRule.objects.select_related("project").filter(pk=rule.pk).first()
    if stored is None:
        raise ExplainedHttp404("No such alias rule.")
    _record_rule(user, stored, before=rule_state(stored))
    stored.delete()


# ----------------------------------------------------------------------------- moves


def _require_alias_writer(user, registered_model: RegisteredModel, doing: str) -> None:
    if not registry_rules.can_set_alias(user, registered_model):
        raise PermissionDenied(f"Viewers cannot {doing} aliases.")


def _version(registered_model: RegisteredModel, number: int, user) -> MLModel:
    found = (
        MLModel.objects.filter(version_seen(user), registered_model_id=registered_model.pk, version=number)
        .select_related("project__workspace", "uploader")
        .first()
    )
    if found is None:
        raise ValidationError({"version": f"{registered_model.name} has no version {number}."})
    return found


def _alias_row(registered_model: RegisteredModel, name: str) -> Alias | None:
    rows = Alias.objects.filter(registered_model_id=registered_model.pk, name=name)
    return rows.select_related("version__project").first()


def _evaluate(registered_model: RegisteredModel, name: str, candidate: MLModel, holder, user, mover) -> list:
    """The rules of alias `name`, or RulesBroken when `mover` may not move it or `candidate`
    may not replace `holder` under them."""
    rules = evaluation.rules_for(registered_model.project_id, name)
    workspace_id = registered_model.project.workspace_id
    failures = [] if mover is None else evaluation.mover_failures(mover, rules, workspace_id, name)
    failures += evaluation.candidate_failures(rules, name, candidate, holder, user)
    if failures:
        raise RulesBroken(name, failures)
    return rules


@transaction.atomic
def alias_put(*, registered_model: RegisteredModel, name: str, version: int, user) -> AliasMove | PromotionRequest:
    """Point alias `name` at version number `version`, as the rules allow: moved at once (an
    AliasMove), or, when they require approvals, a new pending PromotionRequest. A PUT onto the
    version the alias already names changes nothing (an AliasMove). Raises RulesBroken (409)
    with every failed rule, PendingRequestExists (409), ValidationError (400: name, version)."""
    _require_alias_writer(user, registered_model, "set")
    name = registry_services.checked_alias_name(name)  # a 400 before any rule's 409
    registered_model = registry_services.registered_model_lock(registered_model)
    candidate = _version(registered_model, version, user)
    current = _alias_row(registered_model, name)
    holder = current.version if current is not None else None
    if holder is not None and holder.pk == candidate.pk:
        current.version_number = candidate.version
        return AliasMove(current, candidate.version)
    rules = _evaluate(registered_model, name, candidate, holder, user, mover=user)
    required = evaluation.approvals_required(rules)
    if required:
        return _open_request(registered_model, name, candidate, holder, user, required, rollback=False)
    alias, previous = registry_services.alias_set(
        registered_model=registered_model, name=name, version=version, user=user
    )
    return AliasMove(alias, previous)


@transaction.atomic
def alias_remove(*, registered_model: RegisteredModel, name: str, user) -> None:
    """Remove alias `name`, if the rules let `user` move it (removal needs no approvals and no
    condition: it takes a version out of service). Raises Http404 for an alias they cannot see."""
    _require_alias_writer(user, registered_model, "remove")
    name = registry_services.checked_alias_name(name)  # a 400 before any rule's 409
    registered_model = registry_services.registered_model_lock(registered_model)
    visible = Alias.objects.visible_to(user).filter(registered_model_id=registered_model.pk, name=name)
    if not visible.exists():
        raise ExplainedHttp404(f"No alias {name!r} on this registered model.")
    rules = evaluation.rules_for(registered_model.project_id, name)
    failures = evaluation.mover_failures(user, rules, registered_model.project.workspace_id, name)
    if failures:
        raise RulesBroken(name, failures)
    registry_services.alias_remove(registered_model=registered_model, name=name, user=user)


@transaction.atomic
def alias_rollback(*, registered_model: RegisteredModel, name: str, user) -> AliasMove | PromotionRequest:
    """Point alias `name` back at the version it named before its current one: the `before` of
    the alias event that put the current version there. The rules apply as to any move (an
    AliasMove recorded as `alias.rolled_back`, or a pending PromotionRequest whose completion
    is). Raises Conflict (409) when there is no previous version to go back to, or it was
    deleted, moved elsewhere, or is another user's private version."""
    _require_alias_writer(user, registered_model, "roll back")
    name = registry_services.checked_alias_name(name)  # a 400 before any rule's 409
    registered_model = registry_services.registered_model_lock(registered_model)
    current = Alias.objects.visible_to(user).filter(registered_model_id=registered_model.pk, name=name)
    current = current.select_related("version__project").first()
    if current is None:
        raise ExplainedHttp404(f"No alias {name!r} on this registered model.")
    previous = _previous_target(registered_model, current, user)
    rules = _evaluate(registered_model, name, previous, current.version, user, mover=user)
    required = evaluation.approvals_required(rules)
    if required:
        return _open_request(registered_model, name, previous, current.version, user, required, rollback=True)
    alias, before = registry_services.alias_set(
        registered_model=registered_model, name=name, version=previous.version, user=user, rolled_back=True
    )
    return AliasMove(alias, before)


def _previous_target(registered_model: RegisteredModel, alias: Alias, user) -> MLModel:
    """The version `alias` named before its current one, from the event that put it there."""
    now = alias.version.version
    event = (
        Event.objects.filter(
            registered_model_id=registered_model.pk,
            subject_type="alias",
            subject_id=alias.pk,
            kind__in=("alias.set", "alias.moved", "alias.rolled_back"),
        )
        .order_by("-id")
        .only("before", "after")
        .first()
    )
    if event is None or (event.after or {}).get("model_id") != alias.version_id:
        raise Conflict(
            f"No recorded move put {alias.name} on version {now}: there is no previous version to go back to."
        )
    if not event.before:
        raise Conflict(
            f"{alias.name} was created on version {now}: it has no previous version to go back to. "
            "Remove it or set it to another version instead."
        )
    number = event.before.get("version")
    previous = MLModel.objects.filter(pk=event.before.get("model_id")).select_related("project__workspace").first()
    if previous is None:
        raise Conflict(
            f"Version {number}, which {alias.name} named before version {now}, has been deleted: there is "
            "nothing to roll back to. Set the alias to another version instead."
        )
    if previous.registered_model_id != registered_model.pk:
        raise Conflict(
            f"Version {number}, which {alias.name} named before version {now}, was renamed or moved to "
            "another project: it is no longer a version of this registered model."
        )
    if previous.private and previous.uploader_id != user.pk and not user.is_staff:
        raise Conflict(
            f"The version {alias.name} named before version {now} is another user's private version: "
            "you cannot roll back to it."
        )
    return previous


# ----------------------------------------------------------------------------- requests


def _open_request(registered_model, name, candidate, holder, user, required: int, rollback: bool) -> PromotionRequest:
    pending = PromotionRequest.objects.filter(
        registered_model_id=registered_model.pk, alias=name, state=RequestState.PENDING
    ).first()
    if pending is not None:
        raise PendingRequestExists(pending)
    if candidate.private:
        raise Conflict(
            f"Version {candidate.version} is private: the people who would approve moving {name} to it "
            "cannot see it. Make it public first."
        )
    request = PromotionRequest.objects.create(
        registered_model=registered_model,
        alias=name,
        version=candidate,
        version_number=candidate.version,
        replaces_version=holder.version if holder is not None else None,
        rollback=rollback,
        approvals_required=required,
        requested_by=user,
    )
    after = {
        "alias": name,
        "version": candidate.version,
        "model_id": candidate.pk,
        "replaces_version": request.replaces_version,
        "rollback": rollback,
        "approvals_required": required,
    }
    _record_request("promotion.opened", user, request, after=after)
    return request


def _record_request(kind: str, user, request: PromotionRequest, before=None, after=None) -> None:
    registered_model = request.registered_model
    name = f"{registered_model.name}@{request.alias} to version {request.version_number}"
    scope = {
        "workspace_id": registered_model.project.workspace_id,
        "project_id": registered_model.project_id,
        "registered_model_id": registered_model.pk,
    }
    # Scoped by the version too: who may see the version may see the request's events.
    version = request.version if request.version_id is not None else None
    values = {"subject_name": name, "before": before, "after": after}
    record(kind=kind, actor=user, subject=request, model=version, **values, **scope)


def _locked_pending(request: PromotionRequest) -> tuple[PromotionRequest, RegisteredModel]:
    """The request read again under its registered model's lock (every change of it and of its
    alias takes that lock first), refused when no longer pending."""
    registered_model = registry_services.registered_model_lock(request.registered_model)
    fresh = (
        PromotionRequest.objects.filter(pk=request.pk)
        .select_related("version__project", "requested_by", "registered_model__project")
        .first()
    )
    if fresh is None:
        raise ExplainedHttp404("No such promotion request.")
    if fresh.state != RequestState.PENDING:
        raise Conflict(f"Request {fresh.pk} is {fresh.state}: only a pending request can change.")
    return fresh, registered_model


def may_decide(user, request: PromotionRequest, *, rules: list | None = None, role: str | None = None) -> bool:
    """Whether `user` may approve or reject `request`: someone other than its requester whom the
    alias's rules (as they are now) let move it. For the UI's buttons. A page deciding many
    requests passes the `rules` that match the alias and the user's `role` in the workspace
    (evaluation.role_of), loaded once; otherwise they are read here."""
    if request.requested_by_id == user.pk or not user.is_authenticated:
        return False
    if rules is None:
        rules = evaluation.rules_for(request.registered_model.project_id, request.alias)
    if role is None:
        role = evaluation.role_of(user, request.registered_model.project.workspace_id)
    return evaluation.may_move_as(user, rules, role)


def _require_decider(user, request: PromotionRequest, doing: str) -> list:
    if request.requested_by_id == user.pk:
        other = "cancel it instead" if doing == "reject" else "someone else must"
        raise PermissionDenied(f"You opened this request, so you cannot {doing} it: {other}.")
    rules = evaluation.rules_for(request.registered_model.project_id, request.alias)
    if not evaluation.may_move(user, rules, request.registered_model.project.workspace_id):
        raise PermissionDenied(f"Only the people the rules let move {request.alias} may {doing} its requests.")
    return rules


@transaction.atomic
def promotion_approve(*, request: PromotionRequest, user, comment: str = "") -> PromotionRequest:
    """Approve a pending request (not one's own; one approval per person). The approval that
    reaches the number the rules require now moves the alias in this transaction, after the
    rules are evaluated again against the alias's current version; when they fail, RulesBroken
    (409) and nothing is kept, the approval included: the request stays pending."""
    request, registered_model = _locked_pending(request)
    rules = _require_decider(user, request, "approve")
    if request.approvals.filter(user_id=user.pk).exists():
        raise Conflict("You have already approved this request.")
    PromotionApproval.objects.create(request=request, user=user, comment=comment)
    approvers = [approval.user.get_username() for approval in request.approvals.select_related("user")]
    required = evaluation.approvals_required(rules)
    request.approvals_required = required
    after = {"approved_by": approvers, "approvals_required": required, **({"comment": comment} if comment else {})}
    _record_request("promotion.approved", user, request, after=after)
    if len(approvers) >= required:
        _complete(request, registered_model, user, approvers)
    else:
        request.save(update_fields=["approvals_required"])
    return request


def _complete(request: PromotionRequest, registered_model: RegisteredModel, user, approvers: list[str]) -> None:
    candidate = request.version
    if candidate is None:
        raise Conflict(
            f"Version {request.version_number} has been deleted since this request was opened: reject or cancel it."
        )
    current = _alias_row(registered_model, request.alias)
    holder = current.version if current is not None else None
    # The requester must still be allowed to move it (their role may have changed since).
    requester = request.requested_by
    _evaluate(registered_model, request.alias, candidate, holder, user, mover=requester)
    _alias, previous = registry_services.alias_set(
        registered_model=registered_model,
        name=request.alias,
        version=candidate.version,
        user=user,
        rolled_back=request.rollback,
    )
    request.state, request.closed_by, request.closed = RequestState.COMPLETED, user, timezone.now()
    request.save(update_fields=["state", "closed_by", "closed", "approvals_required"])
    after = {"state": "completed", "version": candidate.version, "previous_version": previous, "approved_by": approvers}
    _record_request("promotion.completed", user, request, before={"state": "pending"}, after=after)


def _close(request: PromotionRequest, user, state: str, kind: str, comment: str) -> PromotionRequest:
    request.state, request.closed_by, request.closed, request.closed_comment = state, user, timezone.now(), comment
    request.save(update_fields=["state", "closed_by", "closed", "closed_comment"])
    after = {"state": state, **({"comment": comment} if comment else {})}
    _record_request(kind, user, request, before={"state": "pending"}, after=after)
    return request


@transaction.atomic
def promotion_reject(*, request: PromotionRequest, user, comment: str = "") -> PromotionRequest:
    """Reject a pending request: someone the rules let move the alias, other than its requester."""
    request, _registered_model = _locked_pending(request)
    _require_decider(user, request, "reject")
    return _close(request, user, RequestState.REJECTED, "promotion.rejected", comment)


@transaction.atomic
def promotion_cancel(*, request: PromotionRequest, user, comment: str = "") -> PromotionRequest:
    """Withdraw a pending request: its requester only (the others reject it)."""
    request, _registered_model = _locked_pending(request)
    if request.requested_by_id != user.pk:
        raise PermissionDenied("Only the person who opened a request can cancel it; others may reject it.")
    return _close(request, user, RequestState.CANCELLED, "promotion.cancelled", comment)
