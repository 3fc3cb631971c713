"""A request id on every request: taken from `X-Request-ID` when sane, else made up; returned in
the response header and added to every log line written while the request runs."""

import contextvars
import logging
import re
import uuid

from django.core.signals import request_finished

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The API token the request authenticated with (accounts.authentication sets it), so the event log
# (events.services.record) names it without the request being passed through every service.
current_api_token_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("api_token_id", default=None)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(HEADER, "")
        request_id = given if _SANE.match(given) else uuid.uuid4().hex
        request.id = request_id
        # Not reset on the way out: Django logs a 4xx/5xx after the middleware chain returns;
        # the request_finished signal clears it once the response is closed.
        current_request_id.set(request_id)
        current_api_token_id.set(None)  # a thread's previous request may have used a token
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _clear(**kwargs):
    current_request_id.set("-")
    current_api_token_id.set(None)


request_finished.connect(_clear, dispatch_uid="maisie_clear_request_id")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "id", None) or current_request_id.get()
        return True
