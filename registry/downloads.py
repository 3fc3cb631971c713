"""Serving a model's files: each streamed, with its digest, resumable with `Range`.

Shared by the API's download endpoints and the web UI's download button. A file is served from
its blob (registry/blobs.py); a folder version's `download/` is a zip of its blobs
(registry/archives.py).
"""

import base64
import contextlib
import logging
import os
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header
from rest_framework.exceptions import APIException

from formats import unsafe
from maisie_site.api_errors import ExplainedHttp404
from registry import blobs, manifests
from registry.models import ManifestEntry

logger = logging.getLogger(__name__)

# Offsets of more than 30 digits are past any file (and int() refuses over 4,300 digits): such a
# header does not match and is ignored, as RFC 9110 allows for a Range it does not understand.
_RANGE = re.compile(r"^bytes=(\d{0,30})-(\d{0,30})$")
BLOCK = 1024 * 1024


class StoredFileDamaged(APIException):
    """The stored bytes are not the ones recorded: served, they would carry a false ETag/Digest."""

    status_code = 500
    default_detail = "The model's stored file does not match its record; an administrator can run maisie_fsck --verify."
    default_code = "stored_file_damaged"


@dataclass(frozen=True)
class Stored:
    """One file as a download serves it: where its bytes are, what they must be, its name."""

    key: str
    sha256: str
    size: int
    filename: str


def one_file(model) -> Stored:
    """A one-file version's file: what its `download/` has always served."""
    return Stored(key=model.file.name, sha256=model.file_sha256, size=model.file_size, filename=model.file_name)


def entry_file(entry: ManifestEntry) -> Stored:
    """One file of a version's manifest, named for a download by its path's last part."""
    blob = entry.blob
    return Stored(key=blob.key, sha256=blob.sha256, size=blob.size, filename=entry.path.rsplit("/", 1)[-1])


def manifest_entry(model, path: str) -> ManifestEntry:
    """The entry of `model`'s manifest at `path` (as a URL gives it), with its blob; a 404 for
    any other path. The path is checked by the manifest rules first, so nothing a manifest could
    not hold (`..`, a NUL, a backslash) reaches the database, and only a blob this version
    references can ever be served."""
    try:
        wanted = manifests.normalise_path(unicodedata.normalize("NFC", path))
    except manifests.ManifestError:
        wanted = None
    entry = None
    if wanted is not None:
        entry = ManifestEntry.objects.select_related("blob").filter(model=model, path=wanted).first()
    if entry is None:
        raise ExplainedHttp404(f"Version {model.version} of {model.name} has no file {path[:200]!r}.")
    return entry


def _digest_headers(response, sha256: str) -> None:
    digest = base64.b64encode(bytes.fromhex(sha256)).decode()
    response["ETag"] = f'"{sha256}"'
    response["Digest"] = f"sha-256={digest}"  # RFC 3230's, which published clients read
    response["Repr-Digest"] = f"sha-256=:{digest}:"  # RFC 9530's, its successor
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-transform"


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, end inclusive) for one byte range; None to send it all; "bad" if unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None  # multi-range and malformed ranges: RFC 9110 lets us ignore them
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0:
            return "bad"
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "bad"
    return start, end


def wanted_range(request, size: int, etag: str) -> tuple[int, int] | str | None:
    """The request's `Range` over `size` bytes (see parse_range), if it applies: no `If-Range`,
    or one naming this strong ETag (a date never matches: the bytes are named by their hash)."""
    header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if not header or (if_range and if_range != f'"{etag}"'):
        return None
    return parse_range(header, size)


def unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse(status=416)
    response["Content-Range"] = f"bytes */{size}"
    return response


def _presigned_url(stored: Stored) -> str | None:
    if not (getattr(settings, "MAISIE_S3_BUCKET", "") and settings.MAISIE_S3_PRESIGNED_DOWNLOADS):
        return None
    disposition = content_disposition_header(as_attachment=True, filename=stored.filename)
    return blobs.storage().url(
        stored.key,
        parameters={"ResponseContentDisposition": disposition, "ResponseContentType": "application/octet-stream"},
    )


def _stored_size(fileobj) -> int | None:
    """The size of what was opened: a file's, or an S3 GET's Content-Length; None if unknown."""
    try:
        return os.fstat(fileobj.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        pass
    length = getattr(fileobj, "_content_length", None)  # botocore's StreamingBody
    return int(length) if length is not None else None


def check_size(key: str, fileobj, expected: int) -> None:
    """A stored file whose size is not the recorded one is damaged (cut short, or replaced): a
    stat (or the GET's own header) finds it at no cost, where re-hashing every download would
    cost a core per GB/s. Same size, other bytes is left to `maisie_fsck --verify`."""
    size = _stored_size(fileobj)
    if size is not None and size != expected:
        fileobj.close()
        logger.error("stored file %s is %s bytes, not %s", key, size, expected)
        raise StoredFileDamaged()


def open_checked(stored: Stored, wanted: tuple[int, int] | None = None):
    """The stored bytes (all, or the wanted range) to read, their size checked; a JSON 404 when
    they are gone from storage."""
    try:
        fileobj = blobs.open_key(stored.key, wanted)
    except FileNotFoundError:
        raise ExplainedHttp404(
            "The model's file is missing from storage; an administrator can run maisie_fsck."
        ) from None
    # An S3 GET of a range reports that range's length; a local file is stat'ed whole.
    ranged_get = wanted is not None and blobs.is_s3(blobs.storage())
    check_size(stored.key, fileobj, wanted[1] - wanted[0] + 1 if ranged_get else stored.size)
    return fileobj


def bound_sends(request) -> None:
    """Under gunicorn: a client that takes no bytes for MAISIE_BODY_READ_TIMEOUT is dropped.

    gunicorn hands a whole file to socket.sendfile(), which on a socket without a Python
    timeout waits for ever for a reader that stopped (the kernel's send timeout only makes it
    wait in a select()); with one, each wait is bounded. gthread resets the socket to blocking
    before the connection's next request."""
    sock = request.META.get("gunicorn.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(settings.MAISIE_BODY_READ_TIMEOUT)


def read_chunks(fileobj, length: int):
    """Up to `length` bytes of `fileobj` in blocks, closing it at the end (or when abandoned)."""
    try:
        while length > 0:
            chunk = fileobj.read(min(BLOCK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        fileobj.close()


def model_file_response(request, model) -> HttpResponse:
    """`download/`: a one-file version's file, as it always was; a folder's files as one zip."""
    if not model.file:
        from registry import archives  # archives builds on this module

        return unsafe.marked_for_version(archives.zip_response(request, model), model)
    return file_response(request, one_file(model))


def file_response(request, stored: Stored) -> HttpResponse:
    """One stored file: a presigned redirect on S3 when configured, else its bytes streamed, with
    its SHA-256 as ETag and digests, and one `Range` (206/416, `If-Range` by that ETag)."""
    url = _presigned_url(stored)
    if url:
        return unsafe.marked_for_blob(HttpResponseRedirect(url), stored.sha256)
    size = stored.size
    wanted = wanted_range(request, size, stored.sha256)
    if wanted == "bad":
        response = unsatisfiable(size)
        _digest_headers(response, stored.sha256)
        return response
    fileobj = open_checked(stored, wanted)
    bound_sends(request)
    if wanted is None:
        response = FileResponse(
            fileobj, as_attachment=True, filename=stored.filename, content_type="application/octet-stream"
        )
        response.block_size = BLOCK
        response["Content-Length"] = str(size)
    else:
        start, end = wanted
        response = StreamingHttpResponse(
            read_chunks(fileobj, end - start + 1), status=206, content_type="application/octet-stream"
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=stored.filename)
    _digest_headers(response, stored.sha256)
    return unsafe.marked_for_blob(response, stored.sha256)  # the pickle scan's verdict (formats app)
