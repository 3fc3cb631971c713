"""Invitation pages: owners invite and revoke from the workspace page; the link's own page lets
the invited person join (signed in) or make their account and join (accounts/invitations.py)."""

from django.contrib import messages
from django.contrib.auth import login as sign_in
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts import invitations
from accounts.forms import InvitationForm, InvitedAccountForm, add_service_errors
from accounts.models import Invitation
from registry.models import Workspace
from registry.web.views.workspaces import WorkspaceDetailView

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class InvitationCreateView(WorkspaceDetailView):
    """POST from the workspace page (owners; the service checks). Errors re-render that page."""

    http_method_names = ["post"]

    def post(self, request, pk):
        self.object = workspace = self.get_object()
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation, secret = invitations.invitation_create(
                    workspace=workspace, actor=request.user, **form.service_arguments()
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                link = request.build_absolute_uri(invitations.invitation_link(secret))
                request.session[invitations.NEW_INVITATION_SESSION_KEY] = {"invitee": invitation.invitee, "link": link}
                return redirect(reverse("registry:workspace_detail", args=[workspace.pk]) + "#invitations")
        return self.render_to_response(self.get_context_data(invitation_form=form), status=400)


class InvitationRevokeView(LoginRequiredMixin, View):
    def post(self, request, pk, invitation_id):
        workspace = get_object_or_404(Workspace.objects.visible_to(request.user), pk=pk)
        invitation = get_object_or_404(Invitation, pk=invitation_id, workspace=workspace)
        try:
            invitations.invitation_revoke(invitation=invitation, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"The invitation for {invitation.invitee} is revoked.")
        return redirect(reverse("registry:workspace_detail", args=[workspace.pk]) + "#invitations")


class InvitationView(TemplateView):
    """`/invitations/<secret>/`: what the link opens. Whatever the state, a page says what to do;
    a wrong, used, revoked or expired link never raises."""

    template_name = "accounts/invitation.html"

    def dispatch(self, request, *args, secret, **kwargs):
        self.invitation = invitations.invitation_find(secret)
        if self.invitation is None:
            return self.page(state="unknown", status=404)
        if self.invitation.status != "pending":
            return self.page(state=self.invitation.status, status=410)
        user = request.user
        if user.is_authenticated and not invitations.may_accept(self.invitation, user):
            return self.page(state="wrong_account", status=403)
        if not user.is_authenticated and invitations.needs_sign_in(self.invitation):
            return redirect_to_login(request.get_full_path())  # for an existing account: sign in first
        return super().dispatch(request, *args, **kwargs)

    def page(self, *, state: str, status: int = 200, **context):
        context = {"state": state, "invitation": self.invitation, **context}
        return self.render_to_response(self.get_context_data(**context), status=status)

    def get(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return self.page(state="join")
        return self.page(state="new_account", form=InvitedAccountForm())

    def post(self, request, *args, **kwargs):
        invitation = self.invitation
        try:
            if request.user.is_authenticated:
                invitations.invitation_accept(invitation=invitation, user=request.user)
            else:
                form = InvitedAccountForm(request.POST)
                if not form.is_valid():
                    return self.page(state="new_account", form=form, status=400)
                arguments = {name: form.cleaned_data[name] for name in ("login", "password", "full_name")}
                try:
                    user, _ = invitations.invitation_accept_new_user(invitation=invitation, **arguments)
                except ValidationError as error:
                    add_service_errors(form, error)
                    return self.page(state="new_account", form=form, status=400)
                sign_in(request, user, backend=MODEL_BACKEND)
        except invitations.InvitationClosed as closed:
            return self.page(state=closed.status, status=410)
        messages.success(request, f"Welcome to {invitation.workspace.name}: you joined as {invitation.role}.")
        return redirect("registry:workspace_detail", pk=invitation.workspace_id)
