"""503 Service Unavailable, not 500, while the database cannot be reached.

A request that fails because the database is down, restarting, refusing connections or timing
out is not the server's bug and not the client's: the client may retry shortly. The API answers
the usual error envelope (the published client reads `message`), the web UI a plain page that
needs nothing from the database (no template context, no session, no user).

Three places see such an error, and all three use `unavailable_response`:
- api_errors.exception_handler, for errors in DRF views (authentication included);
- DatabaseUnavailableMiddleware.process_exception, for the web UI's views and templates;
- views.server_error (handler500), for errors raised in other middleware (a session read).

Django's OperationalError covers "cannot connect", a dropped connection, statement timeouts and
deadlocks on PostgreSQL, and "database is locked" on SQLite; InterfaceError a connection
already closed. Each is logged with its traceback, as a 500 would be.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger("maisie.database")

RETRY_AFTER_SECONDS = 5
MESSAGE = "The database is unavailable; try again shortly."
_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Service unavailable</title>"
    "<h1>Service unavailable</h1><p>The database cannot be reached right now. Try again in a moment.</p>"
)


def is_database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable_response(request, exc: BaseException):
    logger.error("database unavailable: %s %s", request.method, request.path, exc_info=exc)
    if request.path.startswith("/api/"):
        response = JsonResponse({"status": "error", "message": MESSAGE}, status=503)
    else:
        response = HttpResponse(_PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_unavailable(exception):
            return unavailable_response(request, exception)
        return None
