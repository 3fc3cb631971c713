"""The answers an upload session gives a client that a program reads: 409, 411 and a refused part's 400."""

from rest_framework import exceptions, status


class SessionConflict(exceptions.APIException):
    """409 with fields a program reads: `code` and what the state is."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, message: str, **fields):
        super().__init__(message)
        self.error_fields = fields


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = "A part needs an exact Content-Length."
    default_code = "length_required"


class PartRefused(exceptions.ValidationError):
    """400 about a part's bytes (cut short, not matching its Content-Digest, a blob whose SHA-256
    is not the manifest's), with a `code`: the part was dropped whole and not acknowledged."""

    def __init__(self, message: str, code: str, **fields):
        super().__init__({"part": [message]})
        self.error_fields = {"code": code, **fields}
