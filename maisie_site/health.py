"""`GET /healthz`: 200 when the database and the model storage answer, 503 otherwise.

A middleware rather than a URL so it answers before host checks, HTTPS redirects, sessions and
authentication: load balancers probe by IP over plain HTTP, and the answer reveals nothing.
"""

import logging

from django.db import connection
from django.http import JsonResponse

from registry.models import MLModel

logger = logging.getLogger(__name__)

PATH = "/healthz"


def _database_answers() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _storage_answers() -> bool:
    # A lookup of a key that never exists: one cheap call (a stat, or an S3 HEAD) that fails
    # only when the storage itself does not answer.
    MLModel._meta.get_field("file").storage.exists("healthz-probe")
    return True


def health_status() -> int:
    for name, check in (("database", _database_answers), ("storage", _storage_answers)):
        try:
            if not check():
                raise RuntimeError("unexpected answer")
        except Exception:
            logger.exception("health check failed: %s", name)
            return 503
    return 200


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != PATH:
            return self.get_response(request)
        status = health_status()
        response = JsonResponse({"status": "ok" if status == 200 else "unavailable"}, status=status)
        response["Cache-Control"] = "no-store"
        return response
