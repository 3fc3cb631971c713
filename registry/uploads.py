"""Streaming uploads: bytes go to a temporary file as they arrive, hashed on the way.

The server never holds a whole model in memory. The temporary file sits in the data folder,
so saving it into file-system storage is a rename rather than a second copy.
"""

import hashlib

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from maisie_site.api_errors import PayloadTooLarge

# Room for the multipart framing and the small form fields sent beside the file.
_FORM_OVERHEAD_BYTES = 1024 * 1024


class HashingUploadHandler(TemporaryFileUploadHandler):
    chunk_size = 1024 * 1024  # fewer Python-level iterations per GiB than Django's 64 KiB

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Refuse before reading a byte when the client announces a body over the limit.
        if content_length and content_length > settings.MAISIE_MAX_UPLOAD_BYTES + _FORM_OVERHEAD_BYTES:
            raise PayloadTooLarge()
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._sha256 = hashlib.sha256()
        self._received = 0

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > settings.MAISIE_MAX_UPLOAD_BYTES:
            self.file.close()  # the temporary file deletes itself on close
            raise PayloadTooLarge()
        self._sha256.update(raw_data)
        self.file.write(raw_data)

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        uploaded.sha256 = self._sha256.hexdigest()
        return uploaded


def file_sha256(uploaded) -> str:
    """The SHA-256 of an uploaded file: computed during upload when it came through the handler."""
    known = getattr(uploaded, "sha256", None)
    if known:
        return known
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()
