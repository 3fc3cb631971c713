"""Streaming uploads: bytes go to a temporary file as they arrive, hashed on the way.

The server never holds a whole model in memory. The temporary file sits in the data folder,
so saving it into file-system storage is a rename rather than a second copy; there its pages
are sent to the disk while the upload still arrives, so the storage's closing fsync
(`registry.storage`) has little left to wait for. Two entry points
share the spool: `StreamingMultiPartParser` (the API; python-multipart parses at about 1 GB/s,
several times Django's own parser) and `HashingUploadHandler` (Django forms, e.g. the web UI).
"""

import contextlib
import errno
import hashlib
import logging
import os
import queue
import threading
import time

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import FileSystemStorage, storages
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http.multipartparser import MultiPartParser
from rest_framework import exceptions, status

from maisie_site import transport
from maisie_site.api_errors import PayloadTooLarge
from maisie_site.transport import CHUNK_BYTES, BufferLease

logger = logging.getLogger(__name__)

# Room for the multipart framing and the small form fields sent beside the file.
FORM_OVERHEAD_BYTES = 1024 * 1024
WRITEBACK_BYTES = 8 * 1024 * 1024


def refuse_oversized_body(content_length: int | None) -> None:
    """Refuse before reading a byte when the client announces a body over the limit."""
    if content_length and content_length > settings.MAISIE_MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES:
        raise PayloadTooLarge()


class InsufficientStorage(exceptions.APIException):
    """The spool could not be written (a full disk, a quota): the server's fault, not the body's."""

    status_code = status.HTTP_507_INSUFFICIENT_STORAGE
    default_detail = "The server has no room to store this file right now; nothing was stored. Try again later."
    default_code = "insufficient_storage"


class SpoolUnwritable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The server could not write this file right now; nothing was stored. Try again later."
    default_code = "spool_unwritable"


def storage_error(exc: OSError) -> exceptions.APIException:
    """The answer for a failed spool write, logged: it is the server's fault, never a 400."""
    logger.error("upload spool write failed: %s", exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorage()
    return SpoolUnwritable()


def may_upload(user) -> bool:
    """Whether the user may upload anywhere (staff, or an owner or member of some workspace).

    Asked before a multipart body is read, so someone who may not store a file cannot make the
    server read and spool one first."""
    from registry.models import Membership, Role

    if not user or not user.is_authenticated:
        return False
    return user.is_staff or Membership.objects.filter(user_id=user.pk, role__in=[Role.OWNER, Role.MEMBER]).exists()


NOT_AN_UPLOADER = "You cannot upload files: you are not an owner or member of any workspace."


def spool_stale_seconds() -> float:
    """Age (since its last write) past which a spool file belongs to no live upload.

    While an upload arrives its spool is written at least once per CHUNK_BYTES, which the
    minimum body rate (after at most one read timeout) brings within CHUNK_BYTES / rate +
    timeout seconds; once it has arrived, its path is needed only for the moment it takes to
    validate and rename it (a copy to S3 reads the open file, which a sweep does not disturb).
    An hour on top of twice that leaves a wide margin.
    """
    per_chunk = CHUNK_BYTES / settings.MAISIE_BODY_MIN_RATE + settings.MAISIE_BODY_READ_TIMEOUT
    return 3600 + 2 * per_chunk


def stale_spool_files(now: float | None = None) -> list[tuple[str, int]]:
    """(path, size) of each spool file in FILE_UPLOAD_TEMP_DIR left by an upload that died
    (a killed worker, a power loss): named as Django names them, unwritten for spool_stale_seconds()."""
    cutoff = (time.time() if now is None else now) - spool_stale_seconds()
    found = []
    with contextlib.suppress(FileNotFoundError), os.scandir(settings.FILE_UPLOAD_TEMP_DIR) as entries:
        for entry in entries:
            if not (entry.name.startswith("tmp") and ".upload" in entry.name and entry.is_file(follow_symlinks=False)):
                continue
            with contextlib.suppress(FileNotFoundError):
                info = entry.stat(follow_symlinks=False)
                if info.st_mtime < cutoff:
                    found.append((entry.path, info.st_size))
    return sorted(found)


def sweep_stale_spools() -> list[tuple[str, int]]:
    """Remove the stale spool files (see stale_spool_files); what was removed. Never raises: a
    server starts even when its spool folder cannot be read (uploads will say so)."""
    removed = []
    try:
        for path, size in stale_spool_files():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append((path, size))
    except OSError as exc:
        logger.warning("could not sweep the upload spool folder %s: %s", settings.FILE_UPLOAD_TEMP_DIR, exc)
    if removed:
        logger.warning(
            "removed %d stale upload spool files (%d bytes) from %s",
            len(removed),
            sum(size for _, size in removed),
            settings.FILE_UPLOAD_TEMP_DIR,
        )
    return removed


class _ChunkWorker:
    """A thread that applies `consume` to each chunk handed to it, in order.

    The queue is short, so at most a few chunks per worker are in memory whatever the file's
    size. An error in the thread (a full disk, say) is raised again to the caller. A chunk that
    is a view of a leased buffer holds the lease until it has been consumed.
    """

    def __init__(self, consume, name: str, depth: int = 4):
        self._consume = consume
        self._chunks: queue.Queue[tuple[bytes | memoryview, BufferLease | None] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._chunks.get()) is not None:
            chunk, lease = item
            try:
                if self._error is None:
                    self._consume(chunk)
            except BaseException as exc:  # re-raised in the request's thread
                self._error = exc
            finally:
                if lease is not None:
                    lease.release()

    def put(self, chunk: bytes | memoryview, lease: BufferLease | None = None) -> None:
        self._raise_error()
        if lease is not None:
            lease.hold()
        self._chunks.put((chunk, lease))

    def close(self) -> None:
        if self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error


class HashingSpool:
    """Write chunks to a temporary upload file and hash them, each on a thread of its own.

    File writes and hashlib (on large buffers) release the GIL, so reading the socket, parsing,
    writing and hashing overlap instead of taking turns; that roughly doubles upload throughput
    on two cores.

    When the file is going to be renamed into file-system storage (where it stays, and which
    fsyncs it), the writer also starts the disk write of every WRITEBACK_BYTES as they land
    (sync_file_range, as PostgreSQL does for its checkpoints): the disk works while the rest
    arrives, instead of all at once in the final fsync, and dirty pages never pile up. It only
    starts the writes and does not wait for them; durability comes from the storage's fsync. A
    spool on its way to S3 is left to the page cache: it is deleted before it needs the disk.
    """

    def __init__(self, name: str, content_type: str):
        try:
            self.uploaded = TemporaryUploadedFile(name or "model", content_type or "application/octet-stream", 0, None)
        except OSError as exc:
            raise storage_error(exc) from exc
        self.done = False  # finished or aborted: its threads are gone either way
        self._size = 0
        self._written = 0
        self._sent_to_disk = 0
        self._writeback = transport.sync_file_range is not None and isinstance(storages["default"], FileSystemStorage)
        self._sha256 = hashlib.sha256()
        self._writer = _ChunkWorker(self._write, "upload-write")
        self._hasher = _ChunkWorker(self._sha256.update, "upload-sha256")

    def _write(self, chunk: bytes | memoryview) -> None:
        """On the writer's thread: append the chunk, and hand each full WRITEBACK_BYTES to the disk."""
        self.uploaded.file.write(chunk)
        self._written += len(chunk)
        if self._writeback and self._written - self._sent_to_disk >= WRITEBACK_BYTES:
            # Advisory: bytes still in the file object's small buffer are simply not covered yet,
            # and the result is ignored, since the storage's fsync reports any write error.
            transport.sync_file_range(
                self.uploaded.file.fileno(),
                self._sent_to_disk,
                self._written - self._sent_to_disk,
                transport.SYNC_FILE_RANGE_WRITE,
            )
            self._sent_to_disk = self._written

    def write(self, chunk: bytes | memoryview, lease: BufferLease | None = None) -> None:
        """Queue the chunk for writing and hashing. When it is a view of a leased buffer, the
        lease is held until both threads are done with it, so the buffer can be refilled."""
        self._size += len(chunk)
        if self._size > settings.MAISIE_MAX_UPLOAD_BYTES:
            self.abort()
            raise PayloadTooLarge()
        try:
            self._writer.put(chunk, lease)
            self._hasher.put(chunk, lease)
        except OSError as exc:
            self.abort()
            raise storage_error(exc) from exc
        except BaseException:
            self.abort()
            raise

    def finish(self) -> TemporaryUploadedFile:
        try:
            self._writer.close()
            self._hasher.close()
            self.uploaded.file.flush()
        except OSError as exc:
            self.abort()
            raise storage_error(exc) from exc
        except BaseException:
            self.abort()
            raise
        self.done = True
        self.uploaded.file.seek(0)
        self.uploaded.size = self._size
        self.uploaded.sha256 = self._sha256.hexdigest()
        return self.uploaded

    def abort(self) -> None:
        """Stop both threads and delete the file; safe to call again, or after finish()."""
        self.done = True
        for worker in (self._writer, self._hasher):
            with contextlib.suppress(BaseException):
                worker.close()
        with contextlib.suppress(OSError):
            self.uploaded.close()  # the temporary file deletes itself on close


class HashingUploadHandler(FileUploadHandler):
    """Django's upload-handler interface onto the spool, for `request.FILES` outside the API.

    Django's parser leaves a handler's file alone when parsing fails (a bad base64 part, too
    many fields, a body that times out), so this handler runs the parse itself and aborts every
    spool it started unless the parse returned. A file over the limit or a spool that cannot be
    written stops the upload without raising (Django would answer 500 from the CSRF check that
    parses the form); the error is left on the request as `upload_error` for the view to answer.
    """

    chunk_size = CHUNK_BYTES

    def __init__(self, request=None):
        super().__init__(request)
        self.spools: list[HashingSpool] = []
        self._parsing = False
        self._too_large = False
        self._may_upload: bool | None = None  # asked once per request, not once per file part

    def _uploader(self) -> bool:
        if self._may_upload is None:
            self._may_upload = may_upload(getattr(self.request, "user", None))
        return self._may_upload

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if self._parsing:
            return None  # the nested parse below: let Django's parser do the work
        # More than form fields can hold means a file, which someone who may not upload anywhere
        # is refused before a byte of it is read.
        content_length = content_length or 0
        if content_length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE + FORM_OVERHEAD_BYTES and not self._uploader():
            raise PermissionDenied(NOT_AN_UPLOADER)
        # A body announced over the limit is refused at its first file part, once the fields
        # before it (the CSRF token, say) have been read, so the form can say why.
        self._too_large = content_length > settings.MAISIE_MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES
        self._parsing = True
        try:
            return MultiPartParser(META, input_data, [self], encoding).parse()
        except BaseException:
            self._abort_all()
            raise
        finally:
            self._parsing = False

    def _refuse(self, error: exceptions.APIException):
        """Stop reading the body: the fields so far stay, every file is dropped."""
        self._abort_all()
        if self.request is not None:
            self.request.upload_error = error
        raise StopUpload(connection_reset=True)

    def _abort_all(self):
        for spool in self.spools:
            spool.abort()

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if not self._uploader():
            self._abort_all()
            raise PermissionDenied(NOT_AN_UPLOADER)
        if self._too_large:
            self._refuse(PayloadTooLarge())
        try:
            self.spool = HashingSpool(self.file_name, self.content_type)
        except exceptions.APIException as error:
            self._refuse(error)
        self.spools.append(self.spool)

    def receive_data_chunk(self, raw_data, start):
        try:
            self.spool.write(raw_data)
        except (PayloadTooLarge, InsufficientStorage, SpoolUnwritable) as error:
            self._refuse(error)

    def file_complete(self, file_size):
        try:
            return self.spool.finish()
        except (InsufficientStorage, SpoolUnwritable) as error:
            self._refuse(error)

    def upload_interrupted(self):
        # The body ended inside a file part: that spool never finishes; files before it did.
        for spool in self.spools:
            if not spool.done:
                spool.abort()


def file_sha256(uploaded) -> str:
    """The SHA-256 of an uploaded file: computed during upload when it came through the spool."""
    known = getattr(uploaded, "sha256", None)
    if known:
        return known
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()
