"""Streaming uploads: bytes go to a temporary file as they arrive, hashed on the way.

The server never holds a whole model in memory. The temporary file sits in the data folder,
so saving it into file-system storage is a rename rather than a second copy. Two entry points
share the spool: `StreamingMultiPartParser` (the API; python-multipart parses at about 1 GB/s,
several times Django's own parser) and `HashingUploadHandler` (Django forms, e.g. the web UI).
"""

import contextlib
import hashlib
import queue
import threading

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from maisie_site.api_errors import PayloadTooLarge

CHUNK_BYTES = 1024 * 1024
# Room for the multipart framing and the small form fields sent beside the file.
FORM_OVERHEAD_BYTES = 1024 * 1024


def refuse_oversized_body(content_length: int | None) -> None:
    """Refuse before reading a byte when the client announces a body over the limit."""
    if content_length and content_length > settings.MAISIE_MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES:
        raise PayloadTooLarge()


class _ChunkWorker:
    """A thread that applies `consume` to each chunk handed to it, in order.

    The queue is short, so at most a few chunks per worker are in memory whatever the file's
    size. An error in the thread (a full disk, say) is raised again to the caller.
    """

    def __init__(self, consume, name: str, depth: int = 4):
        self._consume = consume
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            if self._error is None:
                try:
                    self._consume(chunk)
                except BaseException as exc:  # re-raised in the request's thread
                    self._error = exc

    def put(self, chunk: bytes) -> None:
        self._raise_error()
        self._chunks.put(chunk)

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
    """

    def __init__(self, name: str, content_type: str):
        self.uploaded = TemporaryUploadedFile(name or "model", content_type or "application/octet-stream", 0, None)
        self._size = 0
        self._sha256 = hashlib.sha256()
        self._writer = _ChunkWorker(self.uploaded.file.write, "upload-write")
        self._hasher = _ChunkWorker(self._sha256.update, "upload-sha256")

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > settings.MAISIE_MAX_UPLOAD_BYTES:
            self.abort()
            raise PayloadTooLarge()
        try:
            self._writer.put(chunk)
            self._hasher.put(chunk)
        except BaseException:
            self.abort()
            raise

    def finish(self) -> TemporaryUploadedFile:
        try:
            self._writer.close()
            self._hasher.close()
        except BaseException:
            self.abort()
            raise
        self.uploaded.file.flush()
        self.uploaded.file.seek(0)
        self.uploaded.size = self._size
        self.uploaded.sha256 = self._sha256.hexdigest()
        return self.uploaded

    def abort(self) -> None:
        for worker in (self._writer, self._hasher):
            with contextlib.suppress(BaseException):
                worker.close()
        self.uploaded.close()  # the temporary file deletes itself on close


class HashingUploadHandler(FileUploadHandler):
    """Django's upload-handler interface onto the spool, for `request.FILES` outside the API."""

    chunk_size = CHUNK_BYTES

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        refuse_oversized_body(content_length)

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.spool = HashingSpool(self.file_name, self.content_type)

    def receive_data_chunk(self, raw_data, start):
        self.spool.write(raw_data)

    def file_complete(self, file_size):
        return self.spool.finish()

    def upload_interrupted(self):
        if hasattr(self, "spool"):
            self.spool.abort()


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
