"""Sessions: finding one, opening one (everything checked but the bytes), completing it into a
version, aborting it, expiring those whose time ran out."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from maisie_site.api_errors import ExplainedHttp404, PayloadTooLarge
from registry import blobs, manifests, quotas, rules, services
from registry.models import ManifestEntry, MLModel, UploadSession, UploadSessionBlob
from registry.upload_sessions.errors import SessionConflict
from registry.upload_sessions.limits import _expires, part_size_for
from registry.upload_sessions.parts import _reset
from registry.upload_sessions.stored import _assemble, _part_dir, _remove_parts

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- finding sessions


def session_for(user, session_id) -> UploadSession:
    """The open session `session_id` of `user` (404 for anybody else's, or an expired one), while
    they may still upload to its project (403 once they may not)."""
    session = (
        UploadSession.objects.filter(pk=session_id, user_id=user.pk, expires__gt=timezone.now())
        .select_related("project")
        .first()
    )
    if session is None:
        raise ExplainedHttp404("No such upload session (it may have expired, completed or been aborted).")
    if not rules.can_write_in_workspace(user, session.project.workspace_id):
        raise PermissionDenied("You can no longer upload models to this project.")
    return session


# ----------------------------------------------------------------------------- opening


def open_session(
    *, user, project, name: str, files, new_version: bool = False, tags=(), **metadata
) -> tuple[UploadSession | None, MLModel | None]:
    """Check everything about the upload but its bytes, then open its session: (session, None);
    or (None, the version) when the caller can read a version of (project, name) with the same
    digest and `new_version` is false. `metadata`: `services._new_model`'s arguments."""
    services.model_upload_check(user=user, project=project, name=name, tags=tags, **metadata)
    try:
        manifest = manifests.from_json(files)
    except manifests.ManifestError as error:
        raise ValidationError({"files": [str(error)]}) from None
    sizes: dict[str, int] = {}
    for entry in manifest.entries:
        if sizes.setdefault(entry.sha256, entry.size) != entry.size:
            raise ValidationError({"files": [f"{entry.path!r}: one SHA-256 cannot have two sizes."]})
        if entry.size > settings.MAISIE_MAX_UPLOAD_BYTES:
            error = PayloadTooLarge(
                f"{entry.path!r} is {entry.size} bytes; this server accepts files of at most"
                f" {settings.MAISIE_MAX_UPLOAD_BYTES} bytes."
            )
            error.error_fields = {"code": "too_large", "path": entry.path}
            raise error
    digest = manifests.digest(manifest)
    if not new_version and (existing := services._same_digest(user, project, name, digest)) is not None:
        return None, existing
    announced = quotas.new_bytes(project.workspace_id, sizes)
    quotas.check(project.workspace, announced)
    # Skipped only when the caller can already read a version holding the blob: then sending
    # it would tell them nothing. Otherwise its bytes come, even if someone else has them.
    readable = set(
        ManifestEntry.objects.filter(blob_id__in=list(sizes), model__in=MLModel.objects.visible_to(user))
        .values_list("blob_id", flat=True)
        .distinct()
    )
    with transaction.atomic():
        skipped = set()
        for sha in sorted(readable):
            try:
                blobs.reference(sha, sizes[sha])  # present, and held: a release waits for this row
            except blobs.BlobMissing:
                continue  # its bytes are gone (fsck has work to do): the client sends them again
            skipped.add(sha)
        session = UploadSession.objects.create(
            user=user,
            project=project,
            name=name,
            metadata={**metadata, "tags": services.tag_names(tags)},
            files=manifests.to_json(manifest),
            digest=digest,
            new_version=new_version,
            announced_bytes=announced,
            expires=_expires(),
        )
        UploadSessionBlob.objects.bulk_create(
            UploadSessionBlob(
                session=session,
                sha256=sha,
                size=size,
                needed=sha not in skipped,
                part_size=part_size_for(size),
            )
            for sha, size in sorted(sizes.items())
        )
    return session, None


# ----------------------------------------------------------------------------- completing


class _PartFile(File):
    """A verified part file that file-system storage moves into place (a rename, no copy)."""

    def temporary_file_path(self):
        return self.file.name


class _AlreadyStored(File):
    """The content of a blob whose bytes are under its key already: never read (blobs.put finds
    the key), and if it ever were, no bytes rather than wrong ones."""

    def __init__(self, sha256: str):
        super().__init__(None, name=blobs.blob_key(sha256))
        self.sha256 = sha256

    def chunks(self, chunk_size=None):
        raise blobs.BlobMissing(self.sha256)

    def read(self, *args):
        raise blobs.BlobMissing(self.sha256)

    def close(self):
        pass


def _content(session: UploadSession, blob: UploadSessionBlob) -> File:
    """What `services.model_register` stores a verified blob from: on the file system its part
    file (renamed into place unless the blob is stored already, then discarded with the
    session); on S3 the blob is assembled into its key first."""
    store = blobs.storage()
    key = blobs.blob_key(blob.sha256)
    if blobs.is_s3(store):
        if not store.exists(key):
            _assemble(blob, key)
        return _AlreadyStored(blob.sha256)
    path = _part_dir(session.pk) / blob.sha256
    if path.exists():
        return _PartFile(open(path, "rb"), name=key)  # closed by complete()
    if store.exists(key):  # moved by an earlier attempt whose transaction failed
        return _AlreadyStored(blob.sha256)
    _reset(blob)
    raise SessionConflict(
        "A blob of this session is no longer stored: send it again.", code="blobs_missing", missing=[blob.sha256]
    )


def complete(*, session: UploadSession, user) -> tuple[MLModel, bool]:
    """Create the session's version once every needed blob is verified: (version, True), or
    (the existing version, False) when one of the same digest the caller can read appeared
    meanwhile and a new version was not asked for. The session is gone afterwards."""
    needed = list(session.blobs.filter(needed=True))
    missing = [blob.sha256 for blob in needed if not blob.verified]
    if missing:
        raise SessionConflict(
            f"{len(missing)} blob(s) are not complete yet.", code="blobs_missing", missing=sorted(missing)
        )
    contents = {blob.sha256: _content(session, blob) for blob in needed}
    metadata = dict(session.metadata)
    tags = metadata.pop("tags", [])

    def finish():
        # Deleting the session here hands its blob references to the version's entries at once;
        # a second `complete` of the same session finds nothing to delete and rolls back.
        _, deleted = UploadSession.objects.filter(pk=session.pk).delete()
        if not deleted.get(UploadSession._meta.label):
            raise SessionConflict("This upload session was completed or aborted meanwhile.", code="gone")

    try:
        model, created = services.model_register(
            user=user,
            project=session.project,
            name=session.name,
            manifest=manifests.from_json(session.files),
            tags=tags,
            new_version=session.new_version,
            contents=contents,
            quota_exclude=session.pk,
            finish=finish,
            **metadata,
        )
    except blobs.BlobMissing as error:
        raise SessionConflict(
            "A blob this session counted on is no longer stored: open a new upload session.",
            code="blobs_missing",
            missing=[str(error)],
        ) from None
    finally:
        for content in contents.values():
            content.close()
    _remove_parts(session.pk, needed)
    return model, created


# ----------------------------------------------------------------------------- ending


def abort(session: UploadSession) -> None:
    """Delete the session, its parts and the blobs only it held (a blob placed by a `complete`
    whose transaction failed, say)."""
    rows = list(session.blobs.all())
    UploadSession.objects.filter(pk=session.pk).delete()
    _remove_parts(session.pk, rows)
    try:
        blobs.release([row.sha256 for row in rows if row.needed])
    except Exception:
        logger.exception("could not release the blobs of upload session %s; maisie_gc will", session.pk)


def expire(now=None) -> list[str]:
    """Delete the sessions whose time ran out, with their part files and part objects; their ids.
    `manage.py maisie_gc` calls this first."""
    now = now or timezone.now()
    gone = []
    for session in UploadSession.objects.filter(expires__lte=now).order_by("expires"):
        abort(session)
        gone.append(str(session.pk))
    return gone
