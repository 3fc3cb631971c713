"""A multipart parser for model uploads that streams file parts into `HashingSpool`s.

The body's bytes come from maisie_site/transport.py (straight from gunicorn's socket, with a
read timeout and a minimum rate); this module only turns them into form fields and files.
"""

from django.conf import settings
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from python_multipart.multipart import MultipartParser, parse_options_header
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.parsers import BaseParser, DataAndFiles

from maisie_site.transport import BufferLease, body_chunks, body_left_unread
from registry import quotas
from registry.uploads import FORM_OVERHEAD_BYTES, NOT_AN_UPLOADER, HashingSpool, may_upload, refuse_oversized_body


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


class StreamingMultiPartParser(BaseParser):
    media_type = "multipart/form-data"

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        meta = request.META
        # Before a byte of the body: whoever may not upload anywhere has nothing to send here
        # (the body would otherwise be read and spooled, only to be refused afterwards).
        if not may_upload(request.user):
            body_left_unread(meta)
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
            quotas.refuse_body_over_quota(request.user, length, FORM_OVERHEAD_BYTES)
        except Exception:
            body_left_unread(meta)
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
