"""A folder version as one zip, streamed from its blobs (docs/storage.md, "Downloads").

Nothing is copied on the server: each member's bytes are read from its blob as the zip is sent.
Members are stored (weights do not compress, and a stored zip's length is known before it is
written), in the manifest's order, all stamped with the version's creation time, so a version's
zip is the same bytes every time: it has an exact `Content-Length` and the version's digest as
its ETag, and can serve a `Range`. Zip64 records are written where a member or the whole passes
4 GiB (zipstream-ng decides, and its length computation accounts for them).

The CRC-32 of a member is only known once its bytes have been read, so it follows them in a data
descriptor. A `Range` is therefore served by writing the zip from its start and sending only the
wanted bytes: the server re-reads (but does not re-send) the bytes before the range, since the
central directory at the end needs every member's CRC.
"""

import datetime
import logging

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from zipstream import ZIP_STORED, ZipStream
from zipstream.ng import ZipStreamInfo

from registry import downloads
from registry.models import MLModel

logger = logging.getLogger(__name__)

_MODE = 0o644 << 16  # external attributes: a regular file, readable by all who unpack it


class _FixedTimeZipStream(ZipStream):
    """zipstream-ng stamps a member given as an iterable with the time it is written; a version's
    zip must be the same bytes whenever it is asked for, so every member gets `date_time`.
    This overrides one private method of zipstream-ng, pinned at 1.9.3 in requirements.txt;
    test_downloads_files checks the bytes and the computed length against Python's zipfile."""

    def __init__(self, date_time: tuple):
        super().__init__(compress_type=ZIP_STORED, sized=True)
        self._date_time = date_time

    def _gen_file_entry(self, *, iterable, size, arcname, **_):
        zinfo = ZipStreamInfo(arcname, self._date_time)
        zinfo.external_attr = _MODE
        zinfo.file_size = size
        zinfo.compress_type = ZIP_STORED
        zinfo._compresslevel = None
        zinfo.header_offset = self._pos
        for data in zinfo._file_data(iterable):
            yield self._track(data)
        if zinfo.file_size != size:  # the computed length (Content-Length) would be wrong
            raise RuntimeError(f"{arcname}: {zinfo.file_size} bytes stored, {size} recorded")
        self._filelist.append(zinfo)


def _member_bytes(stored: downloads.Stored):
    """A member's bytes, its blob opened (and its size checked) only when the zip reaches it."""
    try:
        fileobj = downloads.open_checked(stored)
    except Exception:
        # The status line is sent already: the body ends short of its length; say which blob.
        logger.error("zip cut short: blob %s (%s) is missing or damaged", stored.sha256, stored.key)
        raise
    yield from downloads.read_chunks(fileobj, stored.size)


def zip_name(model: MLModel) -> str:
    return f"{model.name}-v{model.version}.zip"


def folder_zip(model: MLModel) -> ZipStream:
    """The version's zip, not yet written: `len()` is its exact length, iterating it writes it."""
    created = model.created.astimezone(datetime.UTC)
    stream = _FixedTimeZipStream(created.timetuple()[:6])
    entries = model.entries.select_related("blob")
    # The manifest's order (paths' UTF-8 bytes), whatever the database's collation.
    for entry in sorted(entries, key=lambda entry: entry.path.encode()):
        stored = downloads.entry_file(entry)
        stream.add(_member_bytes(stored), entry.path, size=stored.size)
    return stream


def _sliced(chunks, start: int, end: int):
    """The bytes from `start` to `end` (inclusive) of a stream of chunks."""
    position = 0
    try:
        for chunk in chunks:
            following = position + len(chunk)
            if following > start:
                yield chunk[max(start - position, 0) : end + 1 - position]
            position = following
            if position > end:
                break
    finally:
        chunks.close()


def zip_response(request, model: MLModel) -> HttpResponse:
    """`download/` of a folder version: its zip, streamed; `Range` and `If-Range` by its ETag."""
    stream = folder_zip(model)
    size = len(stream)
    wanted = downloads.wanted_range(request, size, model.digest)
    if wanted == "bad":
        response = downloads.unsatisfiable(size)
    else:
        downloads.bound_sends(request)
        # HEAD: the headers alone; a WSGI server may iterate a body it does not send.
        chunks = iter(stream) if request.method != "HEAD" else iter(())
        if wanted is None:
            response = StreamingHttpResponse(chunks, content_type="application/zip")
            response["Content-Length"] = str(size)
        else:
            start, end = wanted
            response = StreamingHttpResponse(_sliced(chunks, start, end), status=206, content_type="application/zip")
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
            response["Content-Length"] = str(end - start + 1)
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=zip_name(model))
    response["ETag"] = f'"{model.digest}"'
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-transform"
    return response
