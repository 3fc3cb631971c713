"""What the pages show of protected aliases: which aliases the user may move, the pending
promotion requests with what the user may do about each, and the project's rules. Reads only,
from `visible_to`; the registered-model page and the dashboard take these into their context."""

from dataclasses import dataclass, field

from django.urls import reverse

from promotions import evaluation, services
from promotions.models import AliasRule, PromotionRequest, RequestState
from promotions.web.forms import AliasSetForm, DecisionForm
from registry import rules as registry_rules
from registry.models import Alias, RegisteredModel

# The dashboard lists at most this many of the newest pending requests the user can see; each
# costs two small queries to decide what the user may do (the rules and their role).
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


def _rows(user, requests: list[PromotionRequest]) -> list[RequestRow]:
    if not requests:
        return []
    aliases = Alias.objects.visible_to(user).filter(
        registered_model_id__in={r.registered_model_id for r in requests}, name__in={r.alias for r in requests}
    )
    current = {
        (rm, name): number for rm, name, number in aliases.values_list("registered_model_id", "name", "version_number")
    }
    return [
        RequestRow(
            request=request,
            current_version=current.get((request.registered_model_id, request.alias)),
            may_decide=services.may_decide(user, request),
            has_approved=any(approval.user_id == user.pk for approval in request.approvals.all()),
            may_cancel=request.requested_by_id == user.pk,
        )
        for request in requests
    ]


def registered_model_panel(user, registered: RegisteredModel, aliases: list[Alias], alias_form=None) -> Panel:
    """The promotions part of `/registered-models/<id>/`. Sets `may_move` on each of `aliases`
    (the page's, as the user sees them): whether the project's rules let the user move it."""
    project = registered.project
    rules = list(AliasRule.objects.filter(project_id=project.pk).prefetch_related("users"))
    can_set = registry_rules.can_set_alias(user, registered)
    for alias in aliases:
        matching = [rule for rule in rules if evaluation.pattern_matches(rule.pattern, alias.name)]
        alias.may_move = can_set and evaluation.may_move(user, matching, project.workspace_id)
    pending = (
        PromotionRequest.objects.visible_to(user)
        .filter(registered_model_id=registered.pk, state=RequestState.PENDING)
        .with_related()
        .order_by("created", "id")
    )
    # Names to offer in the form: the aliases there are, and the rules' plain names.
    names = {alias.name for alias in aliases} | {rule.pattern for rule in rules if not set("*?") & set(rule.pattern)}
    return Panel(
        can_set=can_set,
        alias_form=alias_form or AliasSetForm(),
        rules=rules,
        requests=_rows(user, list(pending)),
        settings_url=reverse("promotions:project_settings", args=[project.pk]),
        alias_names=sorted(names),
    )


def dashboard_requests(user) -> list[RequestRow]:
    """The newest pending requests the user may decide or cancel (their own), for the dashboard."""
    pending = (
        PromotionRequest.objects.visible_to(user)
        .filter(state=RequestState.PENDING)
        .with_related()
        .order_by("-created", "-id")[:DASHBOARD_REQUESTS]
    )
    return [row for row in _rows(user, list(pending)) if row.may_decide or row.may_cancel]
