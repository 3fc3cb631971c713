"""A multipart parser for model uploads that streams file parts into `HashingSpool`s."""

import contextlib
import socket
import struct
import time

from django.conf import settings
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from python_multipart.multipart import MultipartParser, parse_options_header
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, PermissionDenied
from rest_framework.parsers import BaseParser, DataAndFiles

from registry.uploads import (
    CHUNK_BYTES,
    NOT_AN_UPLOADER,
    BufferLease,
    HashingSpool,
    ReceiveBuffers,
    may_upload,
    refuse_oversized_body,
)


class BodyTooSlow(APIException):
    status_code = status.HTTP_408_REQUEST_TIMEOUT
    default_detail = "The request body arrived too slowly; nothing was stored."
    default_code = "body_too_slow"


_TIMEVAL = struct.Struct("@ll")  # struct timeval, as SO_RCVTIMEO takes it


class BodyBudget:
    """How long the next read of a request body may wait, set as the socket's receive timeout.

    No read waits longer than MAISIE_BODY_READ_TIMEOUT, and none past the moment the body would
    have arrived slower on average than MAISIE_BODY_MIN_RATE, with one read timeout of grace
    (as Apache's mod_reqtimeout counts): a client that stalls or trickles gets 408 instead of
    holding a server thread for as long as it likes.

    The kernel's SO_RCVTIMEO rather than Python's socket timeout: the socket stays blocking, so
    a 1 MiB MSG_WAITALL receive is still one system call (a Python timeout makes the socket
    non-blocking, and every receive returns whatever has arrived); a receive cut short by the
    timeout returns what it has, and one that got nothing raises BlockingIOError. The socket's
    own timeout is put back at the end.
    """

    def __init__(self, sock):
        self.sock = sock
        self.received = 0
        self._start = time.monotonic()
        self._read_timeout = settings.MAISIE_BODY_READ_TIMEOUT
        self._min_rate = settings.MAISIE_BODY_MIN_RATE
        self._saved = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _TIMEVAL.size)
        self._set = None

    def before_read(self) -> None:
        """Set the next read's timeout, or raise BodyTooSlow when the body is already too late."""
        left = self._start + self._read_timeout + self.received / self._min_rate - time.monotonic()
        if left <= 0:
            raise BodyTooSlow()
        wait = min(self._read_timeout, left)
        if wait != self._set:
            seconds = int(wait)
            self._setsockopt(_TIMEVAL.pack(seconds, max(int((wait - seconds) * 1e6), 1 if not seconds else 0)))
            self._set = wait

    def close(self) -> None:
        if self._set is not None:
            self._setsockopt(self._saved)

    def _setsockopt(self, value: bytes) -> None:
        with contextlib.suppress(OSError):  # the client is gone; the read that follows will say so
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)


class _Form:
    """Collects fields and spooled files from python-multipart's callbacks."""

    def __init__(self):
        self.data = QueryDict(mutable=True)
        self.files = MultiValueDict()
        self.spools: list[HashingSpool] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._name = ""
        self._spool: HashingSpool | None = None
        self._buffer = bytearray()
        self._fields = 0
        self.ended = False  # the closing boundary was seen
        self.lease: BufferLease | None = None  # the buffer of the chunk being parsed, if leased

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_bytes("_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._header_bytes("_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self):
        self._headers, self._field, self._value = {}, b"", b""
        self._spool, self._buffer = None, bytearray()
        self._fields += 1
        if self._fields > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:
            raise ParseError("Too many form fields.")

    def _header_bytes(self, attr: str, chunk: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + chunk)
        if len(self._field) + len(self._value) > 8192:
            raise ParseError("A multipart header is too long.")

    def _header_end(self):
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field, self._value = b"", b""

    def _headers_finished(self):
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            filename = options[b"filename"].decode("utf-8", "replace")
            content_type = self._headers.get(b"content-type", b"").decode("latin-1")
            self._spool = HashingSpool(filename, content_type)
            self.spools.append(self._spool)

    def _part_data(self, data, start, end):
        if self._spool is not None:
            # A view, not a copy; data is the leased buffer, or bytes (a chunk not read into a
            # buffer, or python-multipart's look-behind) that the view itself keeps alive.
            lease = self.lease if self.lease is not None and data is self.lease.buffer else None
            self._spool.write(memoryview(data)[start:end], lease)
            return
        self._buffer += data[start:end]
        if len(self._buffer) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise ParseError(f"The form field {self._name!r} is too large.")

    def _part_end(self):
        if self._spool is not None:
            self.files.appendlist(self._name, self._spool.finish())
        else:
            self.data.appendlist(self._name, self._buffer.decode("utf-8", "replace"))

    def _end(self):
        self.ended = True

    def abort(self, unfinished_only: bool = False):
        """Stop the spools' threads and delete their files: all of them, or those whose part
        never ended (a body cut short inside a file), whose files no one else will ever close."""
        for spool in self.spools:
            if not (unfinished_only and spool.done):
                spool.abort()


def body_chunks(meta, stream, length: int):
    """The request body as (chunk, lease) pairs, chunks of up to CHUNK_BYTES.

    Under gunicorn the body is read straight from the client's socket: gunicorn's own reader
    copies every chunk through several BytesIO buffers, which capped uploads near 230 MB/s on
    loopback, about half of what the socket delivers. What gunicorn has already buffered is
    taken first, and its reader is told the body is consumed. Anything else (runserver, the
    test client, another server, or a gunicorn whose internals differ) reads the stream.

    From the socket, whole chunks are received into reusable `ReceiveBuffers`: such a chunk is
    the leased buffer itself, valid until the caller asks for the next one; a consumer that
    keeps its bytes longer holds the lease. Other chunks are bytes and come with no lease.

    Under gunicorn every read has a `BodyBudget` (a read timeout and a minimum rate): a client
    too slow gets 408. If the body is not read to its end (an error, a refusal, a timeout),
    gunicorn is told so and closes the connection instead of reading the rest as a request.
    """
    sock = meta.get("gunicorn.socket")
    body = meta.get("wsgi.input")
    reader = getattr(body, "reader", None)
    unreader = getattr(reader, "unreader", None)
    body_buffer = getattr(body, "buf", None)
    direct = (
        sock is not None
        and type(reader).__name__ == "LengthReader"
        and reader.length == length
        and hasattr(unreader, "take_buffered")
        and body_buffer is not None
        and body_buffer.tell() == 0
    )
    budget = BodyBudget(sock) if sock is not None else None
    complete = False
    try:
        if direct:
            yield from _socket_chunks(sock, reader, unreader, length, budget)
        else:
            yield from _stream_chunks(stream, budget)
        complete = True
    except (BlockingIOError, TimeoutError) as exc:
        raise BodyTooSlow() from exc
    finally:
        if budget is not None:
            budget.close()
        if not complete and body is not None and hasattr(body, "failed"):
            body.failed = True  # gunicorn: the rest of the body is unread, close the connection


def _stream_chunks(stream, budget: "BodyBudget | None"):
    # Smaller reads than CHUNK_BYTES under gunicorn, so the rate is checked more often: a
    # stream read waits until it has all the bytes it asked for.
    size = CHUNK_BYTES if budget is None else 64 * 1024
    while stream is not None:
        if budget is not None:
            budget.before_read()
        chunk = stream.read(size)
        if not chunk:
            return
        if budget is not None:
            budget.received += len(chunk)
        yield chunk, None


def _socket_chunks(sock, reader, unreader, length: int, budget: "BodyBudget"):
    pending = unreader.take_buffered()
    if len(pending) > length:  # the start of a pipelined next request: leave it to gunicorn
        unreader.unread(pending[length:])
        pending = pending[:length]
    reader.length = 0
    remaining = length - len(pending)
    budget.received += len(pending)
    if pending:
        yield pending, None
    buffers = ReceiveBuffers()
    while remaining >= buffers.size:
        lease = buffers.take()
        _receive_into(sock, memoryview(lease.buffer), budget)
        remaining -= buffers.size
        yield lease.buffer, lease
        lease.release()
    while remaining > 0:  # the tail, shorter than a buffer
        budget.before_read()
        chunk = sock.recv(remaining)
        if not chunk:
            raise ParseError("The request body ended early.")
        remaining -= len(chunk)
        budget.received += len(chunk)
        yield chunk, None


def _receive_into(sock, view: memoryview, budget: "BodyBudget") -> None:
    """Fill the whole view from the socket (MSG_WAITALL: in one call unless interrupted, or cut
    short by the budget's receive timeout, after which the budget decides whether to go on)."""
    filled = 0
    while filled < len(view):
        budget.before_read()
        received = sock.recv_into(view[filled:], 0, socket.MSG_WAITALL)
        if not received:
            raise ParseError("The request body ended early.")
        filled += received
        budget.received += received


class StreamingMultiPartParser(BaseParser):
    media_type = "multipart/form-data"

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        meta = request.META
        # Before a byte of the body: whoever may not upload anywhere has nothing to send here
        # (the body would otherwise be read and spooled, only to be refused afterwards).
        if not may_upload(request.user):
            _body_left_unread(meta)
            raise PermissionDenied(NOT_AN_UPLOADER)
        _, params = parse_options_header(meta.get("CONTENT_TYPE", ""))
        boundary = params.get(b"boundary")
        if not boundary:
            raise ParseError("A multipart body needs a boundary.")
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise ParseError("Bad Content-Length.") from None
        try:
            refuse_oversized_body(length)
        except Exception:
            _body_left_unread(meta)
            raise
        form = _Form()
        parser = MultipartParser(boundary, form.callbacks())
        chunks = body_chunks(meta, stream, length)
        try:
            for chunk, lease in chunks:
                form.lease = lease
                parser.write(chunk)
            form.lease = None
            parser.finalize()
            if not form.ended:
                raise ParseError("The multipart body ended before its closing boundary.")
        except Exception as exc:
            chunks.close()  # tells gunicorn, when the body was not read to its end
            form.abort()
            if isinstance(exc, ParseError) or hasattr(exc, "status_code"):
                raise
            raise ParseError(f"Malformed multipart body: {exc}") from exc
        finally:
            # Whatever happened, no spool is left with its threads waiting and its file on disk.
            form.abort(unfinished_only=True)
        return DataAndFiles(form.data, form.files)


def _body_left_unread(meta) -> None:
    """Under gunicorn: the body is refused unread, so the connection must close after the answer."""
    body = meta.get("wsgi.input")
    if hasattr(body, "failed"):
        body.failed = True
