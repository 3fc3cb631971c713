"""Dashboard, workspaces and their members, and new projects."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import DetailView, ListView, TemplateView
from django.views.generic.detail import SingleObjectMixin

from accounts import invitations
from accounts.forms import InvitationForm, add_service_errors
from accounts.models import User
from promotions.web.panels import dashboard_requests
from registry import quotas, rules, services
from registry.models import Membership, MLModel, Project, Workspace
from registry.querysets import attach_tags
from registry.web.forms import MembershipForm, ProjectForm, RoleForm, WorkspaceForm

RECENT_MODELS = 10


class HomeView(LoginRequiredMixin, TemplateView):
    """`/`: the user's workspaces and the newest models they can see."""

    template_name = "registry/home.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        context = super().get_context_data(**kwargs)
        context["workspaces"] = (
            Workspace.objects.filter(memberships__user=user)
            .annotate(project_count=Count("projects", distinct=True))
            .prefetch_related(Prefetch("projects", queryset=Project.objects.order_by("name")))
            .order_by("name")
        )
        context["recent_models"] = attach_tags(list(MLModel.objects.visible_to(user).with_related()[:RECENT_MODELS]))
        context["promotion_requests"] = dashboard_requests(user)  # those the user may decide or cancel
        return context


class WorkspaceListView(LoginRequiredMixin, ListView):
    template_name = "registry/workspace_list.html"
    context_object_name = "workspaces"

    def get_queryset(self):
        return (
            Workspace.objects.visible_to(self.request.user)
            .annotate(project_count=Count("projects", distinct=True), member_count=Count("memberships", distinct=True))
            .order_by("name")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("workspace_form", WorkspaceForm())
        return context

    def post(self, request):
        """Anyone signed in may start a workspace; they become its owner."""
        form = WorkspaceForm(request.POST)
        if form.is_valid():
            try:
                workspace = services.workspace_create(user=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                return redirect("registry:workspace_detail", pk=workspace.pk)
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(workspace_form=form), status=400)


class WorkspaceScopedMixin(LoginRequiredMixin, SingleObjectMixin):
    """A workspace the user can see (404 otherwise) and what they may do in it."""

    context_object_name = "workspace"

    def get_queryset(self):
        return Workspace.objects.visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        user = self.request.user
        context = super().get_context_data(**kwargs)
        context["can_manage"] = rules.can_manage_workspace(user, self.object)
        context["can_write"] = rules.can_write_in_workspace(user, self.object.pk)
        context["projects"] = self._projects()
        context["memberships"] = self.object.memberships.select_related("user").order_by("user__login")
        context.setdefault("member_form", MembershipForm())
        context.setdefault("project_form", ProjectForm())
        context["roles"] = RoleForm.base_fields["role"].choices
        context["usage"] = quotas.usage(self.object)  # logical and stored bytes, the quota
        if context["can_manage"]:  # accounts/invitations.py: the pending ones, the form, a new link once
            context["invitations"] = invitations.pending_invitations(self.object)
            context.setdefault("invitation_form", InvitationForm())
            context["new_invitation"] = invitations.new_invitation(self.request)
        return context

    def _projects(self):
        """The workspace's projects, each with the number of models this user can see in it."""
        counts = dict(
            MLModel.objects.visible_to(self.request.user)
            .filter(project__workspace=self.object)
            .order_by()
            .values("project_id")
            .annotate(n=Count("pk"))
            .values_list("project_id", "n")
        )
        projects = list(self.object.projects.select_related("created_by").order_by("name"))
        for project in projects:
            project.model_count = counts.get(project.pk, 0)
        return projects


class WorkspaceDetailView(WorkspaceScopedMixin, DetailView):
    """`/workspaces/<id>/`: its projects; owners manage members here."""

    template_name = "registry/workspace_detail.html"


class _WorkspacePostView(WorkspaceScopedMixin, TemplateView):
    template_name = "registry/workspace_detail.html"
    http_method_names = ["post"]

    def invalid(self, **forms):
        return self.render_to_response(self.get_context_data(**forms), status=400)


class MembershipSetView(_WorkspacePostView):
    """Add a member by login, or change a member's role (owners only; services check)."""

    def post(self, request, pk):
        self.object = workspace = self.get_object()
        form = MembershipForm(request.POST)
        if form.is_valid():
            user = form.cleaned_data["login"]
            try:
                _, created = services.membership_set(
                    workspace=workspace, actor=request.user, user=user, role=form.cleaned_data["role"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                verb = "added as" if created else "is now"
                messages.success(request, f"{user.login} {verb} {form.cleaned_data['role']}.")
                return redirect("registry:workspace_detail", pk=workspace.pk)
        return self.invalid(member_form=form)


class MembershipRemoveView(_WorkspacePostView):
    """Owners remove anyone; a member may leave on their own."""

    def post(self, request, pk, user_id):
        self.object = workspace = self.get_object()
        user = get_object_or_404(User, pk=user_id)
        get_object_or_404(Membership, workspace=workspace, user=user)
        try:
            services.membership_remove(workspace=workspace, actor=request.user, user=user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("registry:workspace_detail", pk=workspace.pk)
        messages.success(request, f"{user.login} removed from {workspace.name}.")
        if user.pk == request.user.pk and not Workspace.objects.visible_to(request.user).filter(pk=pk).exists():
            return redirect("registry:workspace_list")
        return redirect("registry:workspace_detail", pk=workspace.pk)


class ProjectCreateView(_WorkspacePostView):
    def post(self, request, pk):
        self.object = workspace = self.get_object()
        form = ProjectForm(request.POST)
        if form.is_valid():
            try:
                project = services.project_create(user=request.user, workspace=workspace, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                return redirect("registry:project_detail", pk=project.pk)
        return self.invalid(project_form=form)
