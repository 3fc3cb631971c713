"""`Server-Timing: app;dur=<ms>` on every response: the time Django took to answer.

Placed first in MIDDLEWARE, so it covers the other middleware, the view and the template's
rendering, and leaves out only the WSGI server's parsing and writing. A streaming response
(CSV export, downloads) is timed up to its first byte. Browsers show the figure in their
developer tools; bench/ui.py reads it to tell server time from client time.
"""

import time

HEADER = "Server-Timing"


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        entry = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        response[HEADER] = f"{response[HEADER]}, {entry}" if HEADER in response else entry
        return response
