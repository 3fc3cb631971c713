"""Serving a model file: streamed, with its digest, resumable with `Range`.

Shared by the API's download endpoint and the web UI's download button.
"""

import base64
import contextlib
import hashlib
import logging
import os
import re
import sys

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header
from rest_framework.exceptions import APIException

from maisie_site.api_errors import ExplainedHttp404

logger = logging.getLogger(__name__)

# Offsets of more than 30 digits are past any file (and int() refuses over 4,300 digits): such a
# header does not match and is ignored, as RFC 9110 allows for a Range it does not understand.
_RANGE = re.compile(r"^bytes=(\d{0,30})-(\d{0,30})$")
_BLOCK = 1024 * 1024


class StoredFileDamaged(APIException):
    """The stored bytes are not the ones recorded: served, they would carry a false ETag/Digest."""

    status_code = 500
    default_detail = "The model's stored file does not match its record; an administrator can run maisie_fsck --verify."
    default_code = "stored_file_damaged"


def _digest_headers(response, model) -> None:
    response["ETag"] = f'"{model.file_sha256}"'
    response["Digest"] = "sha-256=" + base64.b64encode(bytes.fromhex(model.file_sha256)).decode()
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-transform"


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
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


def _presigned_url(model) -> str | None:
    storage = model.file.storage
    if not (getattr(settings, "MAISIE_S3_BUCKET", "") and settings.MAISIE_S3_PRESIGNED_DOWNLOADS):
        return None
    disposition = content_disposition_header(as_attachment=True, filename=model.file_name)
    return storage.url(
        model.file.name,
        parameters={"ResponseContentDisposition": disposition, "ResponseContentType": "application/octet-stream"},
    )


def _is_s3(storage) -> bool:
    # boto3 costs every worker about 30 MB, so it is imported only where S3 is in use (an
    # S3Storage instance means its module, and boto3, are loaded already).
    if "storages.backends.s3" not in sys.modules:
        return False
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)


def _open(model, wanted: tuple[int, int] | None):
    """The stored bytes (all, or the wanted inclusive range) as a file object at its first byte.

    From S3 it is the body of one GET for exactly those bytes, read as it arrives: django-storages'
    S3File would first copy the whole object into memory, even for a ten-byte range. (The stored
    name is the object's key: settings.py gives the storage no `location` prefix.)
    """
    storage = model.file.storage
    if _is_s3(storage):
        from botocore.exceptions import ClientError

        params = {"Range": "bytes={}-{}".format(*wanted)} if wanted else {}
        try:
            return storage.bucket.Object(model.file.name).get(**params)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(model.file.name) from exc
            raise
    fileobj = storage.open(model.file.name, "rb")
    if wanted:
        fileobj.seek(wanted[0])
    return fileobj


def _stored_size(fileobj) -> int | None:
    """The size of what was opened: a file's, or an S3 GET's Content-Length; None if unknown."""
    try:
        return os.fstat(fileobj.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        pass
    length = getattr(fileobj, "_content_length", None)  # botocore's StreamingBody
    return int(length) if length is not None else None


def _check_size(model, fileobj, expected: int) -> None:
    """A stored file whose size is not the recorded one is damaged (cut short, or replaced): a
    stat (or the GET's own header) finds it at no cost, where re-hashing every download would
    cost a core per GB/s. Same size, other bytes is left to `maisie_fsck --verify`."""
    size = _stored_size(fileobj)
    if size is not None and size != expected:
        fileobj.close()
        logger.error("stored file of model %s is %s bytes, not %s: %s", model.pk, size, expected, model.file.name)
        raise StoredFileDamaged()


def stored_sha256(model) -> tuple[str, int]:
    """SHA-256 and size of the bytes the storage holds for a model, read as a download reads them."""
    digest, size = hashlib.sha256(), 0
    fileobj = _open(model, None)
    try:
        while chunk := fileobj.read(_BLOCK):
            digest.update(chunk)
            size += len(chunk)
    finally:
        fileobj.close()
    return digest.hexdigest(), size


def _bound_sends(request) -> None:
    """Under gunicorn: a client that takes no bytes for MAISIE_BODY_READ_TIMEOUT is dropped.

    gunicorn hands a whole file to socket.sendfile(), which on a socket without a Python
    timeout waits for ever for a reader that stopped (the kernel's send timeout only makes it
    wait in a select()); with one, each wait is bounded. gthread resets the socket to blocking
    before the connection's next request."""
    sock = request.META.get("gunicorn.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(settings.MAISIE_BODY_READ_TIMEOUT)


def _ranged(fileobj, length: int):
    try:
        while length > 0:
            chunk = fileobj.read(min(_BLOCK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        fileobj.close()


def model_file_response(request, model) -> HttpResponse:
    url = _presigned_url(model)
    if url:
        return HttpResponseRedirect(url)
    size = model.file_size
    wanted = None
    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if range_header and (not if_range or if_range == f'"{model.file_sha256}"'):
        wanted = _parse_range(range_header, size)
    if wanted == "bad":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        _digest_headers(response, model)
        return response
    try:
        fileobj = _open(model, wanted)
    except FileNotFoundError:
        raise ExplainedHttp404(
            "The model's file is missing from storage; an administrator can run maisie_fsck."
        ) from None
    _check_size(model, fileobj, size if wanted is None or not _is_s3(model.file.storage) else wanted[1] - wanted[0] + 1)
    _bound_sends(request)
    if wanted is None:
        response = FileResponse(
            fileobj, as_attachment=True, filename=model.file_name, content_type="application/octet-stream"
        )
        response.block_size = _BLOCK
        response["Content-Length"] = str(size)
    else:
        start, end = wanted
        response = StreamingHttpResponse(
            _ranged(fileobj, end - start + 1), status=206, content_type="application/octet-stream"
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=model.file_name)
    _digest_headers(response, model)
    return response
