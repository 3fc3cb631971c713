"""The promotions pages' actions: move, remove and roll back aliases and decide promotion
requests (from the registered-model page and the dashboard), and the project's settings page
with its alias rules. Thin: each POST calls one function of promotions.services.

A refused action answers its status (400, 403, 404, 409) with the page it came from, the
services' message shown above it (for a move the rules refuse, every failed rule's sentence),
and nothing changed. A done one redirects with a message.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from accounts.forms import add_service_errors
from maisie_site.api_errors import ExplainedHttp404
from promotions import services
from promotions.models import AliasRule, PromotionRequest
from promotions.services import AliasMove, RulesBroken
from promotions.web.forms import AliasRuleForm, AliasSetForm, DecisionForm
from registry import rules as registry_rules
from registry.models import Project, RegisteredModel
from registry.services import Conflict
from registry.web.views.registered_models import RegisteredModelDetailView

REFUSALS = (ValidationError, PermissionDenied, Conflict, ExplainedHttp404)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def explain(request, error: Exception, alias: str, form=None) -> int:
    """Put a service's refusal on the page (on `form`'s fields when it names them) and answer
    its HTTP status."""
    if isinstance(error, ValidationError):
        if form is not None:
            add_service_errors(form, error)
        else:
            messages.error(request, " ".join(error.messages))
        return 400
    if isinstance(error, RulesBroken):
        broken = len({failure.rule_id for failure in error.failures})
        messages.error(request, f"@{alias} is unchanged: this would break {_plural(broken, 'alias rule')}.")
        for failure in error.failures:
            sentence = failure.message.rstrip(".")
            messages.error(request, f"{sentence[:1].upper()}{sentence[1:]}.")
        return error.status_code
    if isinstance(error, Conflict):
        messages.error(request, str(error.detail))
        return error.status_code
    messages.error(request, str(error) or "You may not do this.")
    return 403 if isinstance(error, PermissionDenied) else 404


def render_model_page(request, registered_model_id: int, status: int, **context):
    """The registered-model page, as its own view renders it, with `status` (a refused action)."""
    view = RegisteredModelDetailView()
    view.setup(request, pk=registered_model_id)
    view.object = view.get_object()
    return view.render_to_response(view.get_context_data(**context), status=status)


def _model_page(registered_model_id: int, anchor: str = "aliases") -> str:
    return reverse("registry:registered_model_detail", args=[registered_model_id]) + f"#{anchor}"


class _RegisteredModelAction(LoginRequiredMixin, View):
    """A POST about a registered model the user can see (404 otherwise)."""

    http_method_names = ["post"]

    def registered_model(self) -> RegisteredModel:
        visible = RegisteredModel.objects.visible_to(self.request.user).select_related("project__workspace")
        return get_object_or_404(visible, pk=self.kwargs["pk"])


class AliasSetView(_RegisteredModelAction):
    """Set or move an alias: at once, or a promotion request when the rules ask for approvals."""

    def post(self, request, pk):
        registered = self.registered_model()
        form = AliasSetForm(request.POST)
        if not form.is_valid():
            return render_model_page(request, pk, 400, alias_form=form)
        alias, version = form.cleaned_data["alias"], form.cleaned_data["version"]
        try:
            outcome = services.alias_put(registered_model=registered, name=alias, version=version, user=request.user)
        except REFUSALS as error:
            return render_model_page(request, pk, explain(request, error, alias, form), alias_form=form)
        if isinstance(outcome, AliasMove):
            messages.success(request, _moved(alias, outcome, version))
            return redirect(_model_page(pk))
        messages.info(request, _opened(outcome))
        return redirect(_model_page(pk, "promotions"))


def _moved(alias: str, move: AliasMove, version: int, verb: str = "moved") -> str:
    if move.previous_version is None:
        return f"@{alias} now names v{version}."
    if move.previous_version == version:
        return f"@{alias} already names v{version}: nothing changed."
    return f"@{alias} {verb} from v{move.previous_version} to v{version}."


def _opened(request: PromotionRequest) -> str:
    what = "roll @{0} back to v{1}" if request.rollback else "move @{0} to v{1}"
    needs = _plural(request.approvals_required, "approval")
    return (
        f"Promotion request opened to {what.format(request.alias, request.version_number)}: it needs {needs} "
        "from people other than you before the alias moves."
    )


class AliasRemoveView(_RegisteredModelAction):
    def post(self, request, pk, alias):
        registered = self.registered_model()
        try:
            services.alias_remove(registered_model=registered, name=alias, user=request.user)
        except REFUSALS as error:
            return render_model_page(request, pk, explain(request, error, alias))
        messages.success(request, f"@{alias} removed.")
        return redirect(_model_page(pk))


class AliasRollbackView(_RegisteredModelAction):
    def post(self, request, pk, alias):
        registered = self.registered_model()
        try:
            outcome = services.alias_rollback(registered_model=registered, name=alias, user=request.user)
        except REFUSALS as error:
            return render_model_page(request, pk, explain(request, error, alias))
        if isinstance(outcome, AliasMove):
            messages.success(request, _moved(alias, outcome, outcome.alias.version_number, verb="rolled back"))
            return redirect(_model_page(pk))
        messages.info(request, _opened(outcome))
        return redirect(_model_page(pk, "promotions"))


class PromotionDecisionView(LoginRequiredMixin, View):
    """Approve, reject or cancel a pending request the user can see (404 otherwise). Back to
    `next` (the dashboard's forms send it) or the registered model's page."""

    http_method_names = ["post"]
    decide = None  # staticmethod(a promotions.services function)
    done = ""

    def post(self, request, pk):
        visible = PromotionRequest.objects.visible_to(request.user).select_related("registered_model__project")
        promotion = get_object_or_404(visible, pk=pk)
        form = DecisionForm(request.POST)
        comment = form.cleaned_data["comment"] if form.is_valid() else ""
        if form.errors:
            messages.error(request, f"Comment: {' '.join(form.errors['comment'])}")
            return self._refused(request, promotion, 400)
        try:
            decided = self.decide(request=promotion, user=request.user, comment=comment)
        except REFUSALS as error:
            return self._refused(request, promotion, explain(request, error, promotion.alias))
        messages.success(request, self.message(decided))
        return redirect(self._next(request, promotion))

    def message(self, decided: PromotionRequest) -> str:
        return self.done.format(alias=decided.alias, version=decided.version_number)

    @staticmethod
    def _next(request, promotion: PromotionRequest) -> str:
        wanted = request.POST.get("next", "")
        safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=False)
        return wanted if wanted and safe else _model_page(promotion.registered_model_id, "promotions")

    @staticmethod
    def _refused(request, promotion: PromotionRequest, status: int):
        try:
            return render_model_page(request, promotion.registered_model_id, status)
        except Http404:
            # Its version was deleted and the user sees no other: the dashboard says why.
            return redirect("registry:home")


class PromotionApproveView(PromotionDecisionView):
    decide = staticmethod(services.promotion_approve)

    def message(self, decided: PromotionRequest) -> str:
        if decided.state == "completed":
            return f"Approved: @{decided.alias} now names v{decided.version_number}."
        count, needed = decided.approvals.count(), decided.approvals_required
        return f"Approved the request to move @{decided.alias} to v{decided.version_number}: {count} of {needed}."


class PromotionRejectView(PromotionDecisionView):
    decide = staticmethod(services.promotion_reject)
    done = "Rejected the request to move @{alias} to v{version}."


class PromotionCancelView(PromotionDecisionView):
    decide = staticmethod(services.promotion_cancel)
    done = "Cancelled your request to move @{alias} to v{version}."


# ----------------------------------------------------------------------------- settings


class ProjectSettingsView(LoginRequiredMixin, TemplateView):
    """`/projects/<id>/settings/`: the project's alias rules. Its workspace's members read them;
    the owners (and staff) get the forms to create, change and delete them."""

    template_name = "promotions/project_settings.html"

    def project(self) -> Project:
        if not hasattr(self, "_project"):
            visible = Project.objects.visible_to(self.request.user).select_related("workspace")
            self._project = get_object_or_404(visible, pk=self.kwargs["pk"])
        return self._project

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        project = self.project()
        rules = AliasRule.objects.filter(project=project).prefetch_related("users")
        can_manage = registry_rules.can_manage_workspace(self.request.user, project.workspace)
        edited = kwargs.get("edited")  # (rule id, bound form) of a refused change
        rows = []
        for rule in rules:
            if edited is not None and edited[0] == rule.pk:
                rows.append({"rule": rule, "form": edited[1], "open": True})
            else:
                form = AliasRuleForm.for_rule(rule, workspace=project.workspace) if can_manage else None
                rows.append({"rule": rule, "form": form, "open": False})
        context.update(project=project, workspace=project.workspace, rows=rows, can_manage=can_manage)
        if can_manage:
            context.setdefault("rule_form", AliasRuleForm(workspace=project.workspace, prefix="new"))
        return context

    def refused(self, status: int, **context):
        return self.render_to_response(self.get_context_data(**context), status=status)


class _RuleAction(ProjectSettingsView):
    http_method_names = ["post"]

    def rule(self) -> AliasRule:
        return get_object_or_404(AliasRule.objects.filter(project=self.project()), pk=self.kwargs["rule_id"])

    def done(self, message: str):
        messages.success(self.request, message)
        return redirect(reverse("promotions:project_settings", args=[self.project().pk]) + "#rules")


class AliasRuleCreateView(_RuleAction):
    def post(self, request, pk):
        form = AliasRuleForm(request.POST, workspace=self.project().workspace, prefix="new")
        if not form.is_valid():
            return self.refused(400, rule_form=form)
        try:
            rule = services.alias_rule_create(project=self.project(), user=request.user, **form.service_fields())
        except REFUSALS as error:
            return self.refused(explain(request, error, "", form), rule_form=form)
        return self.done(f"The rule for {rule.pattern} is saved.")


class AliasRuleUpdateView(_RuleAction):
    def post(self, request, pk, rule_id):
        rule = self.rule()
        form = AliasRuleForm(request.POST, workspace=self.project().workspace, prefix=f"rule-{rule.pk}")
        if not form.is_valid():
            return self.refused(400, edited=(rule.pk, form))
        try:
            rule = services.alias_rule_update(rule=rule, user=request.user, **form.service_fields())
        except REFUSALS as error:
            return self.refused(explain(request, error, "", form), edited=(rule.pk, form))
        return self.done(f"The rule for {rule.pattern} is saved.")


class AliasRuleDeleteView(_RuleAction):
    def post(self, request, pk, rule_id):
        rule = self.rule()
        try:
            services.alias_rule_delete(rule=rule, user=request.user)
        except REFUSALS as error:
            return self.refused(explain(request, error, ""))
        return self.done(f"The rule for {rule.pattern} is deleted.")
