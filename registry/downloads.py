"""Serving a model file: streamed, with its digest, resumable with `Range`.

Shared by the API's download endpoint and the web UI's download button.
"""

import base64
import re
import sys

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header

from maisie_site.api_errors import ExplainedHttp404

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_BLOCK = 1024 * 1024


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
