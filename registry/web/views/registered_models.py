"""Registered models in the web UI: a project's Models view, and one registered model's page.

`/projects/<id>/models/` lists one row per registered model (the project page's other view,
beside the versions table, sharing its query string); `/registered-models/<id>/` shows one:
its card (Markdown, sanitised by maisie_site.markdown), its aliases, its versions with the
chosen key columns, and its timeline. Reads start from `RegisteredModel.objects.visible_to`
(404 for anything else); the card is changed through `services.registered_model_update`.
"""

import re

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import DetailView, TemplateView
from django.views.generic.detail import SingleObjectMixin

from accounts.forms import add_service_errors
from events.models import Event
from maisie_site.markdown import render
from promotions.web.panels import registered_model_panel
from registry import rules, services
from registry.listing import model_list
from registry.models import ALIAS_PATTERN, ALIAS_RULE, Alias, MLModel, Project, RegisteredModel
from registry.querysets import attach_alias_names, attach_tags
from registry.references import Reference
from registry.web.exports import empty_cells_html, rows
from registry.web.forms import RegisteredModelDescriptionForm
from registry.web.keys import NUMBER, SECTION_LABELS, SECTION_SHORT, key_catalog, split_key
from registry.web.table_state import PER_PAGE_CHOICES, TableState
from registry.web.timeline import timeline_page

# The Models view's sort (`models_ordering`), apart from the versions table's `ordering`: a
# link between the two views keeps both.
MODELS_ORDERING = {"name": "name", "latest": "latest_version", "versions": "version_count", "updated": "updated"}
DEFAULT_MODELS_ORDERING = "name"
# Query-string names the Models view's form sets itself; any other is kept as it came.
MODELS_FORM_PARAMS = ("search", "col", "of", "per_page", "page", "models_ordering", "format")


def _key_headers(state: TableState) -> list[dict]:
    headers = []
    for name in state.columns:
        section, key = split_key(name)
        headers.append(
            {
                "name": name,
                "label": key,
                "section": SECTION_LABELS[section],
                "section_short": SECTION_SHORT[section],
                "numeric": state.catalog.kind(name) == NUMBER,
            }
        )
    return headers


def _reference(registered: RegisteredModel) -> Reference:
    return Reference(registered.project.workspace.name, registered.project.name, registered.name)


class RegisteredModelListView(LoginRequiredMixin, TemplateView):
    """`/projects/<id>/models/`: one row per registered model: its name, latest version, aliases,
    version count and the chosen key columns of its latest version, or of the version an alias
    names (`of=production`). The versions table's filters (`q`, the panel, tags…) narrow it to
    the models with a matching version. One query for the page's rows, one for their aliases,
    one for the versions whose values are shown, besides the total."""

    template_name = "registry/project_models.html"

    def get(self, request, *args, **kwargs):
        projects = Project.objects.visible_to(request.user).select_related("workspace")
        self.project = get_object_or_404(projects, pk=kwargs["pk"])
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, params = self.request.user, self.request.GET
        catalog = key_catalog(user, self.project)
        state = TableState.from_query(params, catalog)
        errors = list(state.errors)
        shown_alias = params.get("of", "").strip()
        if shown_alias and not re.fullmatch(ALIAS_PATTERN, shown_alias):
            errors.append(f"Values of: {shown_alias[:70]!r} is not an alias name (an alias is {ALIAS_RULE}).")
            shown_alias = ""
        ordering, descending = self._ordering()

        registered = RegisteredModel.objects.visible_to(user).filter(project=self.project)
        listing = model_list(user=user, params=state.filterset_data(), project=self.project)
        narrowing = []
        if listing.is_valid():
            given = listing.filterset.form.cleaned_data
            narrowing = [name for name, value in given.items() if name != "ordering" and value not in (None, "", [])]
            if narrowing:
                registered = registered.filter(pk__in=listing.queryset.order_by().values("registered_model_id"))
        else:
            for name, messages_ in listing.errors.items():
                label = {"q": "Query"}.get(name, name)
                errors.extend(f"{label}: {message}" for message in messages_)
            registered = registered.none()
        field = MODELS_ORDERING[ordering]
        order = [f"-{field}" if descending else field, "name", "id"]
        registered = registered.with_summary(user).with_shown_version(user, shown_alias).order_by(*order)

        page = Paginator(registered, state.per_page).get_page(params.get("page"))
        items = list(page.object_list)
        context.update(
            project=self.project,
            state=state,
            sections=catalog.sections(),
            per_page_choices=PER_PAGE_CHOICES,
            page_obj=page,
            paginator=page.paginator,
            items=self._rows(items, state),
            headers=self._headers(ordering, descending),
            key_headers=_key_headers(state),
            alias_names=self._alias_names(),
            shown_alias=shown_alias,
            query_errors=errors,
            narrowed_by_versions=[name for name in narrowing if name != "search"],
            kept_params=[(k, v) for k in params for v in params.getlist(k) if k not in MODELS_FORM_PARAMS],
            unfiltered_url=self._unfiltered_url(),
            can_upload=rules.can_write_in_workspace(user, self.project.workspace_id),
            view="models",
        )
        return context

    def _unfiltered_url(self) -> str:
        """This view without the versions table's filters: the same columns, values and sort."""
        kept = QueryDict(mutable=True)
        for name in ("col", "of", "per_page", "models_ordering", "ordering"):
            if name in self.request.GET:
                kept.setlist(name, self.request.GET.getlist(name))
        return "?" + kept.urlencode()

    def _ordering(self) -> tuple[str, bool]:
        asked = self.request.GET.get("models_ordering", DEFAULT_MODELS_ORDERING).strip()
        name = asked.lstrip("-")
        if name not in MODELS_ORDERING:
            return DEFAULT_MODELS_ORDERING, False
        return name, asked.startswith("-")

    def _headers(self, ordering: str, descending: bool) -> list[dict]:
        headers = []
        for name, label, numeric in (
            ("name", "Name", False),
            ("latest", "Latest", True),
            ("versions", "Versions", True),
            ("updated", "Updated", False),
        ):
            current = name == ordering
            # A second click reverses; numbers and dates start with the largest.
            first_descending = name != "name"
            wanted = (not descending) if current else first_descending
            query = self.request.GET.copy()
            query["models_ordering"] = ("-" if wanted else "") + name
            query.pop("page", None)
            headers.append(
                {
                    "label": label,
                    "url": "?" + query.urlencode(),
                    "direction": ("descending" if descending else "ascending") if current else None,
                    "numeric": numeric,
                }
            )
        return headers

    def _alias_names(self) -> list[str]:
        """The aliases the user sees in this project, for the "Values of" choice."""
        aliases = Alias.objects.visible_to(self.request.user).filter(registered_model__project=self.project)
        return list(aliases.order_by("name").values_list("name", flat=True).distinct())

    @staticmethod
    def _rows(items: list, state: TableState) -> list[dict]:
        ids = [item.shown_version_id for item in items if item.shown_version_id is not None]
        shown = {row.model.pk: row for row in rows(MLModel.objects.filter(pk__in=ids).order_by(), state)}
        empty = empty_cells_html(len(state.columns))
        return [
            {
                "registered": item,
                "shown": shown.get(item.shown_version_id),
                "cells_html": shown[item.shown_version_id].cells_html if item.shown_version_id in shown else empty,
            }
            for item in items
        ]


class VisibleRegisteredModelMixin(LoginRequiredMixin, SingleObjectMixin):
    """A registered model the user can see (one of its versions); anything else is a 404."""

    context_object_name = "registered_model"

    def get_queryset(self):
        user = self.request.user
        visible = RegisteredModel.objects.visible_to(user).with_summary(user)
        return visible.select_related("project__workspace")


class RegisteredModelDetailView(VisibleRegisteredModelMixin, DetailView):
    """`/registered-models/<id>/`: the card, the aliases, the versions and the timeline."""

    template_name = "registry/registered_model_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, registered = self.request.user, self.object
        state = TableState.from_query(self.request.GET, key_catalog(user, registered.project))
        versions = (
            MLModel.objects.visible_to(user)
            .filter(registered_model_id=registered.pk)
            .with_related()
            .order_by("-version")
        )
        page = Paginator(versions, state.per_page).get_page(self.request.GET.get("page"))
        models = attach_alias_names(attach_tags(list(page.object_list)))
        events = Event.objects.visible_to(user).filter(registered_model_id=registered.pk)
        timeline = timeline_page(self.request, user, events)
        aliases = Alias.objects.visible_to(user).filter(registered_model_id=registered.pk).select_related("set_by")
        aliases = list(aliases.order_by("name"))
        reference = _reference(registered)
        context.update(
            project=registered.project,
            workspace=registered.project.workspace,
            card=render(registered.description),
            can_edit=rules.can_edit_registered_model(user, registered),
            aliases=aliases,
            # Who may move which alias, the set form, the rules and the pending requests.
            promotions=registered_model_panel(user, registered, aliases, kwargs.get("alias_form")),
            reference=reference.written(),
            state=state,
            sections=state.catalog.sections(),
            key_headers=_key_headers(state),
            page_obj=page,
            version_rows=rows(models, state),
            timeline=timeline,
        )
        initial = {"description": registered.description}
        context.setdefault("description_form", RegisteredModelDescriptionForm(initial=initial))
        return context


class RegisteredModelDescriptionView(RegisteredModelDetailView):
    """POST the card's new text (owners and members; services.registered_model_update checks)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self.object = registered = self.get_object()
        form = RegisteredModelDescriptionForm(request.POST)
        if form.is_valid():
            try:
                services.registered_model_update(
                    registered_model=registered, user=request.user, description=form.cleaned_data["description"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
                self.object = self.get_object()  # as stored: the refused text was set on this one
            else:
                messages.success(request, f"The model card of {registered.name} is saved.")
                return redirect(reverse("registry:registered_model_detail", args=[registered.pk]) + "#card")
        context = self.get_context_data(description_form=form)
        return self.render_to_response(context, status=400)
