"""The model table: `/projects/<id>/` (one project) and `/models/` (every project the user can see).

The rows, the total and the page come from registry.listing, as the API's list does; the table's
columns, panel and sort are read by registry.web.table_state.TableState. `?format=csv` exports the whole
current view and `?format=chart` gives the charts their data, from the same query string.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.text import slugify
from django.views.generic import ListView

from accounts.models import User
from maisie_site.paginator import PageFirstPaginator
from registry import rules
from registry.listing import model_list
from registry.models import MLModel, Project, Tag, Workspace
from registry.web.charts import chart_data
from registry.web.exports import csv_response, rows
from registry.web.keys import NUMBER, SECTION_LABELS, SECTION_SHORT, key_catalog, split_key
from registry.web.table_state import FIXED_ORDERING, PER_PAGE_CHOICES, TableState

TAG_SUGGESTIONS = 500


class ModelTableView(LoginRequiredMixin, ListView):
    """`/models/`: every model the user can see, with workspace and project filters."""

    paginator_class = PageFirstPaginator  # as the API's: the listing may count the total meanwhile
    template_name = "registry/model_list.html"
    show_project = True

    def get_scope_project(self):
        """The one project the table shows, or None for every project the user can see."""
        return None

    def get_queryset(self):
        project = self.get_scope_project()
        self.catalog = key_catalog(self.request.user, project)
        self.state = TableState.from_query(self.request.GET, self.catalog)
        self.listing = model_list(user=self.request.user, params=self.state.filterset_data(), project=project)
        self.filterset = self.listing.filterset
        return MLModel.objects.none() if self.state.errors else self.listing.queryset

    def get(self, request, *args, **kwargs):
        output = request.GET.get("format")
        if output == "csv":
            queryset = self.get_queryset().select_related("uploader", "project__workspace").prefetch_related("tags")
            return csv_response(queryset, self.state, f"{slugify(self.export_name()) or 'models'}.csv")
        if output == "chart":
            self.get_queryset()
            if self.query_errors():
                return JsonResponse({"errors": self.query_errors()}, status=400)
            return JsonResponse(chart_data(self.listing, self.state, request.GET))
        return super().get(request, *args, **kwargs)

    def export_name(self) -> str:
        return "models"

    def get_paginate_by(self, queryset):
        return self.state.per_page

    def paginate_queryset(self, queryset, page_size):
        """The listing's page (models with their tags) and total. A page past the end (after
        narrowing the filters, say) shows the last one, not a 404."""
        paginator = self.get_paginator(queryset if self.state.errors else self.listing.models(), page_size)
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_uploaders(self):
        return User.objects.filter(memberships__workspace__in=Workspace.objects.visible_to(self.request.user))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        state = self.state
        context.update(
            state=state,
            filterset=self.filterset,
            rows=rows(context["object_list"], state),
            headers=self.headers(),
            sections=self.catalog.sections(),
            panel=state.panel(),
            chips=state.active_filters(),
            per_page_choices=PER_PAGE_CHOICES,
            uploaders=self.get_uploaders().distinct().order_by("login").only("id", "login", "full_name"),
            selected_users=self.request.GET.getlist("user"),
            tag_suggestions=self.tag_suggestions(),
            show_project=self.show_project,
            csv_url=state.url(format="csv", page=None),
            chart_url=state.url(format="chart", page=None),
            number_fields=[f for f in self.catalog.fields() if self.catalog.kind(f) == NUMBER],
            query_errors=self.query_errors(),
        )
        return context

    def tag_suggestions(self) -> list[str]:
        """Names of the tags the user may see in the table's scope, never another workspace's."""
        tags = Tag.objects.visible_to(self.request.user)
        project = self.get_scope_project()
        if project is not None:
            tags = tags.filter(workspace_id=project.workspace_id)
        return tags.suggestions(TAG_SUGGESTIONS)

    def query_errors(self) -> list[str]:
        errors = list(self.state.errors)
        for name, messages in self.filterset.errors.items():
            label = {"q": "Query", "ordering": "Sort"}.get(name, name)
            errors.extend(f"{label}: {message}" for message in messages)
        return errors

    def headers(self) -> list[dict]:
        state = self.state
        fixed = [("name", "Name"), ("version", "Version")]
        if self.show_project:
            fixed.append(("project", "Project"))
        fixed += [("user", "Uploader"), ("created", "Created"), ("tags", "Tags")]
        headers = [
            {
                "name": name,
                "label": label,
                "sortable": name in FIXED_ORDERING,
                "url": state.sort_url(name) if name in FIXED_ORDERING else "",
                "direction": state.sort_direction(name),
                "numeric": name == "version",
            }
            for name, label in fixed
        ]
        for name in state.columns:
            section, key = split_key(name)
            headers.append(
                {
                    "name": name,
                    "label": key,
                    "section": SECTION_LABELS[section],
                    "section_short": SECTION_SHORT[section],
                    "sortable": True,
                    "url": state.sort_url(name),
                    "direction": state.sort_direction(name),
                    "numeric": self.catalog.kind(name) == NUMBER,
                }
            )
        return headers


class ModelListView(ModelTableView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["projects"] = Project.objects.visible_to(self.request.user).select_related("workspace")
        context["workspaces"] = Workspace.objects.visible_to(self.request.user).order_by("name")
        context["selected_projects"] = self.request.GET.getlist("project")
        context["selected_workspaces"] = self.request.GET.getlist("workspace")
        return context


class ProjectDetailView(ModelTableView):
    """`/projects/<id>/`: the project's models, the heart of the UI. Outsiders get 404."""

    template_name = "registry/project_detail.html"
    show_project = False

    def get(self, request, *args, **kwargs):
        projects = Project.objects.visible_to(request.user).select_related("workspace")
        self.project = get_object_or_404(projects, pk=kwargs["pk"])
        return super().get(request, *args, **kwargs)

    def get_scope_project(self):
        return self.project

    def export_name(self) -> str:
        return f"{self.project.name}-models"

    def get_uploaders(self):
        return User.objects.filter(memberships__workspace=self.project.workspace_id)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["project"] = self.project
        context["can_upload"] = rules.can_write_in_workspace(self.request.user, self.project.workspace_id)
        return context
