"""API shapes (see shared/reference/wire-format.md). Writes call registry.services."""

from urllib.parse import quote

from django.db.models import prefetch_related_objects
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from formats.models import VersionFacts
from registry import services
from registry.api import shape
from registry.api.fields import JSONObjectField, TagListField
from registry.links import links_for
from registry.models import Membership, MLModel, Project, Role, Tag, Workspace
from registry.querysets import attach_tags, summary_prefetches


def _user(request):
    return request.user


class UserBriefSerializer(serializers.ModelSerializer):
    """A user inside another shape: shape.USER (test_api_shape keeps the two alike)."""

    class Meta:
        model = User
        fields = ["id", "login", "full_name"]


class TagBriefSerializer(serializers.ModelSerializer):
    """A tag inside a model (shape.TAG): always of the model's own workspace."""

    class Meta:
        model = Tag
        fields = ["id", "name", "description"]


class VersionFactsBriefSerializer(serializers.ModelSerializer):
    """What Maisie read from a version's files, inside a model (shape.FORMAT; docs/formats.md)."""

    name = serializers.CharField(
        source="format", help_text="safetensors, gguf, onnx, pytorch, pickle, joblib, or other."
    )
    params = serializers.IntegerField(
        allow_null=True, help_text="Parameters (elements of the weights); null when the format does not say."
    )
    verdict = serializers.CharField(
        help_text="Advisory: safe (a format without code), pickle, unknown or suspicious (docs/formats.md)."
    )

    class Meta:
        model = VersionFacts
        fields = ["name", "params", "verdict"]


class WorkspaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["id", "name", "description", "updated", "created"]

    def create(self, validated_data):
        return services.workspace_create(user=_user(self.context["request"]), **validated_data)

    def update(self, instance, validated_data):
        return services.workspace_update(workspace=instance, user=_user(self.context["request"]), **validated_data)


class MembershipSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer(read_only=True)
    user_id = serializers.PrimaryKeyRelatedField(
        source="user", queryset=User.objects.filter(is_active=True), write_only=True
    )
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["user", "user_id", "role", "created"]


@extend_schema_field(OpenApiTypes.INT)
class VisibleWorkspaceField(serializers.PrimaryKeyRelatedField):
    """A workspace id the caller can see; others read as "does not exist", like a 404."""

    def get_queryset(self):
        return Workspace.objects.visible_to(self.context["request"].user)


class TagSerializer(serializers.ModelSerializer):
    """A tag of /api/v1/tags/: `workspace_id` names its workspace, given when it is created."""

    workspace_id = VisibleWorkspaceField(source="workspace")

    class Meta:
        model = Tag
        fields = ["id", "name", "description", "workspace_id"]
        # The name is unique per workspace: the model says so in its own words (Tag.validate_constraints),
        # on the stripped name that services save.
        validators = []

    def create(self, validated_data):
        return services.tag_create(user=_user(self.context["request"]), **validated_data)

    def update(self, instance, validated_data):
        return services.tag_update(tag=instance, user=_user(self.context["request"]), **validated_data)


@extend_schema_field(OpenApiTypes.INT)
class VisibleProjectField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Project.objects.visible_to(self.context["request"].user).select_related("workspace")


class ProjectSerializer(serializers.ModelSerializer):
    workspace_id = VisibleWorkspaceField(source="workspace")
    all_hyperparameters = serializers.SerializerMethodField()
    all_parameters = serializers.SerializerMethodField()
    all_metrics = serializers.SerializerMethodField()
    all_users = serializers.SerializerMethodField()
    _links = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "workspace_id",
            "name",
            "description",
            "git_url",
            "all_hyperparameters",
            "all_parameters",
            "all_metrics",
            "all_users",
            "updated",
            "created",
            "_links",
        ]

    def _summary(self, project) -> dict:
        """Keys and uploaders of the models this caller can see, from their counts (registry.keystats).

        The viewset prefetches the counts of a whole page (`with_model_summary`); a project saved
        by this request reads its own.
        """
        if not hasattr(project, "visible_key_counts"):
            prefetch_related_objects([project], *summary_prefetches(self.context["request"].user))
        keys = {"hyperparameters": set(), "parameters": set(), "metrics": set()}
        for row in project.visible_key_counts:
            keys[row.section].add(row.key)
        users = {row.uploader_id: row.uploader for row in project.visible_uploader_counts}
        return {
            **{field: sorted(seen) for field, seen in keys.items()},
            "users": [{"id": u.id, "full_name": u.full_name} for u in sorted(users.values(), key=lambda u: u.id)],
        }

    def _cached_summary(self, project) -> dict:
        cache = self.context.setdefault("_project_summaries", {})
        if project.pk not in cache:
            cache[project.pk] = self._summary(project)
        return cache[project.pk]

    def get_all_hyperparameters(self, project) -> list[str]:
        return self._cached_summary(project)["hyperparameters"]

    def get_all_parameters(self, project) -> list[str]:
        return self._cached_summary(project)["parameters"]

    def get_all_metrics(self, project) -> list[str]:
        return self._cached_summary(project)["metrics"]

    def get_all_users(self, project) -> list[dict]:
        return self._cached_summary(project)["users"]

    def get__links(self, project) -> dict:
        links = links_for(self.context)
        return {
            "self": links.url("api:project-detail", project.pk),
            "workspace": links.url("api:workspace-detail", project.workspace_id),
        }

    def create(self, validated_data):
        return services.project_create(user=_user(self.context["request"]), **validated_data)

    def update(self, instance, validated_data):
        instance.__dict__.pop("visible_key_counts", None)
        instance.__dict__.pop("visible_uploader_counts", None)
        self.context.pop("_project_summaries", None)
        return services.project_update(project=instance, user=_user(self.context["request"]), **validated_data)


class MLModelSerializer(serializers.ModelSerializer):
    """The model as the API shows it."""

    user = UserBriefSerializer(source="uploader", read_only=True)
    workspace_id = serializers.IntegerField(source="project.workspace_id", read_only=True)
    visibility = serializers.CharField(read_only=True)
    dataset = serializers.SerializerMethodField()
    tags = TagBriefSerializer(many=True, read_only=True)
    aliases = serializers.SerializerMethodField(help_text="The names of the aliases this version holds, sorted.")
    git = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField()
    format = VersionFactsBriefSerializer(
        source="format_facts",
        read_only=True,
        allow_null=True,
        help_text="What was read from the version's files; null until they have been read.",
    )
    _links = serializers.SerializerMethodField()

    class Meta:
        model = MLModel
        fields = [
            "id",
            "user",
            "project_id",
            "workspace_id",
            "registered_model_id",
            "name",
            "version",
            "visibility",
            "dataset",
            "hyperparameters",
            "parameters",
            "metrics",
            "tags",
            "aliases",
            "git",
            "file",
            "digest",
            "format",
            "created",
            "updated",
            "_links",
        ]

    # The declared fields above are the OpenAPI schema's; the answer is written from the one
    # table of the shape (registry/api/shape.py), which list pages use too. test_api_shape fails
    # when the two vocabularies drift, and pins the shape's output to what the declared fields
    # render. DRF's field-by-field rendering cost about 0.7 ms a model.
    def to_representation(self, model):
        render = self.context.get("_render")
        if render is None:
            render = self.context["_render"] = shape.Render(links_for(self.context))
        if "prefetched_tags" not in model.__dict__:
            attach_tags([model])  # one model's tags, by the page's query: cheaper than the ORM's manager
        return shape.MODEL.python(model, render)

    def get_dataset(self, model) -> dict:
        return shape.MODEL.parts["dataset"].python(model, None)

    def get_aliases(self, model) -> list[str]:
        return shape.MODEL.parts["aliases"].python(model, None)

    def get_git(self, model) -> dict:
        return shape.MODEL.parts["git"].python(model, None)

    def get_file(self, model) -> dict:
        return shape.MODEL.parts["file"].python(model, None)

    def get__links(self, model) -> dict:
        return shape.MODEL.parts["_links"].python(model, shape.Render(links_for(self.context)))


class ModelFileSerializer(serializers.Serializer):
    """One file of a version's manifest (a ManifestEntry with its blob), with its own download."""

    path = serializers.CharField(help_text="Relative, `/` between folders, NFC (docs/storage.md, Paths).")
    size = serializers.IntegerField(source="blob.size")
    sha256 = serializers.CharField(source="blob.sha256")
    _links = serializers.SerializerMethodField()

    def get__links(self, entry) -> dict[str, str]:
        # The files list's URL and the path, percent-encoded but for its slashes (the route takes them).
        files = links_for(self.context).url("api:model-files", entry.model_id)
        return {"download": files + quote(entry.path, safe="/")}


class _MLModelWriteSerializer(serializers.Serializer):
    """Fields shared by upload and update, named as the published client sends them."""

    name = serializers.CharField(max_length=200)
    project_id = VisibleProjectField(source="project")
    hyperparameters = JSONObjectField(required=False)
    parameters = JSONObjectField(required=False)
    metrics = JSONObjectField(required=False)
    tags = TagListField(required=False)
    dataset_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    dataset_description = serializers.CharField(required=False, allow_blank=True)
    git_active_branch = serializers.CharField(source="git_branch", max_length=255, required=False, allow_blank=True)
    git_commit_hash = serializers.CharField(source="git_commit", max_length=64, required=False, allow_blank=True)
    # Credentials are stripped before storing (registry/provenance.py, in services).
    git_remote_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
    # "true"/"false" as the client sends them; null (or "") for "not known". With allow_null a
    # multipart upload that leaves the field out stores null, not DRF's html default of False.
    git_dirty = serializers.BooleanField(required=False, allow_null=True)
    private = serializers.BooleanField(required=False)

    def to_representation(self, instance):
        return MLModelSerializer(instance, context=self.context).data


class MLModelUploadSerializer(_MLModelWriteSerializer):
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$", required=False, allow_blank=True)
    # The published client also sends `user_id`; it is not declared, so it is ignored:
    # the uploader is always the authenticated user.

    def create(self, validated_data):
        return services.model_upload(user=_user(self.context["request"]), **validated_data)


class MLModelUpdateSerializer(_MLModelWriteSerializer):
    visibility = serializers.ChoiceField(choices=["private", "public"], required=False, write_only=True)

    def validate(self, attrs):
        visibility = attrs.pop("visibility", None)
        if visibility is not None:
            attrs["private"] = visibility == "private"
        return attrs

    def update(self, instance, validated_data):
        model = services.model_update(model=instance, user=_user(self.context["request"]), **validated_data)
        model.__dict__.pop("prefetched_tags", None)  # read before the update; the answer shows the new tags
        return model
