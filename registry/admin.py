from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from registry import quotas, services
from registry.models import Alias, Membership, MLModel, Project, RegisteredModel, Tag, Workspace


class DeleteThroughServiceAdmin(admin.ModelAdmin):
    """Deletes go through services so stored files are removed with their rows."""

    def delete_through_service(self, obj, user):
        raise NotImplementedError

    def delete_model(self, request, obj):
        self.delete_through_service(obj, request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_through_service(obj, request.user)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class WorkspaceAdminForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = ["name", "description", "quota_bytes"]

    def clean_quota_bytes(self):
        quota = self.cleaned_data["quota_bytes"]
        if quota is not None and quota < 0:
            raise forms.ValidationError("A quota is 0 bytes or more (empty: the default).")
        return quota


@admin.register(Workspace)
class WorkspaceAdmin(DeleteThroughServiceAdmin):
    """Staff set a workspace's quota here (empty: MAISIE_WORKSPACE_QUOTA_BYTES) beside its usage."""

    list_display = ["name", "quota_bytes", "created", "updated"]
    search_fields = ["name", "description"]
    form = WorkspaceAdminForm
    fields = ["name", "description", "quota_bytes", "usage"]
    readonly_fields = ["usage"]
    inlines = [MembershipInline]

    @admin.display(description="Usage")
    def usage(self, obj):
        if obj.pk is None:
            return "-"
        usage = quotas.usage(obj)
        allowed = "no quota" if usage.quota is None else f"quota {usage.quota:,} bytes"
        return (
            f"{usage.logical:,} bytes of files, {usage.stored:,} stored (each file once), "
            f"{usage.announced:,} announced by uploads in progress; {allowed}"
        )

    def delete_through_service(self, obj, user):
        services.workspace_delete(workspace=obj, user=user)


@admin.register(Project)
class ProjectAdmin(DeleteThroughServiceAdmin):
    list_display = ["name", "workspace", "git_url", "created"]
    list_filter = ["workspace"]
    search_fields = ["name", "description", "git_url"]
    list_select_related = ["workspace"]

    def delete_through_service(self, obj, user):
        services.project_delete(project=obj, user=user)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "description"]
    list_filter = ["workspace"]
    search_fields = ["name", "workspace__name"]
    list_select_related = ["workspace"]

    def get_readonly_fields(self, request, obj=None):
        # A model carries only its own workspace's tags: a tag that some model carries stays put.
        if obj is not None and obj.models.exists():
            return ["workspace"]
        return []


@admin.register(MLModel)
class MLModelAdmin(DeleteThroughServiceAdmin):
    """Metadata is editable; the file and its facts are not (they are checked at upload)."""

    list_display = ["name", "version", "project", "uploader", "private", "file_size", "created"]
    list_filter = ["private", "project__workspace", "project", "tags"]
    search_fields = ["name", "file_name", "file_sha256", "uploader__login"]
    list_select_related = ["project", "uploader"]
    filter_horizontal = ["tags"]  # of the model's workspace only (get_form): names repeat across workspaces
    readonly_fields = [
        "project",
        "registered_model",  # follows the name and project (services.model_update)
        "uploader",
        "version",
        "stored_file",
        "file_name",
        "file_size",
        "file_sha256",
        "created",
        "updated",
    ]

    def has_add_permission(self, request):
        return False  # uploads go through the API or the web form, which stream and hash the file

    exclude = ["file"]

    @admin.display(description="Stored file")
    def stored_file(self, obj):
        # Files are only served through the permission-checked download endpoint.
        return format_html('<a href="{}">{}</a>', reverse("api:model-download", args=[obj.pk]), obj.file.name)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "tags" in form.base_fields:
            # Only the model's own workspace's tags (anything else is "not a valid choice").
            field = form.base_fields["tags"]
            field.queryset = field.queryset.filter(workspace_id=obj.project.workspace_id)
        return form

    def save_model(self, request, obj, form, change):
        # Through services, like every model write, so the key counts (registry.keystats) follow
        # edits of the JSON and of `private`, and a renamed model takes the next version.
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name != "tags"}
        model = services.model_update(model=MLModel.objects.get(pk=obj.pk), user=request.user, **fields)
        obj.version, obj.updated = model.version, model.updated

    def delete_through_service(self, obj, user):
        services.model_delete(model=obj, user=user)


class AliasInline(admin.TabularInline):
    """Shown on the registered model; set, moved and removed through the API (services.alias_*)."""

    model = Alias
    extra = 0
    fields = ["name", "version", "set_by", "set_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RegisteredModel)
class RegisteredModelAdmin(DeleteThroughServiceAdmin):
    """The description is editable; the name, project and counter follow the versions."""

    list_display = ["name", "project", "last_version", "updated"]
    list_filter = ["project__workspace", "project"]
    search_fields = ["name", "description"]
    list_select_related = ["project"]
    fields = ["project", "name", "description", "last_version", "created", "updated"]
    readonly_fields = ["project", "name", "last_version", "created", "updated"]
    inlines = [AliasInline]

    def has_add_permission(self, request):
        return False  # uploads create them

    def save_model(self, request, obj, form, change):
        services.registered_model_update(registered_model=obj, user=request.user, description=obj.description)

    def delete_through_service(self, obj, user):
        # Deletes the versions; the row stays, keeping its counter (an empty one has nothing to do).
        if obj.versions.exists():
            services.registered_model_delete(registered_model=obj, user=user)
