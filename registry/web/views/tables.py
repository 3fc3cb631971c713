"""The model table: `/projects/<id>/` (one project) and `/models/` (every project the user can see).

The rows, the total and the page come from registry.listing, as the API's list does; the table's
columns, panel and sort are read by registry.web.table_state.TableState. `?format=csv` exports the whole
current view and `?format=chart` gives the charts their data, from the same query string.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.text import slugify
from django.views.generic import ListView

from accounts.models import User
from maisie_site.paginator import PageFirstPaginator
from registry import rules
from registry.listing import model_list
from registry.models import MLModel, Project, Tag, Workspace
from registry.web.charts import CHART_CAP, chart_data
from registry.web.exports import csv_response, rows
from registry.web.keys import NUMBER, SECTION_LABELS, SECTION_SHORT, key_catalog, split_key
from registry.web.table_columns import column_chooser, moved_on_phones, row_lines
from registry.web.table_state import FIXED_COLUMNS, FIXED_ORDERING, NUMBER_COLUMNS, PER_PAGE_CHOICES, TableState
from saved_views import services as saved_view_services
from saved_views.models import DEFAULT_SLUG, SavedView, remembered_query, view_query

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
        self.state = TableState.from_query(self.request.GET, self.catalog, self.fixed_columns())
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

    def reset_url(self) -> str:
        """The link back to the default view."""
        return "?"

    def fixed_columns(self) -> tuple[str, ...]:
        return tuple(name for name in FIXED_COLUMNS if name != "project" or self.show_project)

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
            rows=row_lines(rows(context["object_list"], state), state),
            headers=self.headers(),
            chooser=column_chooser(state),
            name_header={"url": state.sort_url("name"), "direction": state.sort_direction("name")},
            reset_url=self.reset_url(),
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
            chart_cap=f"{CHART_CAP:,}",
            query_errors=self.query_errors(),
            query_warnings=self.query_warnings(context.get("paginator")),
        )
        return context

    def query_warnings(self, paginator) -> list[dict]:
        """Keys of the query no visible model in scope holds, with the nearest ones, for an empty
        table (the API's `warnings`, registry/search/suggestions.py)."""
        if self.state.errors or paginator is None or paginator.count:
            return []
        return self.listing.key_warnings()

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
        """The header cells after the name's, in the view's order; `phone` those shown again after
        the keys on a phone (a fixed column placed before a key moves behind them there)."""
        state = self.state
        moved = moved_on_phones(state)
        headers = []
        for name in state.order:
            if name in FIXED_COLUMNS:
                header = {"name": name, "label": FIXED_COLUMNS[name], "numeric": name in NUMBER_COLUMNS}
            else:
                section, key = split_key(name)
                header = {
                    "name": name,
                    "label": key,
                    "section": SECTION_LABELS[section],
                    "section_short": SECTION_SHORT[section],
                    "numeric": self.catalog.kind(name) == NUMBER,
                }
            sortable = name in FIXED_ORDERING or name not in FIXED_COLUMNS
            header.update(sortable=sortable, url=state.sort_url(name) if sortable else "")
            header.update(direction=state.sort_direction(name), place="col-wide" if name in moved else "")
            headers.append(header)
        return headers + [dict(header, place="col-phone") for header in headers if header["name"] in moved]


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
        # A link without view parameters (the breadcrumb, the project list) brings back the user's
        # last view, else the project's default; `?view=<slug or id>` opens a saved view and
        # `?view=default` the project's default. Each is a redirect to the view's query string, so
        # the address always holds the whole view, as the form's own submits do.
        asked = request.GET.get("view")
        if not request.GET or asked:
            query = self.view_query_named(asked) if asked else remembered_query(request.user, self.project)
            if query:
                return redirect(f"{request.path}?{query}")
        response = super().get(request, *args, **kwargs)
        if "format" not in request.GET and response.status_code == 200:
            saved_view_services.last_view_remember(
                user=request.user, project=self.project, query=view_query(request.GET)
            )
        return response

    def view_query_named(self, name: str) -> str:
        """The query string of the saved view `name` (404 if none), or of the project's default."""
        views = SavedView.objects.filter(project=self.project)
        if name == DEFAULT_SLUG:
            return views.filter(is_default=True).values_list("query", flat=True).first() or ""
        query = views.named(name).values_list("query", flat=True).first()
        if query is None:
            raise Http404("No saved view of that name in this project.")
        return query

    def get_scope_project(self):
        return self.project

    def export_name(self) -> str:
        return f"{self.project.name}-models"

    def reset_url(self) -> str:
        return f"?view={DEFAULT_SLUG}"  # a bare `?` would bring back the user's last view

    def get_uploaders(self):
        return User.objects.filter(memberships__workspace=self.project.workspace_id)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["project"] = self.project
        context["can_upload"] = rules.can_write_in_workspace(self.request.user, self.project.workspace_id)
        user = self.request.user
        edits_project = rules.can_edit_project(user, self.project)
        saved = list(SavedView.objects.filter(project=self.project))
        current = view_query(self.request.GET)
        context["saved_views"] = [
            {
                "view": view,
                "current": view.query == current,
                "deletable": saved_view_services.can_delete(user, view, edits_project=edits_project),
            }
            for view in saved
        ]
        context["current_query"] = current
        context["can_set_default_view"] = edits_project
        return context
