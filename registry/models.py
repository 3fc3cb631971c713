"""Workspaces hold projects, projects hold models; members see what their workspace holds."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from maisie_site.storable import text_error, validate_json, validate_text
from registry.querysets import MLModelQuerySet, ProjectCountQuerySet, ProjectQuerySet, TagQuerySet, WorkspaceQuerySet
from registry.registered_models import AliasQuerySet, RegisteredModelQuerySet


class Role(models.TextChoices):
    OWNER = "owner", "Owner"  # manages members, edits and deletes the workspace
    MEMBER = "member", "Member"  # creates projects, uploads, edits and deletes own models
    VIEWER = "viewer", "Viewer"  # reads


class Workspace(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="workspaces")
    # Bytes its versions may store after dedupe (docs/storage.md, "Quotas"); None: the
    # MAISIE_WORKSPACE_QUOTA_BYTES default applies. Set by staff in the admin.
    quota_bytes = models.BigIntegerField(null=True, blank=True, help_text="Stored bytes allowed; empty: the default.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        # References name a workspace (`<workspace>/<project>/<name>`, registry/references.py).
        constraints = [models.UniqueConstraint(fields=["name"], name="workspace_unique_name")]

    def __str__(self):
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")]

    def __str__(self):
        return f"{self.user} in {self.workspace} ({self.role})"


class Project(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    git_url = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="project_unique_name")]

    def __str__(self):
        return self.name


class Tag(models.Model):
    """A label of one workspace: its members see, use and manage it (see rules.py); a model
    carries only tags of its own project's workspace (services.py keeps that true)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]  # names repeat across workspaces: the id keeps pages stable
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name")]

    def __str__(self):
        return self.name

    def clean(self):
        # Before the database sees them: PostgreSQL fails on NUL (maisie_site/storable.py).
        errors = {field: error for field in ("name", "description") if (error := text_error(getattr(self, field)))}
        if "," in self.name:
            errors["name"] = "A tag name cannot contain a comma."
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude=None):
        # The one constraint is the name's: say so on the field, as a unique name would.
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError:
            raise ValidationError({"name": f"This workspace already has a tag named {self.name!r}."}) from None


def validate_json_object(value):
    if not isinstance(value, dict):
        raise ValidationError("Must be a JSON object.")
    # No NUL, lone surrogate, NaN or infinity in any key or value, and a bounded depth: what
    # either database can store and the API can write back (maisie_site/storable.py).
    validate_json(value)


def model_file_key(instance, filename: str) -> str:
    """Storage keys are generated: the uploaded name is metadata and never touches a path."""
    key = uuid.uuid4().hex
    return f"models/{key[:2]}/{key}"


class RegisteredModel(models.Model):
    """A model name within a project (docs/lifecycle.md): its versions are the MLModel rows of that
    (project, name), kept linked by services.py. The row outlives its versions, so `last_version`,
    the last number handed out, keeps numbers from being reused after deletes."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="registered_models")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown: the model card.")
    last_version = models.PositiveIntegerField(default=0, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = RegisteredModelQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="registeredmodel_unique_name")]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {field: error for field in ("name", "description") if (error := text_error(getattr(self, field)))}
        if errors:
            raise ValidationError(errors)


ALIAS_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
ALIAS_RULE = "lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 64 characters"
validate_alias_name = RegexValidator(ALIAS_PATTERN, f"An alias is {ALIAS_RULE}.")


class Alias(models.Model):
    """A movable name (`production`) for one version of a registered model. One row per name, so
    moving it is one UPDATE: at no instant do two versions hold it. RESTRICT: a version an alias
    points at is not deleted alone (services.model_delete answers 409 first), only with its project."""

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=64, validators=[validate_alias_name])
    version = models.ForeignKey("MLModel", on_delete=models.RESTRICT, related_name="aliases")
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    set_at = models.DateTimeField()

    objects = AliasQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "aliases"
        constraints = [models.UniqueConstraint(fields=["registered_model", "name"], name="alias_unique_name")]

    def __str__(self):
        return f"{self.registered_model_id}@{self.name}"


class MLModel(models.Model):
    """One uploaded model file and what it was trained with: a version of its registered model,
    numbered from that registered model's counter (never reused)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="models")
    # Always the RegisteredModel of (project, name); services.py keeps it so. RESTRICT: a
    # registered model goes only with its project (alone, never: it keeps the counter).
    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.RESTRICT, related_name="versions")
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="models")
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(editable=False)
    hyperparameters = models.JSONField(default=dict, blank=True, validators=[validate_json_object])
    parameters = models.JSONField(default=dict, blank=True, validators=[validate_json_object])
    metrics = models.JSONField(default=dict, blank=True, validators=[validate_json_object])
    dataset_name = models.CharField(max_length=200, blank=True)
    dataset_description = models.TextField(blank=True)
    git_branch = models.CharField(max_length=255, blank=True)
    git_commit = models.CharField(max_length=64, blank=True)
    # Stored without credentials (registry/provenance.py strips them before saving).
    git_remote_url = models.CharField(max_length=500, blank=True)
    # None: the uploader did not say (older clients, the web form); True: trained from a dirty tree.
    git_dirty = models.BooleanField(null=True, blank=True)
    private = models.BooleanField(default=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="models")
    # A one-file version's bytes: the storage name of its only blob (`entries` is the manifest
    # either way; this is what the documented single-file download serves). Empty for a folder.
    file = models.FileField(upload_to=model_file_key, max_length=255, blank=True)
    # A one-file version: its name, size and SHA-256, as the documented API has always said. A
    # folder: its files' total size, the name of its zip, and no SHA-256 (its `digest` names it).
    file_name = models.CharField(max_length=255, help_text="The uploaded file's name, kept as metadata only.")
    file_size = models.BigIntegerField()
    file_sha256 = models.CharField(max_length=64, blank=True)
    # The SHA-256 of the canonical manifest (registry/manifests.py, docs/storage.md).
    digest = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = MLModelQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "model"
        constraints = [
            models.UniqueConstraint(fields=["project", "name", "version"], name="mlmodel_unique_version"),
        ]
        indexes = [
            models.Index(fields=["project", "name"], name="mlmodel_project_name"),
            # Search (docs/architecture.md, "Search storage and indexes"): newest first, overall
            # and per project, with the columns that decide visibility, so the rows a deep page
            # skips are read from the index alone (registry/listing.py; bench/search.py "deep
            # page"); and the visibility columns, so counting a page's total can read the index
            # alone. GIN indexes on the JSON fields are in migrations 0002 and 0010 (PostgreSQL).
            models.Index(fields=["created", "id", "project", "private", "uploader"], name="mlmodel_created_cover"),
            models.Index(
                fields=["project", "created", "id", "private", "uploader"], name="mlmodel_project_created_cover"
            ),
            models.Index(fields=["project", "private", "uploader"], name="mlmodel_visibility"),
            # `@sha256:<digest>` references and "this registered model has these files already".
            models.Index(fields=["registered_model", "digest"], name="mlmodel_digest"),
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"

    def clean(self):
        # The JSON fields have validate_json_object; this holds the text fields to the same rule
        # (the file's name comes from the multipart body, not from a form field that checks it).
        errors = {}
        for field in self._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                try:
                    validate_text(getattr(self, field.attname))
                except ValidationError as error:
                    errors[field.name] = error.error_list
        if errors:
            raise ValidationError(errors)

    @property
    def visibility(self) -> str:
        return "private" if self.private else "public"

    @property
    def tag_list(self) -> list[Tag]:
        """The tags, as `with_related()` attached them when the model came from it, else one query."""
        prefetched = self.__dict__.get("prefetched_tags")
        return prefetched if prefetched is not None else list(self.tags.all())


class ProjectKeyCount(models.Model):
    """How many models of one (project, uploader, private) hold a JSON key, by the kind of its value.

    Kept by `registry.keystats` inside every model write in services.py, so the key lists of the
    API's projects and the web UI's table read these few rows instead of every model's JSON, and
    a model made private drops out of other people's lists in the same transaction. A row goes
    when its counts reach zero. `texts` counts any other non-null value (strings, lists, objects).
    """

    # No index of its own: the unique constraint's index starts with the project.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="key_counts", db_index=False)
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    private = models.BooleanField()
    section = models.CharField(max_length=20)  # hyperparameters, parameters or metrics
    key = models.TextField()
    numbers = models.IntegerField(default=0)
    booleans = models.IntegerField(default=0)
    texts = models.IntegerField(default=0)
    nulls = models.IntegerField(default=0)

    objects = ProjectCountQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "uploader", "private", "section", "key"], name="projectkeycount_unique"
            ),
        ]
        # Whether any model holds a key, asked by every JSON comparison (registry/search/catalogue.py).
        indexes = [models.Index(fields=["section", "key"], name="projectkeycount_key")]

    def __str__(self):
        return f"{self.section}.{self.key} in project {self.project_id}"


class ProjectUploaderCount(models.Model):
    """How many models one uploader has in a project, private or not: who `all_users` lists."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="uploader_counts", db_index=False)
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    private = models.BooleanField()
    model_count = models.IntegerField(default=0)

    objects = ProjectCountQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "uploader", "private"], name="projectuploadercount_unique"),
        ]

    def __str__(self):
        return f"user {self.uploader_id} in project {self.project_id}"


class Blob(models.Model):
    """A file's bytes, stored once per SHA-256 whichever versions, projects or workspaces hold it
    (docs/storage.md, "Blobs"). Immutable: written whole under `key`, never overwritten; deleted
    only once no manifest entry and no open upload session references it (registry/blobs.py)."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    # Where the bytes are in STORAGES["default"]: blobs/sha256/ab/<sha256> (registry.blobs.blob_key);
    # a file stored before blobs existed keeps its old models/... name until maisie_blobs_relocate.
    key = models.CharField(max_length=255, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sha256"]

    def __str__(self):
        return f"sha256:{self.sha256}"


class ManifestEntry(models.Model):
    """One file of a version: its path in the version's folder and the blob of its bytes."""

    model = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="entries")
    path = models.CharField(max_length=1024)  # registry/manifests.py's rules, checked before any byte is stored
    # PROTECT: a blob goes only once nothing references it (registry/blobs.py releases it).
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="entries")

    class Meta:
        ordering = ["model", "path"]
        verbose_name_plural = "manifest entries"
        constraints = [models.UniqueConstraint(fields=["model", "path"], name="manifestentry_unique_path")]

    def __str__(self):
        return f"{self.model_id}:{self.path}"


class UploadSession(models.Model):
    """A version being uploaded in parts (docs/storage.md, "Upload sessions"): its metadata and
    manifest, checked when it was opened, and the blobs it still needs. Deleted when the version
    is created, when its uploader aborts it, or when it expires (registry/upload_sessions/)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="upload_sessions")
    name = models.CharField(max_length=200)
    # `services.model_register`'s keyword arguments (hyperparameters, …, tags), checked at open.
    metadata = models.JSONField(default=dict)
    files = models.JSONField()  # the manifest, as manifests.to_json writes it
    digest = models.CharField(max_length=64)
    new_version = models.BooleanField(default=False)
    # Bytes the quota holds for this session: its blobs the workspace did not store when it opened.
    announced_bytes = models.BigIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created"]

    def __str__(self):
        return f"upload {self.id} of {self.name}"


class UploadSessionBlob(models.Model):
    """One distinct blob of a session's manifest: `needed` (its bytes are sent in parts, `received`
    of them acknowledged so far) or skipped (the uploader can already read a version holding it).
    Either way it counts as a reference for registry.blobs.referenced."""

    session = models.ForeignKey(UploadSession, on_delete=models.CASCADE, related_name="blobs")
    sha256 = models.CharField(max_length=64, db_index=True)  # not a foreign key: the blob may not exist yet
    size = models.BigIntegerField()
    needed = models.BooleanField()
    part_size = models.BigIntegerField()
    received = models.BigIntegerField(default=0)
    verified = models.BooleanField(default=False)  # every byte received and its SHA-256 checked
    # S3 only: the objects holding its acknowledged parts, in order (registry/upload_sessions/).
    parts = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["session", "sha256"]
        constraints = [models.UniqueConstraint(fields=["session", "sha256"], name="uploadsessionblob_unique")]

    def __str__(self):
        return f"{self.session_id}:{self.sha256}"
