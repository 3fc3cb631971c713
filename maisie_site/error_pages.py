"""The product's own 404 page under DEBUG too (`make run`), where Django would show its technical page.

A shared link to something the reader may not see must answer with the page that says "does not
exist, or you do not have access" and nothing more: the technical page lists the URL patterns
and names the lookup that failed. With DEBUG off, Django already calls `handler404`
(maisie_site/views.py); this does the same with DEBUG on. MAISIE_DEBUG_TECHNICAL_PAGES brings
Django's page back for whoever debugs URL routing. PermissionDenied needs nothing: Django calls
`handler403` (templates/403.html) whatever DEBUG says.
"""

from django.conf import settings
from django.http import Http404

from maisie_site.views import not_found


class ProductErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # A URL that matched no pattern: Django built the technical page before any view ran.
        if response.status_code == 404 and self._replaces() and getattr(request, "resolver_match", None) is None:
            return not_found(request)
        return response

    def process_exception(self, request, exception):
        # A view's Http404 (get_object_or_404 of something hidden or missing). The API answers
        # its own (DRF turns Http404 into JSON before this is reached).
        if isinstance(exception, Http404) and self._replaces():
            return not_found(request, exception)
        return None

    @staticmethod
    def _replaces() -> bool:
        return settings.DEBUG and not settings.MAISIE_DEBUG_TECHNICAL_PAGES
