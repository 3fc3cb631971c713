"""`GET /healthz`: 200 when the database and the model storage answer and uploads can be written,
503 otherwise, with which part failed.

A middleware rather than a URL so it answers before host checks, HTTPS redirects, sessions and
authentication: load balancers probe by IP over plain HTTP, and the answer names only the part
that failed (database, storage, upload spool), never a path or an error message.
"""

import logging
import os
import tempfile

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import connection
from django.http import JsonResponse

from registry.models import MLModel

logger = logging.getLogger(__name__)

PATH = "/healthz"
# Below this much free space no model upload can succeed: report the storage as unwritable.
MIN_FREE_BYTES = 16 * 1024 * 1024


def _database_answers() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _storage_answers() -> bool:
    # A lookup of a key that never exists: one cheap call (a stat, or an S3 HEAD) that fails
    # only when the storage itself does not answer.
    storage = MLModel._meta.get_field("file").storage
    storage.exists("healthz-probe")
    if isinstance(storage, FileSystemStorage) and os.path.isdir(storage.location):
        return _has_room(storage.location)
    return True


def _spool_writable() -> bool:
    """Every upload is written to the spool folder first: it must take a write and have room.
    (A full disk used to surface as a 400 on each upload while this answered 200.)"""
    folder = settings.FILE_UPLOAD_TEMP_DIR
    with tempfile.NamedTemporaryFile(dir=folder, prefix="healthz-") as probe:
        probe.write(b"\0" * 4096)
        probe.flush()
    return _has_room(folder)


def _has_room(folder) -> bool:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize >= MIN_FREE_BYTES


CHECKS = (
    ("database", _database_answers, "the database does not answer"),
    ("storage", _storage_answers, "the model storage does not answer or is full"),
    ("upload spool", _spool_writable, "the upload spool cannot be written"),
)


def health_problem() -> str | None:
    """Why the first part that fails its check fails, or None when all answer."""
    for name, check, reason in CHECKS:
        try:
            if not check():
                raise RuntimeError("unexpected answer, or less than MIN_FREE_BYTES free")
        except Exception:
            logger.exception("health check failed: %s", name)
            return reason
    return None


def health_status() -> int:
    return 200 if health_problem() is None else 503


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != PATH:
            return self.get_response(request)
        problem = health_problem()
        if problem is None:
            response = JsonResponse({"status": "ok"})
        else:
            response = JsonResponse({"status": "unavailable", "reason": problem}, status=503)
        response["Cache-Control"] = "no-store"
        return response
