"""Receiving parts: the running-hash cache, Content-Digest, `receive_part` and its file and S3
receivers, and recording (or undoing) what was acknowledged."""

import base64
import binascii
import fcntl
import hashlib
import os
import re
import tempfile
import threading
import uuid
from collections import OrderedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import UnreadablePostError

from maisie_site.api_errors import ExplainedHttp404
from registry import blobs
from registry.models import UploadSession, UploadSessionBlob
from registry.upload_sessions.errors import LengthRequired, PartRefused, SessionConflict
from registry.upload_sessions.limits import S3_PART_PREFIX, _expires, part_count
from registry.upload_sessions.stored import (
    _delete_objects,
    _file_chunks,
    _object_chunks,
    _part_dir,
    _s3_client,
    _write_all,
)
from registry.uploads import storage_error

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


def _rebuilt(chunks):
    running = hashlib.sha256()
    for chunk in chunks():
        running.update(chunk)
    return running


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
