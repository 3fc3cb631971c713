"""The webhook pages: the workspace's settings page (its webhooks; the project's settings page shows
its own through the `webhooks_section` tag), a new webhook, and one webhook's page with its
delivery log and actions. Reads start from `visible_to` (owners; 404 for anyone else), writes call
webhooks.services; a new or rotated secret is shown once, on the next view of the webhook's page.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView

from accounts.forms import add_service_errors
from registry import rules
from registry.models import Project, Workspace
from webhooks import services
from webhooks.models import Delivery, Webhook
from webhooks.web.forms import ReplayForm, RotateForm, WebhookForm

NEW_SECRET_SESSION_KEY = "webhooks_new_secret"
LOG_PAGE = 25


def settings_url(webhook_or_scope) -> str:
    """The settings page a webhook (or a workspace or project) belongs on."""
    project_id = getattr(webhook_or_scope, "project_id", None)
    if isinstance(webhook_or_scope, Project) or project_id is not None:
        pk = webhook_or_scope.pk if isinstance(webhook_or_scope, Project) else project_id
        return reverse("promotions:project_settings", args=[pk]) + "#webhooks"
    pk = webhook_or_scope.pk if isinstance(webhook_or_scope, Workspace) else webhook_or_scope.workspace_id
    return reverse("webhooks:workspace_settings", args=[pk]) + "#webhooks"


class WorkspaceSettingsView(LoginRequiredMixin, TemplateView):
    """`/workspaces/<id>/settings/`: the workspace's webhooks (its members reach the page; its
    owners see and manage the webhooks)."""

    template_name = "webhooks/workspace_settings.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workspace = get_object_or_404(Workspace.objects.visible_to(self.request.user), pk=self.kwargs["pk"])
        context.update(workspace=workspace, can_manage=rules.can_manage_workspace(self.request.user, workspace))
        return context


class WebhookCreateView(LoginRequiredMixin, TemplateView):
    """`/webhooks/new/?workspace=<id>` or `?project=<id>`: the form, for the workspace's owners."""

    template_name = "webhooks/webhook_new.html"

    def scope(self) -> tuple[Workspace, Project | None]:
        params = self.request.POST if self.request.method == "POST" else self.request.GET
        user = self.request.user
        if params.get("project"):
            visible = Project.objects.visible_to(user).select_related("workspace")
            project = get_object_or_404(visible, pk=_id(params["project"]))
            workspace = project.workspace
        else:
            project = None
            workspace = get_object_or_404(Workspace.objects.visible_to(user), pk=_id(params.get("workspace")))
        if not rules.can_manage_workspace(user, workspace):
            raise PermissionDenied("Only the workspace's owners manage its webhooks.")
        return workspace, project

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workspace, project = self.scope()
        context.setdefault("form", WebhookForm())
        context.update(workspace=workspace, project=project, back=settings_url(project or workspace))
        return context

    def post(self, request):
        workspace, project = self.scope()
        form = WebhookForm(request.POST)
        if form.is_valid():
            try:
                webhook, secret = services.webhook_create(
                    user=request.user, workspace=workspace, project=project, **form.service_fields()
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                request.session[NEW_SECRET_SESSION_KEY] = {"webhook": webhook.pk, "secret": secret}
                return redirect("webhooks:webhook_detail", pk=webhook.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


def _id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0  # no row has it: a 404


class WebhookDetailView(LoginRequiredMixin, TemplateView):
    """`/webhooks/<id>/`: its settings, its state (and why it is paused), the actions, the log."""

    template_name = "webhooks/webhook_detail.html"

    def webhook(self) -> Webhook:
        if not hasattr(self, "_webhook"):
            visible = Webhook.objects.visible_to(self.request.user).select_related("workspace", "project", "owner")
            self._webhook = get_object_or_404(visible, pk=self.kwargs["pk"])
        return self._webhook

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        webhook = self.webhook()
        deliveries = Delivery.objects.filter(webhook=webhook).prefetch_related("attempt_log").order_by("-id")
        state = self.request.GET.get("state")
        if state in Delivery.State.values:
            deliveries = deliveries.filter(state=state)
        page = Paginator(deliveries, LOG_PAGE).get_page(self.request.GET.get("page"))
        shown = self.request.session.pop(NEW_SECRET_SESSION_KEY, None)
        context.setdefault("form", WebhookForm.for_webhook(webhook))
        context.setdefault("replay_form", ReplayForm())
        context.setdefault("rotate_form", RotateForm())
        context.update(
            webhook=webhook,
            page=page,
            state=state if state in Delivery.State.values else "",
            states=Delivery.State.choices,
            new_secret=shown["secret"] if shown and shown.get("webhook") == webhook.pk else None,
            back=settings_url(webhook),
        )
        return context


class _WebhookAction(WebhookDetailView):
    """A POST on one webhook: done -> back to its page with a message; refused -> the page, 400."""

    http_method_names = ["post"]

    def done(self, message: str, anchor: str = ""):
        messages.success(self.request, message)
        return redirect(reverse("webhooks:webhook_detail", args=[self.webhook().pk]) + anchor)

    def refused(self, error: ValidationError, **forms):
        for text in error.messages:
            messages.error(self.request, text)
        return self.render_to_response(self.get_context_data(**forms), status=400)


class WebhookEditView(_WebhookAction):
    def post(self, request, pk):
        form = WebhookForm(request.POST)
        if form.is_valid():
            try:
                services.webhook_update(webhook=self.webhook(), user=request.user, **form.service_fields())
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                return self.done("Saved.")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class WebhookPauseView(_WebhookAction):
    def post(self, request, pk):
        services.webhook_pause(webhook=self.webhook(), user=request.user)
        return self.done("Paused: events are not queued for it, and what was waiting waits.")


class WebhookResumeView(_WebhookAction):
    def post(self, request, pk):
        services.webhook_resume(webhook=self.webhook(), user=request.user)
        return self.done("Resumed: the deliveries that waited are on their way.")


class WebhookTestView(_WebhookAction):
    def post(self, request, pk):
        try:
            delivery = services.webhook_test(webhook=self.webhook(), user=request.user)
        except ValidationError as error:
            return self.refused(error)
        return self.done(f"Test message queued (delivery {delivery.pk}): see the log below.", "#log")


class WebhookRotateView(_WebhookAction):
    def post(self, request, pk):
        form = RotateForm(request.POST)
        keep = form.is_valid() and form.cleaned_data["keep_previous"]
        webhook, secret = services.webhook_rotate_secret(webhook=self.webhook(), user=request.user, keep_previous=keep)
        request.session[NEW_SECRET_SESSION_KEY] = {"webhook": webhook.pk, "secret": secret}
        return self.done("A new signing secret is made." + (" The old one signs too for 24 hours." if keep else ""))


class WebhookReplayView(_WebhookAction):
    def post(self, request, pk):
        form = ReplayForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(replay_form=form), status=400)
        try:
            queued = services.deliveries_replay(webhook=self.webhook(), user=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.render_to_response(self.get_context_data(replay_form=form), status=400)
        return self.done(f"{len(queued)} events queued again.", "#log")


class WebhookDeleteView(_WebhookAction):
    def post(self, request, pk):
        webhook = self.webhook()
        back = settings_url(webhook)
        services.webhook_delete(webhook=webhook, user=request.user)
        messages.success(request, f"Webhook {webhook.url} deleted with its delivery log.")
        return redirect(back)


class DeliveryRedeliverView(_WebhookAction):
    def post(self, request, pk, delivery_id):
        delivery = get_object_or_404(Delivery.objects.filter(webhook=self.webhook()), pk=delivery_id)
        try:
            copy = services.delivery_redeliver(delivery=delivery, user=request.user)
        except ValidationError as error:
            return self.refused(error)
        return self.done(f"Delivery {delivery.pk} sent again as delivery {copy.pk}.", "#log")
