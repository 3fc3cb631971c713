"""Saving, deleting and marking the default of a project's named views (POST from the project table).

Opening one is `/projects/<id>/?view=<slug or id>` (registry/web/views/tables.py).
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View

from registry.models import Project
from saved_views import services
from saved_views.models import SavedView


def _table(project_id: int, view: SavedView | None = None) -> str:
    url = reverse("registry:project_detail", args=[project_id])
    return f"{url}?view={view.slug}" if view else url


class SavedViewCreateView(LoginRequiredMixin, View):
    def post(self, request, pk):
        project = get_object_or_404(Project.objects.visible_to(request.user), pk=pk)
        try:
            view = services.saved_view_create(
                user=request.user,
                project=project,
                name=request.POST.get("name", ""),
                query=request.POST.get("query", ""),
                default=request.POST.get("default") == "1",
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect(_table(project.pk))
        messages.success(request, f"Saved the view “{view.name}”: every member of the workspace sees it.")
        return redirect(_table(project.pk, view))


class _OneView(LoginRequiredMixin, View):
    def get_view(self, request, pk, view_id) -> SavedView:
        views = SavedView.objects.visible_to(request.user).select_related("project")
        return get_object_or_404(views, project_id=pk, pk=view_id)


class SavedViewDeleteView(_OneView):
    def post(self, request, pk, view_id):
        view = self.get_view(request, pk, view_id)
        services.saved_view_delete(user=request.user, view=view)
        messages.success(request, f"Deleted the view “{view.name}”.")
        return redirect(_table(pk))


class SavedViewDefaultView(_OneView):
    def post(self, request, pk, view_id):
        view = self.get_view(request, pk, view_id)
        default = request.POST.get("default", "1") == "1"
        services.saved_view_set_default(user=request.user, view=view, default=default)
        if default:
            messages.success(request, f"“{view.name}” is the project's default view now.")
        else:
            messages.success(request, f"“{view.name}” is no longer the project's default view.")
        return redirect(_table(pk, view))
