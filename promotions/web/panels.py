"""What the pages show of protected aliases: which aliases the user may move, the pending
promotion requests with what the user may do about each, and the project's rules. Reads only,
from `visible_to`; the registered-model page and the dashboard take these into their context."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.urls import reverse

from promotions import evaluation, services
from promotions.models import AliasRule, PromotionRequest, RequestState
from promotions.web.forms import AliasSetForm, DecisionForm
from registry import rules as registry_rules
from registry.models import Alias, Membership, Project, RegisteredModel, Role

# The dashboard lists at most this many of the newest pending requests the user can see.
DASHBOARD_REQUESTS = 20


@dataclass
class RequestRow:
    """A pending request and what the user may do about it."""

    request: PromotionRequest
    current_version: int | None  # the version the alias names now, as the user sees it
    may_decide: bool  # approve (unless done already) or reject
    has_approved: bool
    may_cancel: bool  # the requester

    @property
    def approvers(self) -> list[str]:
        return [approval.user.get_full_name() for approval in self.request.approvals.all()]

    @property
    def may_approve(self) -> bool:
        return self.may_decide and not self.has_approved


@dataclass
class Panel:
    """The registered-model page's part: the set form, the rules that apply in its project and
    its pending requests. `aliases` are the page's aliases, each with `may_move`."""

    can_set: bool
    alias_form: AliasSetForm
    rules: list[AliasRule]
    requests: list[RequestRow]
    settings_url: str
    alias_names: list[str] = field(default_factory=list)
    decision_form: DecisionForm = field(default_factory=DecisionForm)


class _Rules:
    """The alias rules of some projects and the user's roles, loaded once (three queries) for a
    page that asks about many aliases: which rules apply to one, and may the user move it."""

    def __init__(self, user, project_ids):
        self.user = user
        self.by_project: dict[int, list[AliasRule]] = defaultdict(list)
        for rule in AliasRule.objects.filter(project_id__in=set(project_ids)).prefetch_related("users"):
            self.by_project[rule.project_id].append(rule)
        self.roles = dict(Membership.objects.filter(user_id=user.pk).values_list("workspace_id", "role"))

    def matching(self, project_id: int, alias: str) -> list[AliasRule]:
        return [rule for rule in self.by_project[project_id] if evaluation.pattern_matches(rule.pattern, alias)]

    def role(self, workspace_id: int) -> str | None:
        return Role.OWNER if self.user.is_staff else self.roles.get(workspace_id)

    def may_move(self, project: Project, alias: str) -> bool:
        return evaluation.may_move_as(self.user, self.matching(project.pk, alias), self.role(project.workspace_id))


def _rows(user, requests: list[PromotionRequest], rules: _Rules) -> list[RequestRow]:
    if not requests:
        return []
    aliases = Alias.objects.visible_to(user).filter(
        registered_model_id__in={r.registered_model_id for r in requests}, name__in={r.alias for r in requests}
    )
    current = {
        (registered, name): number
        for registered, name, number in aliases.values_list("registered_model_id", "name", "version_number")
    }
    rows = []
    for request in requests:
        project = request.registered_model.project
        matching, role = rules.matching(project.pk, request.alias), rules.role(project.workspace_id)
        rows.append(
            RequestRow(
                request=request,
                current_version=current.get((request.registered_model_id, request.alias)),
                may_decide=services.may_decide(user, request, rules=matching, role=role),
                has_approved=any(approval.user_id == user.pk for approval in request.approvals.all()),
                may_cancel=request.requested_by_id == user.pk,
            )
        )
    return rows


def registered_model_panel(user, registered: RegisteredModel, aliases: list[Alias], alias_form=None) -> Panel:
    """The promotions part of `/registered-models/<id>/`. Sets `may_move` on each of `aliases`
    (the page's, as the user sees them): whether the project's rules let the user move it."""
    project = registered.project
    rules = _Rules(user, [project.pk])
    can_set = registry_rules.can_set_alias(user, registered)
    for alias in aliases:
        alias.may_move = can_set and rules.may_move(project, alias.name)
    pending = (
        PromotionRequest.objects.visible_to(user)
        .filter(registered_model_id=registered.pk, state=RequestState.PENDING)
        .with_related()
        .order_by("created", "id")
    )
    # Names to offer in the form: the aliases there are, and the rules' plain names.
    project_rules = rules.by_project[project.pk]
    plain = {rule.pattern for rule in project_rules if not set("*?") & set(rule.pattern)}
    return Panel(
        can_set=can_set,
        alias_form=alias_form or AliasSetForm(),
        rules=project_rules,
        requests=_rows(user, list(pending), rules),
        settings_url=reverse("promotions:project_settings", args=[project.pk]),
        alias_names=sorted({alias.name for alias in aliases} | plain),
    )


def dashboard_requests(user) -> list[RequestRow]:
    """The newest pending requests the user may decide or cancel (their own), for the dashboard."""
    pending = list(
        PromotionRequest.objects.visible_to(user)
        .filter(state=RequestState.PENDING)
        .with_related()
        .order_by("-created", "-id")[:DASHBOARD_REQUESTS]
    )
    if not pending:
        return []
    rules = _Rules(user, [request.registered_model.project_id for request in pending])
    return [row for row in _rows(user, pending, rules) if row.may_decide or row.may_cancel]
