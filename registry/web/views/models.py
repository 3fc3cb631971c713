"""One model: its page, download, edit, delete and tags; the upload form. The comparison is in compare.py."""

import re
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import DetailView, FormView, TemplateView, UpdateView, View
from django.views.generic.detail import SingleObjectMixin

from accounts.forms import add_service_errors
from events.models import Event
from formats import unsafe
from registry import keypaths, provenance, rules, services
from registry.downloads import model_file_response
from registry.models import MLModel, Project, Role, Tag
from registry.querysets import attach_alias_names
from registry.web.files import file_tree
from registry.web.forms import ModelEditForm, ModelUploadForm, TagAddForm
from registry.web.keys import SECTION_LABELS, SECTIONS, display, is_number, split_key
from registry.web.table_columns import chosen_metrics, metric_cells
from registry.web.timeline import timeline_page
from registry.web.views.tables import TAG_SUGGESTIONS

FORGES = {
    # host: (commit page, branch page) below the repository's web address
    "github.com": ("/commit/{}", "/tree/{}"),
    "gitlab.com": ("/-/commit/{}", "/-/tree/{}"),
    "bitbucket.org": ("/commits/{}", "/branch/{}"),
}
_SSH_REMOTE = re.compile(r"^(?:ssh://)?git@([^:/]+)[:/](.+)$")
_COMMIT = re.compile(r"^[0-9a-fA-F]{4,64}$")


def forge_links(git_url: str, branch: str, commit: str) -> dict:
    """Links to the commit and branch pages when the repository is on GitHub, GitLab or Bitbucket."""
    url = (git_url or "").strip()
    ssh = _SSH_REMOTE.match(url)
    if ssh:
        url = f"https://{ssh.group(1)}/{ssh.group(2)}"
    match = re.match(r"^https?://(?:www\.)?([^/]+)/(.+?)(?:\.git)?/?$", url)
    if not match or match.group(1).lower() not in FORGES:
        return {}
    commit_path, branch_path = FORGES[match.group(1).lower()]
    base = f"https://{match.group(1).lower()}/{match.group(2)}"
    links = {"repository": base}
    if commit and _COMMIT.match(commit):
        links["commit"] = base + commit_path.format(commit)
    if branch:
        links["branch"] = base + branch_path.format(quote(branch, safe="/"))
    return links


def writable_projects(user):
    """Projects the user may upload to: where they are an owner or a member (staff: all)."""
    projects = Project.objects.select_related("workspace").order_by("workspace__name", "name")
    if user.is_staff:
        return projects
    return projects.filter(
        workspace__memberships__user=user, workspace__memberships__role__in=[Role.OWNER, Role.MEMBER]
    )


class VisibleModelMixin(LoginRequiredMixin, SingleObjectMixin):
    """A model the user can see; anything else is a 404, never a 403."""

    context_object_name = "model"

    def get_queryset(self):
        return MLModel.objects.visible_to(self.request.user).select_related("uploader", "project__workspace")


class ModelDetailView(VisibleModelMixin, DetailView):
    template_name = "registry/model_detail.html"

    def get_queryset(self):
        return super().get_queryset().prefetch_related("tags")

    def get_context_data(self, **kwargs):
        model = self.object
        context = super().get_context_data(**kwargs)
        context["can_edit"] = rules.can_edit_model(self.request.user, model)
        # The model's own remote (what it was trained from) before the project's repository.
        remote = model.git_remote_url or model.project.git_url
        context["links"] = forge_links(remote, model.git_branch, model.git_commit)
        context["remote_web_url"] = provenance.web_url(model.git_remote_url)
        # (key path, shown, is a number, is null): a nested config is listed by its paths
        # (optimizer.lr), as the table, search and compare name them; a stored null shows as
        # `null`, never as a missing key's dash.
        context["sections"] = [
            (
                SECTION_LABELS[s],
                sorted(
                    (path, display(v), is_number(v), v is None) for path, v in keypaths.leaves(getattr(model, s) or {})
                ),
            )
            for s in SECTIONS
        ]
        versions = (
            MLModel.objects.visible_to(self.request.user)
            .filter(project_id=model.project_id, name=model.name)
            .select_related("uploader")
            .order_by("-version")
        )
        # The metric columns the user chose for the project's table (their last view, else its default).
        columns = chosen_metrics(self.request.user, model.project)
        context["version_columns"] = [split_key(name)[1] for name in columns]
        context["versions"] = list(versions)
        context["version_lines"] = metric_cells(context["versions"], columns)  # (version, its cells)
        context.setdefault("tag_form", TagAddForm())
        # The model's workspace's tags: the only ones it can carry.
        tags = Tag.objects.visible_to(self.request.user).filter(workspace_id=model.project.workspace_id)
        context["tag_suggestions"] = tags.suggestions(TAG_SUGGESTIONS)
        context["alias_names"] = attach_alias_names([model])[0].prefetched_alias_names
        # This version's own events; a card change is about the whole registered model (its page).
        events = Event.objects.visible_to(self.request.user).filter(model_id=model.pk)
        events = events.exclude(subject_type="registeredmodel")
        context["timeline"] = timeline_page(self.request, self.request.user, events)
        context["file_tree"] = file_tree(model)  # templates/registry/_files.html
        return context


class ModelDownloadView(VisibleModelMixin, View):
    def get(self, request, pk):
        model = self.get_object()
        # A suspicious version is sent once the person confirms (formats app, docs/formats.md).
        return unsafe.confirmation(request, model) or model_file_response(request, model)


class ModelTagAddView(VisibleModelMixin, TemplateView):
    template_name = "registry/model_detail.html"
    http_method_names = ["post"]

    def post(self, request, pk):
        model = self.get_object()
        form = TagAddForm(request.POST)
        if form.is_valid():
            try:
                services.model_tags_add(model=model, names=form.cleaned_data["name"], user=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
        else:
            messages.error(request, "Give a tag name.")
        return redirect(reverse("registry:model_detail", args=[model.pk]) + "#tags")


class ModelTagRemoveView(VisibleModelMixin, View):
    def post(self, request, pk, tag_id):
        model = self.get_object()
        tag = get_object_or_404(Tag.objects.visible_to(request.user), pk=tag_id)
        services.model_tag_remove(model=model, tag=tag, user=request.user)
        return redirect(reverse("registry:model_detail", args=[model.pk]) + "#tags")


class ModelEditView(VisibleModelMixin, UpdateView):
    template_name = "registry/model_form.html"
    form_class = ModelEditForm

    def get_object(self, queryset=None):
        model = super().get_object(queryset)
        if not rules.can_edit_model(self.request.user, model):
            raise PermissionDenied("Only the uploader or the workspace's owners can change this model.")
        return model

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        current = Q(pk=self.object.project_id)
        kwargs["projects"] = (
            Project.objects.filter(Q(pk__in=writable_projects(self.request.user).values("pk")) | current)
            .select_related("workspace")
            .order_by("workspace__name", "name")
        )
        return kwargs

    def form_valid(self, form):
        try:
            model = services.model_update(model=self.object, user=self.request.user, **form.service_fields())
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        except services.Conflict as conflict:  # an alias points at it (docs/lifecycle.md)
            form.add_error(None, str(conflict.detail))
            return self.form_invalid(form)
        messages.success(self.request, f"{model} saved.")
        return redirect("registry:model_detail", pk=model.pk)


class ModelDeleteView(VisibleModelMixin, DetailView):
    template_name = "registry/model_confirm_delete.html"

    def get_object(self, queryset=None):
        model = super().get_object(queryset)
        if not rules.can_edit_model(self.request.user, model):
            raise PermissionDenied("Only the uploader or the workspace's owners can delete this model.")
        return model

    def post(self, request, pk):
        model = self.get_object()
        project_id = model.project_id
        try:
            services.model_delete(model=model, user=request.user)
        except services.Conflict as conflict:  # an alias points at it (docs/lifecycle.md)
            messages.error(request, str(conflict.detail))
            return redirect("registry:model_detail", pk=model.pk)
        messages.success(request, f"{model} deleted.")
        return redirect("registry:project_detail", pk=project_id)


class ModelUploadView(LoginRequiredMixin, FormView):
    """`/models/upload/`: the file streams to disk and is hashed as it arrives (HashingUploadHandler)."""

    template_name = "registry/model_upload.html"
    form_class = ModelUploadForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["projects"] = writable_projects(self.request.user)
        return kwargs

    def get_initial(self):
        return {"project": self.request.GET.get("project")}

    def post(self, request, *args, **kwargs):
        # HashingUploadHandler stops reading a file over the limit, or one the disk cannot hold,
        # and leaves the reason here (raising would make the CSRF check's parse a 500).
        request.FILES  # noqa: B018 (parses the body, unless the CSRF check has)
        error = getattr(request, "upload_error", None)
        if error is None:
            return super().post(request, *args, **kwargs)
        form = self.get_form()
        form.errors.clear()
        form.add_error("file", str(error.detail))
        return self.render_to_response(self.get_context_data(form=form), status=error.status_code)

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if self._validate_only():
            form.fields["file"].required = False  # the metadata is checked before the file is sent
        return form

    def _validate_only(self) -> bool:
        return self.request.method == "POST" and self.request.POST.get("validate_only") == "1"

    def form_valid(self, form):
        data = dict(form.cleaned_data)
        if self._validate_only():
            # upload.js's first step: the same checks as the upload, without the file; the
            # file is sent only after this answers 200.
            data.pop("file", None)
            try:
                services.model_upload_check(user=self.request.user, **data)
            except ValidationError as error:
                add_service_errors(form, error)
                return self.form_invalid(form)
            return JsonResponse({"valid": True})
        try:
            model = services.model_upload(user=self.request.user, **data)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Uploaded {model} ({model.file_size} bytes, SHA-256 {model.file_sha256}).")
        return redirect("registry:model_detail", pk=model.pk)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)
