"""`/workspaces/<id>/audit/`: a workspace's event log, with the filters of `GET /api/v1/events/`.

The same EventFilterSet narrows both, over `Event.objects.visible_to(user)`, so a member sees
here exactly the events the API answers them for `?workspace=<id>`: no event of another
member's private version, membership events only when they own the workspace. Its owners also
see the API-token events of its members, which belong to no workspace (the API shows them to
the same owners without the `workspace` filter).
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView

from accounts.models import User
from events.filtersets import EventFilterSet
from events.kinds import FAMILIES, KINDS
from events.models import Event
from events.querysets import PERSONAL_SUBJECTS
from registry import rules
from registry.models import RegisteredModel, Workspace
from registry.web.timeline import timeline_page

PER_PAGE = 50
REGISTERED_MODEL_CHOICES = 500  # the filter's list; more are still reachable by id in the URL
# What the form offers; the URL takes every filter of the API (`model=`, several of each…).
FORM_FILTERS = ("kind", "actor", "project", "registered_model", "since", "until")


class WorkspaceAuditView(LoginRequiredMixin, TemplateView):
    template_name = "registry/workspace_audit.html"

    def get(self, request, *args, **kwargs):
        self.workspace = get_object_or_404(Workspace.objects.visible_to(request.user), pk=kwargs["pk"])
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if context["filter_errors"] else 200)

    def events(self):
        user = self.request.user
        scope = Q(workspace_id=self.workspace.pk)
        if rules.can_manage_workspace(user, self.workspace):
            members = self.workspace.memberships.values("user_id")
            scope |= Q(subject_type__in=PERSONAL_SUBJECTS, subject_user_id__in=members)
        return Event.objects.visible_to(user).filter(scope)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, params = self.request.user, self.request.GET
        filterset = EventFilterSet(params, queryset=self.events())
        errors = []
        if filterset.is_valid():
            events = filterset.qs
        else:
            events = Event.objects.none()
            for name, messages in filterset.errors.items():
                label = filterset.filters[name].label if name in filterset.filters else name
                errors.extend(f"{label}: {message}" for message in messages)
        timeline = timeline_page(self.request, user, events, param="page", per_page=PER_PAGE)
        projects = self.workspace.projects.order_by("name")
        chosen_projects = [value for value in params.getlist("project") if value]
        registered = RegisteredModel.objects.visible_to(user).filter(project__workspace=self.workspace)
        if chosen_projects and all(value.isdigit() for value in chosen_projects):
            registered = registered.filter(project_id__in=chosen_projects)
        api_query = params.copy()
        api_query.pop("page", None)
        api_query["workspace"] = str(self.workspace.pk)
        context.update(
            workspace=self.workspace,
            timeline=timeline,
            filter_errors=errors,
            families=sorted(FAMILIES),
            kinds=[(family, [k for k in KINDS if k.split(".", 1)[0] == family]) for family in sorted(FAMILIES)],
            actors=User.objects.filter(memberships__workspace=self.workspace).order_by("login"),
            projects=projects,
            registered_models=registered.select_related("project").order_by("project__name", "name")[
                :REGISTERED_MODEL_CHOICES
            ],
            selected={name: params.getlist(name) for name in FORM_FILTERS},
            filtered=any(params.get(name) for name in FORM_FILTERS),
            api_url=reverse("api:event-list") + "?" + api_query.urlencode(),
        )
        return context
