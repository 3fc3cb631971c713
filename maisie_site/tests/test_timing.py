"""`Server-Timing: app;dur=<ms>` on every response (maisie_site/timing.py)."""

import re

from django.http import HttpResponse

from maisie_site import timing
from maisie_site.timing import ServerTimingMiddleware

DURATION = re.compile(r"^app;dur=\d+\.\d$")


def test_every_page_says_how_long_the_server_took(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert DURATION.match(response["Server-Timing"])


def test_the_health_check_is_timed_too(client):
    assert DURATION.match(client.get("/healthz")["Server-Timing"])


def test_the_duration_covers_the_view_in_milliseconds(rf, monkeypatch):
    clock = iter([10.0, 10.25])
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(clock))
    response = ServerTimingMiddleware(lambda request: HttpResponse())(rf.get("/"))
    assert response["Server-Timing"] == "app;dur=250.0"


def test_it_adds_to_a_view_s_own_entries(rf):
    def view(request):
        response = HttpResponse()
        response["Server-Timing"] = "db;dur=3"
        return response

    response = ServerTimingMiddleware(view)(rf.get("/"))
    assert re.match(r"^db;dur=3, app;dur=\d+\.\d$", response["Server-Timing"])
