"""A multipart parser for model uploads that streams file parts into `HashingSpool`s."""

import socket

from django.conf import settings
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from python_multipart.multipart import MultipartParser, parse_options_header
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, DataAndFiles

from registry.uploads import CHUNK_BYTES, BufferLease, HashingSpool, ReceiveBuffers, refuse_oversized_body


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

    def abort(self):
        for spool in self.spools:
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
    """
    sock = meta.get("gunicorn.socket")
    reader = getattr(meta.get("wsgi.input"), "reader", None)
    unreader = getattr(reader, "unreader", None)
    body_buffer = getattr(meta.get("wsgi.input"), "buf", None)
    direct = (
        sock is not None
        and type(reader).__name__ == "LengthReader"
        and reader.length == length
        and hasattr(unreader, "take_buffered")
        and body_buffer is not None
        and body_buffer.tell() == 0
    )
    if not direct:
        while chunk := stream.read(CHUNK_BYTES) if stream is not None else b"":
            yield chunk, None
        return
    pending = unreader.take_buffered()
    if len(pending) > length:  # the start of a pipelined next request: leave it to gunicorn
        unreader.unread(pending[length:])
        pending = pending[:length]
    reader.length = 0
    remaining = length - len(pending)
    if pending:
        yield pending, None
    buffers = ReceiveBuffers()
    while remaining >= buffers.size:
        lease = buffers.take()
        _receive_into(sock, memoryview(lease.buffer))
        remaining -= buffers.size
        yield lease.buffer, lease
        lease.release()
    while remaining > 0:  # the tail, shorter than a buffer
        chunk = sock.recv(remaining)
        if not chunk:
            raise ParseError("The request body ended early.")
        remaining -= len(chunk)
        yield chunk, None


def _receive_into(sock, view: memoryview) -> None:
    """Fill the whole view from the socket (MSG_WAITALL: in one call unless interrupted)."""
    filled = 0
    while filled < len(view):
        received = sock.recv_into(view[filled:], 0, socket.MSG_WAITALL)
        if not received:
            raise ParseError("The request body ended early.")
        filled += received


class StreamingMultiPartParser(BaseParser):
    media_type = "multipart/form-data"

    def parse(self, stream, media_type=None, parser_context=None):
        meta = parser_context["request"].META
        _, params = parse_options_header(meta.get("CONTENT_TYPE", ""))
        boundary = params.get(b"boundary")
        if not boundary:
            raise ParseError("A multipart body needs a boundary.")
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise ParseError("Bad Content-Length.") from None
        refuse_oversized_body(length)
        form = _Form()
        parser = MultipartParser(boundary, form.callbacks())
        try:
            for chunk, lease in body_chunks(meta, stream, length):
                form.lease = lease
                parser.write(chunk)
            form.lease = None
            parser.finalize()
        except Exception as exc:
            form.abort()
            if isinstance(exc, ParseError) or hasattr(exc, "status_code"):
                raise
            raise ParseError(f"Malformed multipart body: {exc}") from exc
        return DataAndFiles(form.data, form.files)
