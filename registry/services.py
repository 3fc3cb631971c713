"""Every write to workspaces, projects, tags, models, registered models and aliases goes through a function here.

The API viewsets and the HTML views both call these, so permission checks, validation and
the file/row bookkeeping live in one place. Each raises PermissionDenied (403) when the user
can see the object but may not change it, ValidationError (400) for bad input, and Conflict
(409) for a change the current state forbids until something else changes first.
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException

from events.services import changes, record, record_changes, snapshot
from formats.tasks import introspect_on_commit
from maisie_site.storable import text_error
from registry import blobs, keystats, manifests, provenance, quotas, rules
from registry.models import (
    ALIAS_RULE,
    Alias,
    ManifestEntry,
    Membership,
    MLModel,
    Project,
    RegisteredModel,
    Role,
    Tag,
    Workspace,
    validate_alias_name,
)
from registry.registered_models import version_seen
from registry.uploads import file_sha256


class Conflict(APIException):
    """409: the request is fine, the state is not (an alias still points at the version)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The current state does not allow this change."
    default_code = "conflict"


# The fields whose before/after values events record (events/kinds.py has the vocabulary).
WORKSPACE_FIELDS = ("name", "description")
PROJECT_FIELDS = ("name", "description", "git_url", "workspace")
TAG_FIELDS = ("name", "description")
MODEL_FIELDS = (
    *("name", "version", "project", "uploader", "private", "hyperparameters", "parameters", "metrics"),
    *("dataset_name", "dataset_description", "git_branch", "git_commit", "git_remote_url", "git_dirty"),
    *("file_name", "file_size", "file_sha256"),
)

# ----------------------------------------------------------------------------- files


def _blobs_of(models) -> list[str]:
    """The SHA-256s of the blobs these models' manifests hold: read before the models are deleted,
    released (registry/blobs.py) once the delete has committed, unless another version holds them.

    Releasing before the commit could lose bytes whose rows survive a rollback; a crash in
    between leaves an unreferenced blob, which `maisie_gc` deletes."""
    return list(ManifestEntry.objects.filter(model__in=models).values_list("blob_id", flat=True))


def _save(instance, **fields):
    for key, value in fields.items():
        setattr(instance, key, value)
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        # Another request took the same unique name between full_clean's check and this write:
        # checked again, the clash is the field's 400, not a 500.
        instance.full_clean()
        raise
    return instance


# ----------------------------------------------------------------------------- workspaces


@transaction.atomic
def workspace_create(*, user, name: str, description: str = "") -> Workspace:
    workspace = _save(Workspace(), name=name, description=description)
    owner = Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    record(kind="workspace.created", actor=user, subject=workspace, after=snapshot(workspace, WORKSPACE_FIELDS))
    _record_membership("membership.added", user, owner, after={"role": Role.OWNER})
    return workspace


@transaction.atomic
def workspace_update(*, workspace: Workspace, user, **fields) -> Workspace:
    if not rules.can_manage_workspace(user, workspace):
        raise PermissionDenied("Only the workspace's owners can change it.")
    before = snapshot(workspace, WORKSPACE_FIELDS)
    workspace = _save(workspace, **fields)
    record_changes(family="workspace", actor=user, subject=workspace, before=before)
    return workspace


@transaction.atomic
def workspace_delete(*, workspace: Workspace, user) -> None:
    if not rules.can_manage_workspace(user, workspace):
        raise PermissionDenied("Only the workspace's owners can delete it.")
    _lock_projects(*workspace.projects.values_list("pk", flat=True))
    shas = _blobs_of(MLModel.objects.filter(project__workspace=workspace))
    record(kind="workspace.deleted", actor=user, subject=workspace, before=snapshot(workspace, WORKSPACE_FIELDS))
    _delete_or_404(workspace)
    blobs.release_on_commit(shas)


def _delete_or_404(instance) -> None:
    """Delete the row, or answer 404 when a parallel request deleted it first: the DELETE waits
    for that request's row lock, then finds nothing (and this transaction rolls back)."""
    _, deleted = instance.delete()
    if not deleted.get(instance._meta.label):
        raise Http404(f"No such {instance._meta.verbose_name}.")


@transaction.atomic
def membership_set(*, workspace: Workspace, actor, user, role: str) -> tuple[Membership, bool]:
    """Add `user` to the workspace with `role`, or change their role. Returns (membership, created)."""
    _lock_owners(workspace)  # before the rights check: an owner demoted meanwhile is no longer one
    if not rules.can_manage_workspace(actor, workspace):
        raise PermissionDenied("Only the workspace's owners can manage its members.")
    if role not in Role.values:
        raise ValidationError({"role": f"Must be one of: {', '.join(Role.values)}."})
    if not user.is_active:
        raise ValidationError({"user_id": "This user is deactivated."})
    membership = Membership.objects.select_for_update().filter(workspace=workspace, user=user).first()
    if membership is None:
        try:
            with transaction.atomic():
                membership = Membership.objects.create(workspace=workspace, user=user, role=role)
                _record_membership("membership.added", actor, membership, after={"role": role})
                return membership, True
        except IntegrityError:  # added by a parallel request (a workspace with no owner to lock)
            membership = Membership.objects.select_for_update().get(workspace=workspace, user=user)
    if membership.role == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(workspace, user)
    previous, membership.role = membership.role, role
    membership.save(update_fields=["role"])
    if previous != role:
        roles = {"before": {"role": previous}, "after": {"role": role}}
        _record_membership("membership.role_changed", actor, membership, **roles)
    return membership, False


@transaction.atomic
def membership_join(*, workspace: Workspace, user, role: str, actor) -> Membership:
    """Add `user` to the workspace without an owner's check: the caller's authority is an
    invitation an owner made or the SSO configuration (accounts/invitations.py). Someone already a
    member keeps their role."""
    membership = Membership.objects.filter(workspace=workspace, user=user).first()
    if membership is not None:
        return membership
    membership = Membership.objects.create(workspace=workspace, user=user, role=role)
    _record_membership("membership.added", actor, membership, after={"role": role})
    return membership


@transaction.atomic
def membership_remove(*, workspace: Workspace, actor, user) -> None:
    """Owners remove anyone; a member may leave on their own."""
    _lock_owners(workspace)
    if actor.pk != user.pk and not rules.can_manage_workspace(actor, workspace):
        raise PermissionDenied("Only the workspace's owners can remove members.")
    membership = Membership.objects.select_for_update().filter(workspace=workspace, user=user).first()
    if membership is None:
        raise Membership.DoesNotExist
    if membership.role == Role.OWNER:
        _ensure_another_owner(workspace, user)
    _record_membership("membership.removed", actor, membership, before={"role": membership.role})
    membership.delete()


def _record_membership(kind: str, actor, membership: Membership, before=None, after=None) -> None:
    """A membership event names the member (id and login) on both sides of the change."""
    who = {"user_id": membership.user_id, "login": membership.user.get_username()}
    before, after = ({**who, **v} if v is not None else None for v in (before, after))
    record(kind=kind, actor=actor, subject=membership, subject_name=who["login"], before=before, after=after)


def _lock_owners(workspace: Workspace) -> None:
    """Lock the workspace's owner memberships, lowest id first, until the transaction ends.

    Every membership write takes these locks first, so "is there another owner?" and the write
    that depends on the answer happen one transaction at a time: two owners demoting each other
    at once left workspaces with no owner. One order, so two writers never wait for each other.
    """
    owners = Membership.objects.select_for_update().filter(workspace=workspace, role=Role.OWNER)
    list(owners.order_by("pk").values_list("pk", flat=True))


def _ensure_another_owner(workspace: Workspace, leaving_user) -> None:
    others = Membership.objects.filter(workspace=workspace, role=Role.OWNER).exclude(user=leaving_user)
    if not others.filter(user__is_active=True).exists():
        raise ValidationError({"role": "A workspace needs at least one owner."})


# ----------------------------------------------------------------------------- projects


@transaction.atomic
def project_create(*, user, workspace: Workspace, name: str, description: str = "", git_url: str = "") -> Project:
    if not rules.can_write_in_workspace(user, workspace.pk):
        raise PermissionDenied("Viewers cannot create projects in this workspace.")
    project = _save(Project(created_by=user), workspace=workspace, name=name, description=description, git_url=git_url)
    record(kind="project.created", actor=user, subject=project, after=snapshot(project, PROJECT_FIELDS))
    return project


@transaction.atomic
def project_update(*, project: Project, user, **fields) -> Project:
    if not rules.can_edit_project(user, project):
        raise PermissionDenied("Only the project's creator or the workspace's owners can change it.")
    target = fields.get("workspace")
    moved = target is not None and target.pk != project.workspace_id
    if moved and not rules.can_write_in_workspace(user, target.pk):
        raise PermissionDenied("You cannot move a project into a workspace where you cannot write.")
    before = snapshot(project, PROJECT_FIELDS)
    project = _save(project, **fields)
    record_changes(family="project", actor=user, subject=project, before=before)
    if moved:
        _tags_follow_workspace(MLModel.objects.filter(project=project).values("pk"), project.workspace_id)
    return project


@transaction.atomic
def project_delete(*, project: Project, user) -> None:
    if not rules.can_edit_project(user, project):
        raise PermissionDenied("Only the project's creator or the workspace's owners can delete it.")
    _lock_projects(project.pk)  # its key counts go with it (CASCADE)
    shas = _blobs_of(project.models.all())
    record(kind="project.deleted", actor=user, subject=project, before=snapshot(project, PROJECT_FIELDS))
    _delete_or_404(project)
    blobs.release_on_commit(shas)


# ----------------------------------------------------------------------------- tags


def tag_names(value) -> list[str]:
    """Accept "a, b" or ["a", "b"]; strip, drop empties, keep the first spelling of each."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    names: list[str] = []
    for item in items:
        name = str(item).strip()
        if not name:
            continue
        if "," in name:  # only a list can carry one; a string was split on commas above
            raise ValidationError({"tags": f"Tag {name[:20]!r} contains a comma; give each tag separately."})
        if len(name) > Tag._meta.get_field("name").max_length:
            raise ValidationError({"tags": f"Tag {name[:20]!r}… is too long."})
        if error := text_error(name):
            raise ValidationError({"tags": f"Tag names: {error}"})
        if name not in names:
            names.append(name)
    return names


def tags_get_or_create(workspace_id: int, names: Iterable[str], descriptions: dict | None = None) -> list[Tag]:
    """The workspace's tags of these names, in this order, each created where missing (with its
    description from `descriptions`). A model carries only its own workspace's tags."""
    tags = []
    for name in names:
        defaults = {"description": (descriptions or {}).get(name, "")}
        try:
            with transaction.atomic():
                tag, _ = Tag.objects.get_or_create(workspace_id=workspace_id, name=name, defaults=defaults)
        except IntegrityError:  # another request created it between our get and create
            tag = Tag.objects.get(workspace_id=workspace_id, name=name)
        tags.append(tag)
    return tags


def _tags_follow_workspace(models, workspace_id: int) -> None:
    """Models that moved into another workspace carry its tags of the same names instead of the
    old workspace's (created where missing, descriptions copied): a tag never spans workspaces."""
    Link = MLModel.tags.through
    stray = Link.objects.filter(mlmodel__in=models).exclude(tag__workspace_id=workspace_id)
    rows = list(stray.values_list("mlmodel_id", "tag__name", "tag__description"))
    if not rows:
        return
    descriptions = {name: description for _, name, description in rows}
    tags = {tag.name: tag.pk for tag in tags_get_or_create(workspace_id, sorted(descriptions), descriptions)}
    stray.delete()
    Link.objects.bulk_create(
        (Link(mlmodel_id=model_id, tag_id=tags[name]) for model_id, name, _ in rows),
        batch_size=1000,
        ignore_conflicts=True,
    )


def _save_tag(tag: Tag, **fields) -> Tag:
    # A name taken meanwhile: _save checks again, and Tag.validate_constraints words the 400.
    if "name" in fields:
        fields["name"] = fields["name"].strip()
    return _save(tag, **fields)


def _record_tag(kind: str, user, tag: Tag, **values) -> None:
    """A tag event, seen by those who may see the tag: its name says what it marks, so a tag
    only other people's private models carry is hidden (TagQuerySet.visible_to). The event takes
    the visibility of one model carrying the tag, a public one if any (as events about a whole
    registered model do), and none while no model carries it; it stays out of that model's
    project and registered model, being about the workspace's vocabulary."""
    carrying = MLModel.objects.filter(tags=tag).select_related("project")
    model = carrying.order_by("private", "-id").first()
    scope = {"project_id": None, "registered_model_id": None} if model is not None else {}
    record(kind=kind, actor=user, subject=tag, model=model, **scope, **values)


@transaction.atomic
def tag_create(*, user, workspace: Workspace, name: str, description: str = "") -> Tag:
    if not rules.can_edit_tags(user, workspace.pk):
        raise PermissionDenied("Viewers cannot create tags in this workspace.")
    tag = _save_tag(Tag(workspace=workspace), name=name, description=description)
    _record_tag("tag.created", user, tag, after=snapshot(tag, TAG_FIELDS))
    return tag


@transaction.atomic
def tag_update(*, tag: Tag, user, workspace: Workspace | None = None, **fields) -> Tag:
    """Describe or rename one of the workspace's tags; every model carrying it shows the change."""
    if not rules.can_edit_tags(user, tag.workspace_id):
        raise PermissionDenied("Viewers cannot change this workspace's tags.")
    if workspace is not None and workspace.pk != tag.workspace_id:
        raise ValidationError({"workspace_id": "A tag stays in its workspace; create one in the other workspace."})
    before = snapshot(tag, TAG_FIELDS)
    tag = _save_tag(tag, **fields)
    old, new = changes(before, snapshot(tag, TAG_FIELDS))
    if new:
        _record_tag("tag.renamed" if "name" in new else "tag.updated", user, tag, before=old, after=new)
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag, user) -> None:
    """Delete a tag; the models carrying it lose it and remain."""
    if not rules.can_delete_tag(user, tag):
        raise PermissionDenied("Only the workspace's owners can delete a tag that other people's models carry.")
    _record_tag("tag.deleted", user, tag, before=snapshot(tag, TAG_FIELDS))
    tag.delete()


@transaction.atomic
def model_tag_add(*, model: MLModel, tag: Tag, user) -> None:
    if not rules.can_edit_model(user, model):
        raise PermissionDenied("You cannot change this model's tags.")
    if tag.workspace_id != model.project.workspace_id:
        raise ValidationError({"tag": "This tag belongs to another workspace than the model's."})
    before = _tag_names_of(model)
    model.tags.add(tag)
    _record_tags(user, model, before)


@transaction.atomic
def model_tags_add(*, model: MLModel, names, user) -> None:
    """Add tags by name ("a, b" or a list), created in the model's workspace where missing."""
    if not rules.can_edit_model(user, model):
        raise PermissionDenied("You cannot change this model's tags.")
    before = _tag_names_of(model)
    model.tags.add(*tags_get_or_create(model.project.workspace_id, tag_names(names)))
    _record_tags(user, model, before)


@transaction.atomic
def model_tag_remove(*, model: MLModel, tag: Tag, user) -> None:
    if not rules.can_edit_model(user, model):
        raise PermissionDenied("You cannot change this model's tags.")
    before = _tag_names_of(model)
    model.tags.remove(tag)
    _record_tags(user, model, before)


def _tag_names_of(model: MLModel) -> list[str]:
    return sorted(model.tags.values_list("name", flat=True))


def _record_tags(user, model: MLModel, before: list[str]) -> None:
    after = _tag_names_of(model)
    if after != before:
        record(kind="model.tags_changed", actor=user, subject=model, before={"tags": before}, after={"tags": after})


def _record_model_changes(user, model: MLModel, before: dict) -> None:
    """`model.visibility_changed` for the private flag, `model.updated` for the other fields."""
    old, new = changes(before, snapshot(model, MODEL_FIELDS))
    if "private" in new:
        flag = {"before": {"private": old.pop("private")}, "after": {"private": new.pop("private")}}
        record(kind="model.visibility_changed", actor=user, subject=model, **flag)
    if new:
        record(kind="model.updated", actor=user, subject=model, before=old, after=new)


# ----------------------------------------------------------------------------- models


def _lock_projects(*ids: int) -> None:
    """Lock these project rows, lowest id first, until the transaction ends.

    Uploads lock their project so concurrent ones take version numbers one at a time; every
    write that changes a project's key counts (registry.keystats) takes the same lock before it
    locks a model row, so those rows change one transaction at a time and no two writers wait
    for each other in opposite orders (PostgreSQL; SQLite serialises writers with its IMMEDIATE
    transactions anyway).
    """
    list(Project.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk").values_list("pk", flat=True))


def _stored_state(model: MLModel) -> dict | None:
    """The model as its row holds it (what its key counts hold), locked; None if it is gone."""
    return MLModel.objects.select_for_update().filter(pk=model.pk).values(*keystats.STATE_FIELDS).first()


def _take_version(project: Project, name: str) -> tuple[RegisteredModel, int]:
    """The registered model of (project, name), created when missing, and the next number from
    its counter, taken under the project's row lock and then the registered model's: numbers
    are never handed out twice, and the counter outlives deleted versions, so never reused."""
    _lock_projects(project.pk)
    registered, _ = RegisteredModel.objects.select_for_update().get_or_create(project=project, name=name)
    registered.last_version += 1
    registered.save(update_fields=["last_version", "updated"])
    return registered, registered.last_version


def _record_if_first(user, model: MLModel) -> None:
    """`registered_model.created` when `model` took its registered model's first number: the
    counter starts at 0 only in a row just created (migration 0006 starts existing ones at
    their highest version). Seen by those who may see that first version (a private upload's
    name stays its uploader's), and recorded before the version's own event."""
    if model.version == 1:
        registered = model.registered_model
        after = {"name": registered.name, "project_id": registered.project_id}
        _record_registered_model("registered_model.created", user, registered, model, after=after)


def _refuse_if_aliased(model: MLModel, doing: str) -> None:
    names = sorted(Alias.objects.filter(version_id=model.pk).values_list("name", flat=True))
    if names:
        held = ", ".join(f"@{name}" for name in names)
        raise Conflict(f"Cannot {doing} {model}: {held} points at it. Move or remove the alias first.")


def _new_model(
    *,
    user,
    project: Project,
    name: str,
    hyperparameters: dict | None = None,
    parameters: dict | None = None,
    metrics: dict | None = None,
    dataset_name: str = "",
    dataset_description: str = "",
    git_branch: str = "",
    git_commit: str = "",
    git_remote_url: str = "",
    git_dirty: bool | None = None,
    private: bool = False,
) -> MLModel:
    """An unsaved model of `project` with its metadata and no file yet, if `user` may upload there.

    `git_remote_url` is stored without credentials (registry/provenance.py); `git_dirty` None
    means the uploader did not say."""
    if not rules.can_write_in_workspace(user, project.workspace_id):
        raise PermissionDenied("Viewers cannot upload models to this project.")
    return MLModel(
        project=project,
        uploader=user,
        name=name,
        version=1,  # the real number is taken under the lock in model_upload
        hyperparameters=hyperparameters if hyperparameters is not None else {},
        parameters=parameters if parameters is not None else {},
        metrics=metrics if metrics is not None else {},
        dataset_name=dataset_name,
        dataset_description=dataset_description,
        git_branch=git_branch,
        git_commit=git_commit,
        git_remote_url=provenance.strip_credentials(git_remote_url),
        git_dirty=git_dirty,
        private=private,
    )


def model_upload_check(*, user, project: Project, name: str, tags: Iterable[str] = (), **metadata) -> None:
    """Refuse what `model_upload` would refuse about the metadata alone, by the same rules,
    before the file is sent (the web form's first step). `metadata`: `_new_model`'s arguments."""
    model = _new_model(user=user, project=project, name=name, **metadata)
    file_fields = ["file", "file_name", "file_size", "file_sha256"]
    model.full_clean(exclude=[*file_fields, "version", "registered_model"], validate_constraints=False)
    tag_names(tags)


def model_upload(
    *, user, project: Project, name: str, file, tags: Iterable[str] = (), sha256: str = "", **metadata
) -> MLModel:
    """Store a model file and its row together, or neither: a one-file version, whose manifest
    is one entry and whose bytes are the blob of their SHA-256 (stored once however many versions
    hold them). `metadata`: `_new_model`'s arguments (hyperparameters, parameters, metrics,
    dataset_*, git_*, private). Always a new version (the documented API has always made one)."""
    _new_model(user=user, project=project, name=name, **metadata)  # the permission, before hashing
    digest = file_sha256(file)
    if sha256 and sha256.strip().lower() != digest:
        raise ValidationError({"sha256": f"The file's SHA-256 is {digest}, not the {sha256.strip()} you sent."})
    file_name = (file.name or "model")[:255]
    manifest = manifests.for_one_file(file_name, file.size, digest)
    model, _ = model_register(
        user=user,
        project=project,
        name=name,
        manifest=manifest,
        tags=tags,
        file_name=file_name,
        contents={digest: file},
        **metadata,
    )
    return model


def _same_digest(user, project: Project, name: str, digest: str) -> MLModel | None:
    """The newest version of (project, name) with this digest that `user` can read: only those,
    so the answer says nothing about versions they cannot see (docs/storage.md, "Dedupe")."""
    versions = MLModel.objects.visible_to(user).filter(project=project, name=name, digest=digest)
    return versions.order_by("-version").first()


def model_register(
    *,
    user,
    project: Project,
    name: str,
    manifest: manifests.Manifest,
    tags: Iterable[str] = (),
    file_name: str | None = None,
    contents: dict | None = None,
    new_version: bool = True,
    quota_exclude=None,
    finish=None,
    **metadata,
) -> tuple[MLModel, bool]:
    """Create a version of `manifest`'s files in one transaction, or nothing: (version, True); or
    (the existing version, False) when `new_version` is false and the caller can read a version
    of (project, name) with the same digest. The one write path of new versions: the single
    request upload and upload sessions (registry/upload_sessions/) both end here.

    Every blob must be stored already (blobs.put), or given in `contents` ({sha256: File}) to be
    stored again if a release removed it meanwhile; blobs.BlobMissing otherwise. The workspace's
    quota is checked under its row lock (`quota_exclude`: the session whose announced bytes these
    are). `finish()` runs inside the transaction once the version exists (a session deletes
    itself there). `file_name`: a one-file version's name (default: its path); a folder is
    `<name>.zip`. `metadata`: `_new_model`'s arguments."""
    model = _new_model(user=user, project=project, name=name, **metadata)
    one_file = len(manifest) == 1
    first = manifest.entries[0]
    if one_file:
        model.file_name, model.file_size, model.file_sha256 = (file_name or first.path)[:255], first.size, first.sha256
    else:
        model.file_name, model.file_size, model.file_sha256 = f"{name}.zip"[:255], manifest.total_size, ""
    model.digest = manifests.digest(manifest)
    model.full_clean(exclude=["file", "version", "registered_model"], validate_constraints=False)
    tag_list = tag_names(tags)
    sizes = {entry.sha256: entry.size for entry in manifest.entries}
    contents = contents or {}
    try:
        for sha, content in contents.items():
            blobs.put(content, sha)  # before the transaction: a large file is not copied while rows are locked
        with transaction.atomic():
            _lock_projects(project.pk)  # first, as every model write does; then the workspace's row
            workspace = Workspace.objects.select_for_update().get(pk=project.workspace_id)
            if not new_version and (existing := _same_digest(user, project, name, model.digest)) is not None:
                if finish is not None:
                    finish()
                return existing, False
            quotas.check(workspace, quotas.new_bytes(workspace.pk, sizes), exclude_session=quota_exclude)
            held = {sha: blobs.reference(sha, size, contents.get(sha)) for sha, size in sorted(sizes.items())}
            model.file.name = held[first.sha256].key if one_file else ""
            model.registered_model, model.version = _take_version(project, name)
            model.save()
            ManifestEntry.objects.bulk_create(
                [ManifestEntry(model=model, path=entry.path, blob=held[entry.sha256]) for entry in manifest.entries],
                batch_size=1000,
            )
            _record_if_first(user, model)
            keystats.record(added=[keystats.state(model)])
            model.tags.set(tags_get_or_create(project.workspace_id, tag_list))
            after = {**snapshot(model, MODEL_FIELDS), "tags": sorted(tag_list)}
            record(kind="model.created", actor=user, subject=model, after=after)
            introspect_on_commit(model)  # read its files' headers once it is committed (formats app)
            if finish is not None:
                finish()
    except BaseException:
        if contents:
            blobs.release(list(contents))  # only bytes no other version (or session) holds
        raise
    return model, True


@transaction.atomic
def model_update(*, model: MLModel, user, tags: Iterable[str] | None = None, **fields) -> MLModel:
    if not rules.can_edit_model(user, model):
        raise PermissionDenied("Only the uploader or the workspace's owners can change this model.")
    target = fields.get("project")
    moved = target is not None and target.pk != model.project_id
    if moved and not rules.can_write_in_workspace(user, target.workspace_id):
        raise PermissionDenied("You cannot move a model into a project where you cannot write.")
    _lock_projects(model.project_id, *([target.pk] if moved else []))
    before = _stored_state(model)
    if before is None:  # deleted by a parallel request: saving would insert it again
        raise Http404("No such model.")
    renamed = "name" in fields and fields["name"] != model.name
    if moved or renamed:
        # An alias names a version of one registered model; it does not follow the version away.
        _refuse_if_aliased(model, "rename or move")
    recorded, tags_before = snapshot(model, MODEL_FIELDS), _tag_names_of(model) if tags is not None else None
    if "git_remote_url" in fields:
        fields["git_remote_url"] = provenance.strip_credentials(fields["git_remote_url"])
    for key, value in fields.items():
        setattr(model, key, value)
    if moved or renamed:
        # The version joins the registered model of its new (project, name), created if
        # missing, and takes the next number there; its old number is not handed out again.
        model.registered_model, model.version = _take_version(model.project, model.name)
    model.full_clean(exclude=["file"])
    model.save()
    if moved or renamed:
        _record_if_first(user, model)
    keystats.record(added=[keystats.state(model)], removed=[before] if before else [])
    _record_model_changes(user, model, recorded)
    if tags is not None:
        model.tags.set(tags_get_or_create(model.project.workspace_id, tag_names(tags)))
        _record_tags(user, model, tags_before)
    elif moved:
        _tags_follow_workspace([model.pk], model.project.workspace_id)
    return model


@transaction.atomic
def models_without_files_remove(file_names: Iterable[str]) -> int:
    """`maisie_fsck --fix`: delete the models whose stored file is gone (no user: an operator's
    repair), uncounting them as model_delete does, with the same locks in the same order."""
    gone = MLModel.objects.filter(file__in=list(file_names))
    _lock_projects(*gone.values_list("project_id", flat=True).distinct())
    states = list(gone.select_for_update().values("id", *keystats.STATE_FIELDS))
    ids = [state["id"] for state in states]
    for model in MLModel.objects.filter(pk__in=ids).select_related("project"):
        record(kind="model.deleted", actor=None, subject=model, before=snapshot(model, MODEL_FIELDS))
    # An alias on a version whose file is lost can no longer be downloaded: it goes with it.
    lost = Alias.objects.filter(version_id__in=ids)
    for alias in lost.select_related("version__project", "registered_model"):
        _record_alias("alias.removed", None, alias, alias.version, before=alias.version)
        alias.delete()
    shas = _blobs_of(MLModel.objects.filter(pk__in=ids))
    MLModel.objects.filter(pk__in=ids).delete()
    keystats.record(removed=states)
    blobs.release_on_commit(shas)
    return len(states)


@transaction.atomic
def model_delete(*, model: MLModel, user) -> None:
    if not rules.can_edit_model(user, model):
        raise PermissionDenied("Only the uploader or the workspace's owners can delete this model.")
    _lock_projects(model.project_id)
    before = _stored_state(model)  # locks the row: a parallel delete of it waits here, then finds none
    if before is None:
        raise Http404("No such model.")
    _refuse_if_aliased(model, "delete")
    shas = _blobs_of([model])
    record(kind="model.deleted", actor=user, subject=model, before=snapshot(model, MODEL_FIELDS))
    model.delete()
    keystats.record(removed=[before])
    # Its blobs go once the delete has committed, unless another version holds the same bytes.
    blobs.release_on_commit(shas)


# ----------------------------------------------------------------------------- registered models


def _representative(registered_model: RegisteredModel) -> MLModel | None:
    """The version whose visibility an event about the whole registered model takes (events show
    a user only events about versions they may see): a public one if any, else the newest. So
    the events of a registered model of one person's private versions stay theirs."""
    versions = MLModel.objects.filter(registered_model_id=registered_model.pk).select_related("project")
    return versions.order_by("private", "-version").first()


def _record_registered_model(kind: str, user, registered_model: RegisteredModel, model: MLModel | None, **values):
    scope = {"registered_model_id": registered_model.pk, "project_id": registered_model.project_id}
    record(kind=kind, actor=user, subject=registered_model, model=model, **scope, **values)


@transaction.atomic
def registered_model_update(*, registered_model: RegisteredModel, user, description: str) -> RegisteredModel:
    """Change the model card (Markdown)."""
    if not rules.can_edit_registered_model(user, registered_model):
        raise PermissionDenied("Viewers cannot change this registered model.")
    before = snapshot(registered_model, ["description"])
    registered_model = _save(registered_model, description=description)
    old, new = changes(before, snapshot(registered_model, ["description"]))
    if new:
        model = _representative(registered_model)
        _record_registered_model("registered_model.updated", user, registered_model, model, before=old, after=new)
    return registered_model


@transaction.atomic
def registered_model_delete(*, registered_model: RegisteredModel, user) -> None:
    """Delete every version (other members' private ones too: an owner may delete any model of
    the workspace), the aliases and the card. The row stays, invisible with no versions, so
    its counter goes on: a new upload of the name does not reuse a deleted version's number."""
    if not rules.can_delete_registered_model(user, registered_model):
        raise PermissionDenied("Only the workspace's owners can delete a registered model.")
    _lock_projects(registered_model.project_id)
    locked = RegisteredModel.objects.select_for_update().filter(pk=registered_model.pk).first()
    versions = MLModel.objects.filter(registered_model_id=registered_model.pk)
    states = list(versions.select_for_update().values("id", *keystats.STATE_FIELDS))
    if locked is None or not states:  # deleted by a parallel request
        raise Http404("No such registered model.")
    model = _representative(locked)
    for alias in Alias.objects.filter(registered_model_id=locked.pk).select_related("version__project"):
        _record_alias("alias.removed", user, alias, alias.version, before=alias.version)
        alias.delete()
    gone = MLModel.objects.filter(pk__in=[state["id"] for state in states]).select_related("project")
    for version in gone:
        record(kind="model.deleted", actor=user, subject=version, before=snapshot(version, MODEL_FIELDS))
    before = {"name": locked.name, "description": locked.description}
    _record_registered_model("registered_model.deleted", user, locked, model, before=before)
    shas = _blobs_of(gone)
    gone.delete()
    keystats.record(removed=[{key: state[key] for key in keystats.STATE_FIELDS} for state in states])
    locked.description = ""
    locked.save(update_fields=["description", "updated"])
    blobs.release_on_commit(shas)


def checked_alias_name(name: str) -> str:
    """`name`, or a ValidationError (400 on `alias`) saying what an alias name is."""
    try:
        validate_alias_name(name)
    except ValidationError:
        raise ValidationError({"alias": f"{name[:70]!r} is not an alias name: an alias is {ALIAS_RULE}."}) from None
    return name


def registered_model_lock(registered_model: RegisteredModel) -> RegisteredModel:
    """The project's row lock (taken first by every model write), then the registered model's:
    alias writes on one registered model happen one at a time, and never beside a delete,
    rename or move of one of its versions. promotions/services.py takes it before reading the
    rules, so the alias cannot move between their evaluation and the move."""
    _lock_projects(registered_model.project_id)
    locked = RegisteredModel.objects.select_for_update().filter(pk=registered_model.pk).first()
    if locked is None:
        raise Http404("No such registered model.")
    return locked


@transaction.atomic
def alias_set(
    *, registered_model: RegisteredModel, name: str, version: int, user, rolled_back: bool = False
) -> tuple[Alias, int | None]:
    """Point alias `name` at version number `version`, creating or moving it. Returns the alias
    and the version it pointed at before (None when new). One row per alias, changed under the
    registered model's lock: at no instant do two versions hold it, and of two concurrent moves
    the second sees (and replaces) the first's. `rolled_back` records the move as
    `alias.rolled_back` (a rollback to the previous target).

    The raw move: it checks the workspace role only, not the project's alias rules. Views and
    forms call promotions.services.alias_put / alias_rollback, which check the rules first."""
    if not rules.can_set_alias(user, registered_model):
        raise PermissionDenied("Viewers cannot set aliases.")
    name = checked_alias_name(name)
    registered_model = registered_model_lock(registered_model)
    target = (
        MLModel.objects.select_for_update()  # a delete of it waits, then sees the alias (409)
        .filter(version_seen(user), registered_model_id=registered_model.pk, version=version)
        .first()
    )
    if target is None:
        raise ValidationError({"version": f"{registered_model.name} has no version {version}."})
    alias = Alias.objects.filter(registered_model_id=registered_model.pk, name=name).select_related("version").first()
    previous = alias.version if alias is not None else None
    if previous is not None and previous.pk == target.pk:
        alias.version_number = target.version  # already there: nothing changes, nothing recorded
        return alias, target.version
    if alias is None:
        alias = Alias(registered_model=registered_model, name=name)
    alias.version, alias.set_by, alias.set_at = target, user, timezone.now()
    alias.save()
    alias.version_number = target.version
    kind = "alias.rolled_back" if rolled_back else "alias.set" if previous is None else "alias.moved"
    _record_alias(kind, user, alias, target, before=previous, after=target)
    return alias, previous.version if previous is not None else None


def _record_alias(kind: str, user, alias: Alias, model: MLModel, before=None, after=None) -> None:
    """An alias event, scoped by the version it now names (or named), with the versions before
    and after as number and model id: what `as of` answers will be read from."""

    def pointing(version: MLModel | None) -> dict | None:
        return None if version is None else {"alias": alias.name, "version": version.version, "model_id": version.pk}

    name = f"{alias.registered_model.name}@{alias.name}"
    record(
        kind=kind,
        actor=user,
        subject=alias,
        model=model,
        subject_name=name,
        before=pointing(before),
        after=pointing(after),
    )


@transaction.atomic
def alias_remove(*, registered_model: RegisteredModel, name: str, user) -> None:
    """The raw removal, like alias_set: views call promotions.services.alias_remove (the rules)."""
    if not rules.can_set_alias(user, registered_model):
        raise PermissionDenied("Viewers cannot remove aliases.")
    name = checked_alias_name(name)
    registered_model = registered_model_lock(registered_model)
    aliases = Alias.objects.visible_to(user).select_related("version__project", "registered_model")
    alias = aliases.filter(registered_model_id=registered_model.pk, name=name).first()
    if alias is None:
        raise Http404(f"No alias {name!r} on this registered model.")
    _record_alias("alias.removed", user, alias, alias.version, before=alias.version)
    alias.delete()
