"""API errors: JSON without a `data` key, which is how the published client tells failure apart.

Kept apart from maisie_site/api.py because DRF's settings import the renderer from there,
and this module imports DRF's views, which read those settings.
"""

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, UnreadablePostError
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from maisie_site.db_unavailable import is_database_unavailable, unavailable_response
from maisie_site.transport import BodyTooSlow


class ExplainedHttp404(Http404):
    """A 404 whose message is safe and useful to show (others just say "Not found.")."""


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The file is larger than this server accepts."
    default_code = "too_large"


class BodyTooLarge(PayloadTooLarge):
    default_detail = "The request body is larger than this server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE)."


def exception_handler(exc, context):
    """Turn every API error into `{"status": "error", "message": ..., "errors": {...}}`."""
    if is_database_unavailable(exc):
        return unavailable_response(context["request"], exc)
    # Services raise Django's exceptions so the HTML views can use them too.
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound(str(exc) if isinstance(exc, ExplainedHttp404) else None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, RequestDataTooBig):  # a JSON or form body past Django's memory limit
        exc = BodyTooLarge()
    elif isinstance(exc, UnreadablePostError):
        # The body stalled or its connection broke (the socket timeout of gunicorn.conf.py): the
        # client's fault, and the connection is gone, so the answer is mostly for the log.
        exc = BodyTooSlow()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ParseError(str(exc))
    elif isinstance(exc, DjangoValidationError) and not isinstance(exc, exceptions.APIException):
        # (One that is both, registry.quotas.QuotaExceeded, answers as the APIException it is.)
        detail = as_serializer_error(exc)
        if NON_FIELD_ERRORS in detail:  # Django's "__all__" reads as DRF's name for it
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        exc = exceptions.ValidationError(detail)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body = {"status": "error", "message": _message(exc)}
    # What an error says beyond its message, for programs (promotions.services.RulesBroken's
    # `failed_rules`): fields of its own, beside `message`.
    body.update(getattr(exc, "error_fields", None) or {})
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        body["errors"] = detail if isinstance(detail, dict) else {"non_field_errors": detail}
    response.data = body
    return response


def _message(exc) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "Invalid input."
    detail = getattr(exc, "detail", None)
    if isinstance(detail, dict) and "detail" in detail:
        detail = detail["detail"]
    return str(detail) if detail is not None else str(exc)
