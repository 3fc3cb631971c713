"""Site-wide error pages: JSON under /api/ (the client's contract), Django's defaults elsewhere."""

import sys

from django.http import JsonResponse
from django.views import defaults

from maisie_site.db_unavailable import is_database_unavailable, unavailable_response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"status": "error", "message": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    exc = sys.exc_info()[1]  # Django calls this handler while handling the exception
    if is_database_unavailable(exc):
        return unavailable_response(request, exc)
    if _is_api(request):
        return JsonResponse({"status": "error", "message": "Server error."}, status=500)
    return defaults.server_error(request)
