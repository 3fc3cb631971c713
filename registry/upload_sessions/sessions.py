"""Upload sessions: a version's files sent in numbered parts, resumable, checked before any byte
(docs/storage.md, "Upload sessions"). Every write to sessions goes through here; the version
itself is created by `services.model_register`, the same write path as the single-request upload.

Where parts go: on the file system they are appended to `<data dir>/uploads/<session>/<sha256>`
and fsynced before they are acknowledged; on S3 each is spooled to one temporary file and stored
as its own object, `uploads/<session>/<sha256>/<n>-<random>`, and the blob is assembled into its
final key by UploadPartCopy once it is verified (S3 cannot read back an unfinished multipart
upload's parts, which rebuilding the hash needs). Blob keys only ever receive verified bytes.
"""

import base64
import binascii
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.http import UnreadablePostError
from django.utils import timezone
from rest_framework import exceptions, status

from maisie_site.api_errors import ExplainedHttp404, PayloadTooLarge
from registry import blobs, manifests, quotas, rules, services
from registry.models import ManifestEntry, MLModel, UploadSession, UploadSessionBlob
from registry.uploads import storage_error

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload
S3_PART_PREFIX = "uploads"
# Bytes read at a time when a hash is rebuilt from what was received.
READ_BYTES = 1024 * 1024


class SessionConflict(exceptions.APIException):
    """409 with fields a program reads: `code` and what the state is."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, message: str, **fields):
        super().__init__(message)
        self.error_fields = fields


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = "A part needs an exact Content-Length."
    default_code = "length_required"


class PartRefused(exceptions.ValidationError):
    """400 about a part's bytes (cut short, not matching its Content-Digest, a blob whose SHA-256
    is not the manifest's), with a `code`: the part was dropped whole and not acknowledged."""

    def __init__(self, message: str, code: str, **fields):
        super().__init__({"part": [message]})
        self.error_fields = {"code": code, **fields}


# ----------------------------------------------------------------------------- sizes and times


def part_size_for(size: int) -> int:
    """MAISIE_UPLOAD_PART_BYTES, raised (to whole MiB) for a blob that would need more than MAX_PARTS."""
    least = -(-size // MAX_PARTS)
    if least <= settings.MAISIE_UPLOAD_PART_BYTES:
        return settings.MAISIE_UPLOAD_PART_BYTES
    return -(-least // MiB) * MiB


def part_count(blob: UploadSessionBlob) -> int:
    """A blob of 0 bytes is one empty part."""
    return max(1, -(-blob.size // blob.part_size))


def _expires():
    return timezone.now() + timedelta(seconds=settings.MAISIE_UPLOAD_SESSION_TTL)


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


# ----------------------------------------------------------------------------- parts

# The running SHA-256 of blobs this process received parts of, by (session, sha256): (offset, hash).
# A miss (another worker took the last part, a restart) rebuilds it from the bytes received.
_HASHES: OrderedDict[tuple[str, str], tuple[int, object]] = OrderedDict()
_HASHES_LOCK = threading.Lock()
_HASHES_KEPT = 256


def _cached_hash(key, offset: int):
    with _HASHES_LOCK:
        entry = _HASHES.pop(key, None)
    if entry is not None and entry[0] == offset:
        return entry[1]
    return None


def _keep_hash(key, offset: int, running) -> None:
    with _HASHES_LOCK:
        _HASHES[key] = (offset, running)
        while len(_HASHES) > _HASHES_KEPT:
            _HASHES.popitem(last=False)


_CONTENT_DIGEST = re.compile(r"(?:^|,)\s*sha-256\s*=\s*:([A-Za-z0-9+/=]*):\s*(?:,|$)", re.IGNORECASE)


def parse_content_digest(header: str | None) -> bytes | None:
    """The SHA-256 an RFC 9530 `Content-Digest: sha-256=:<base64>:` header names; None without one."""
    if header is None:
        return None
    match = _CONTENT_DIGEST.search(header)
    if match is None:
        raise ValidationError({"Content-Digest": ["Give the part's SHA-256 as sha-256=:<base64>:."]})
    try:
        value = base64.b64decode(match.group(1), validate=True)
    except (binascii.Error, ValueError):
        value = b""
    if len(value) != 32:
        raise ValidationError({"Content-Digest": ["sha-256 must be the base64 of 32 bytes."]})
    return value


def uploads_root() -> Path:
    """`<data dir>/uploads`: beside the media folder, so a verified blob is renamed into place."""
    return Path(blobs.storage().location).parent / "uploads"


def _part_dir(session_id) -> Path:
    return uploads_root() / str(session_id)


def receive_part(*, session: UploadSession, sha256: str, number: int, length: int | None, digest_header, body):
    """Take part `number` of blob `sha256` from `body` (an object whose `chunks()` yields the
    request body's bytes; not called when the part is refused or already acknowledged). Returns
    the blob's row after the part. See docs/storage.md for the rules."""
    blob = session.blobs.filter(sha256=sha256, needed=True).first()
    if blob is None:
        raise ExplainedHttp404("This upload session does not need a blob of that SHA-256.")
    count = part_count(blob)
    if not 0 <= number < count:
        raise ValidationError({"part": [f"This blob has parts 0 to {count - 1}, not {number}."]})
    start = number * blob.part_size
    expected = min(blob.part_size, blob.size - start)
    if length is None:
        raise LengthRequired()
    if length != expected:
        raise ValidationError({"Content-Length": [f"Part {number} of this blob is {expected} bytes, not {length}."]})
    wanted_digest = parse_content_digest(digest_header)
    if blob.verified or start < blob.received:
        return blob  # acknowledged already: a retry after a lost answer stores nothing
    if start > blob.received:
        raise _out_of_order(blob)
    receive = _receive_s3 if blobs.is_s3(blobs.storage()) else _receive_file
    try:
        return receive(session, blob, number, expected, wanted_digest, body)
    except UnreadablePostError:
        raise  # the client's connection broke: api_errors answers it
    except OSError as exc:  # a full disk, an unwritable folder: the server's fault, never a 400
        raise storage_error(exc) from exc


def _out_of_order(blob: UploadSessionBlob) -> SessionConflict:
    return SessionConflict(
        f"Parts of a blob arrive in order: send from byte {blob.received} (part {blob.received // blob.part_size}).",
        code="out_of_order",
        received=blob.received,
    )


def _take_body(body, expected: int, running, writer) -> bytes:
    """Read the part, handing each chunk to `writer` and both hashes; the part's SHA-256."""
    part_hash = hashlib.sha256()
    got = 0
    for chunk in body.chunks():
        got += len(chunk)
        if got > expected:
            break
        writer(chunk)
        part_hash.update(chunk)
        running.update(chunk)
    if got != expected:
        raise PartRefused(
            f"The part was {expected} bytes; {got} arrived. Nothing of it was kept: send it again.",
            "short_body" if got < expected else "long_body",
        )
    return part_hash.digest()


def _check_part(blob: UploadSessionBlob, part_digest: bytes, wanted: bytes | None) -> None:
    if wanted is not None and part_digest != wanted:
        raise PartRefused(
            "The part's bytes do not match its Content-Digest; nothing of it was kept: send it again.",
            "digest_mismatch",
            received=blob.received,
        )


def _verified(blob: UploadSessionBlob, running) -> bool:
    return running.hexdigest() == blob.sha256


def _sha_mismatch(blob: UploadSessionBlob) -> PartRefused:
    return PartRefused(
        f"The blob's bytes do not have the SHA-256 {blob.sha256} the manifest says; they were"
        " discarded: send the blob again from part 0.",
        "sha256_mismatch",
        received=0,
    )


def _acknowledge(blob: UploadSessionBlob, start: int, added: int, last: bool, **fields) -> bool:
    """Record the part in the database if nobody did meanwhile; whether this request did."""
    done = UploadSessionBlob.objects.filter(pk=blob.pk, received=start, verified=False).update(
        received=start + added, verified=last, **fields
    )
    if done:
        UploadSession.objects.filter(pk=blob.session_id).update(expires=_expires())
        blob.received, blob.verified = start + added, last
        for key, value in fields.items():
            setattr(blob, key, value)
    return bool(done)


def _reset(blob: UploadSessionBlob) -> None:
    UploadSessionBlob.objects.filter(pk=blob.pk).update(received=0, verified=False, parts=[])
    blob.received, blob.verified, blob.parts = 0, False, []


def _receive_file(session, blob, number, expected, wanted, body):
    folder = _part_dir(session.pk)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / blob.sha256, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        # One request at a time per blob (a client's retry may overlap the first attempt).
        fcntl.flock(fd, fcntl.LOCK_EX)
        blob.refresh_from_db()
        start = number * blob.part_size
        if blob.verified or start < blob.received:
            return blob
        if start > blob.received:
            raise _out_of_order(blob)
        on_disk = os.fstat(fd).st_size
        if on_disk < blob.received:  # bytes lost behind our back (a restored disk): start the blob again
            _reset(blob)
            os.ftruncate(fd, 0)
            raise _out_of_order(blob)
        os.ftruncate(fd, start)  # a part written but never acknowledged (a crash) goes
        key = (str(session.pk), blob.sha256)
        running = _cached_hash(key, start)
        if running is None:
            running = _rebuilt(lambda: _file_chunks(fd, start))
        os.lseek(fd, start, os.SEEK_SET)
        try:
            part_digest = _take_body(body, expected, running, lambda chunk: _write_all(fd, chunk))
            _check_part(blob, part_digest, wanted)
            os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, start)
            raise
        last = start + expected == blob.size
        if last and not _verified(blob, running):
            os.ftruncate(fd, 0)
            _reset(blob)
            raise _sha_mismatch(blob)
        if _acknowledge(blob, start, expected, last):
            _keep_hash(key, start + expected, running)
        return blob
    finally:
        os.close(fd)  # and with it the lock


def _write_all(fd: int, chunk) -> None:
    view = memoryview(chunk)
    while view:
        view = view[os.write(fd, view) :]


def _file_chunks(fd: int, end: int):
    offset = 0
    while offset < end:
        chunk = os.pread(fd, min(READ_BYTES, end - offset), offset)
        if not chunk:
            raise OSError(f"part file ended at {offset} of {end} bytes")
        offset += len(chunk)
        yield chunk


def _rebuilt(chunks):
    running = hashlib.sha256()
    for chunk in chunks():
        running.update(chunk)
    return running


def _s3_client():
    store = blobs.storage()
    return store.connection.meta.client, store.bucket_name


def _receive_s3(session, blob, number, expected, wanted, body):
    start = number * blob.part_size
    key = (str(session.pk), blob.sha256)
    running = _cached_hash(key, start)
    if running is None:
        running = _rebuilt(lambda: _object_chunks(blob.parts))
    client, bucket = _s3_client()
    with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as spool:
        part_digest = _take_body(body, expected, running, spool.write)
        _check_part(blob, part_digest, wanted)
        last = start + expected == blob.size
        if last and not _verified(blob, running):
            _delete_objects(blob.parts)
            _reset(blob)
            raise _sha_mismatch(blob)
        spool.seek(0)
        name = f"{S3_PART_PREFIX}/{session.pk}/{blob.sha256}/{number}-{uuid.uuid4().hex[:12]}"
        client.upload_fileobj(spool, bucket, name)
    if _acknowledge(blob, start, expected, last, parts=[*blob.parts, name]):
        _keep_hash(key, start + expected, running)
        return blob
    _delete_objects([name])  # another request took this part first
    blob.refresh_from_db()
    return blob


def _object_chunks(names):
    for name in names:
        with contextlib.closing(blobs.open_key(name)) as reader:
            while chunk := reader.read(READ_BYTES):
                yield chunk


def _delete_objects(names) -> None:
    if not names:
        return
    client, bucket = _s3_client()
    for start in range(0, len(names), 1000):
        batch = [{"Key": name} for name in names[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


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


def _assemble(blob: UploadSessionBlob, key: str) -> None:
    """S3: the verified part objects copied into the blob's key by one multipart upload,
    server-side; completed only when every part is copied, aborted otherwise."""
    client, bucket = _s3_client()
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        done = []
        for index, name in enumerate(blob.parts, start=1):
            copied = client.upload_part_copy(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=index, CopySource={"Bucket": bucket, "Key": name}
            )
            done.append({"ETag": copied["CopyPartResult"]["ETag"], "PartNumber": index})
        if not done:  # an empty blob: one empty part
            part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"")
            done.append({"ETag": part["ETag"], "PartNumber": 1})
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done})
    except BaseException:
        with contextlib.suppress(Exception):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


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


def _remove_parts(session_id, rows) -> None:
    """The session's received bytes that are not blobs (the session's rows are gone already)."""
    shutil.rmtree(_part_dir(session_id), ignore_errors=True)
    if blobs.is_s3(blobs.storage()):
        with contextlib.suppress(Exception):
            _delete_objects([name for row in rows for name in row.parts])


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
