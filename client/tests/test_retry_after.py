"""Answers that say "come back later" (429, or 503 with Retry-After) are retried after the time
the server asks, within a cap; through a loopback proxy in front of the live server that refuses
the first requests, as a throttled server does."""

from __future__ import annotations

import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from maisie import Models
from maisie.errors import APIError
from maisie.utils import http
from maisie.utils.auth import AuthManager

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class Refuser:
    """A proxy to `upstream` whose first `refusals` requests (of `method`, if given) get `status`
    and `Retry-After: retry_after`; the others are passed on."""

    def __init__(
        self, upstream: str, refusals: int, retry_after: str | None = "1", status: int = 429, method: str | None = None
    ):
        self.upstream, self.retry_after, self.status = upstream.rstrip("/"), retry_after, status
        self.pending, self.method = refusals, method  # refuse the next `pending` requests (of `method`)
        self.seen: list[tuple[float, str, str, int]] = []  # (time, method, path, status answered)
        refuser = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if refuser.pending > 0 and refuser.method in (None, self.command):
                    refuser.pending -= 1
                    refuser.seen.append((time.monotonic(), self.command, self.path, refuser.status))
                    self.send_response(refuser.status)
                    if refuser.retry_after is not None:
                        self.send_header("Retry-After", refuser.retry_after)
                    self.send_header("Content-Type", "application/json")
                    payload = b'{"status": "error", "message": "Request was throttled."}'
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
                answer = requests.request(
                    self.command, refuser.upstream + self.path, data=body, headers=headers, timeout=60
                )
                refuser.seen.append((time.monotonic(), self.command, self.path, answer.status_code))
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def refuser(server):
    made: list[Refuser] = []

    def make(*args, **kwargs) -> Refuser:
        made.append(Refuser(server.url, *args, **kwargs))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_a_throttled_sign_in_waits_as_asked_and_then_signs_in(refuser, shared_account):
    proxy = refuser(refusals=2, retry_after="1")
    auth = AuthManager(proxy.url, shared_account.login, password=shared_account.password)

    started = time.monotonic()
    auth.perform_auth()

    assert auth.user_id == shared_account.id
    statuses = [status for _, _, _, status in proxy.seen]
    assert statuses[:3] == [429, 429, 200]
    assert time.monotonic() - started >= 2  # one second after each refusal, as asked
    assert proxy.seen[1][0] - proxy.seen[0][0] >= 0.95


def test_an_http_date_in_retry_after_is_waited_for(refuser, shared_account):
    proxy = refuser(refusals=1, retry_after=formatdate(time.time() + 2, usegmt=True))
    auth = AuthManager(proxy.url, shared_account.login, password=shared_account.password)

    auth.perform_auth()

    assert auth.user_id == shared_account.id
    assert proxy.seen[1][0] - proxy.seen[0][0] >= 0.9  # the date is whole seconds: at least ~1 s later


def test_a_503_with_retry_after_is_retried_too(refuser, shared_account):
    proxy = refuser(refusals=1, retry_after="0", status=503)
    auth = AuthManager(proxy.url, shared_account.login, password=shared_account.password)

    auth.perform_auth()

    assert [status for *_, status in proxy.seen][:2] == [503, 200]


def test_an_upload_refused_with_429_is_sent_again_and_stored_once(refuser, shared_account, tmp_path: Path):
    proxy = refuser(refusals=1, method="POST")  # the upload's POST; its project check passes
    models = Models({**shared_account.settings, "api_url": proxy.url})
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"\x01" * 5000)

    model = models.upload("retried", weights, metrics={"a": 1}, git=False)

    # The first POST (the upload session's, or on a server without sessions the single request) is refused.
    posts = [
        status
        for _, method, path, status in proxy.seen
        if method == "POST" and path.endswith(("/models/", "/uploads/"))
    ]
    assert posts[0] == 429 and 201 in posts
    found = Models(shared_account.settings).get_all(search="retried", project=shared_account.project_id)
    assert [m["id"] for m in found if m["name"] == "retried"] == [model["id"]]


def test_a_wait_longer_than_the_cap_is_not_waited_for(refuser, shared_account, monkeypatch):
    monkeypatch.setattr(http, "RETRY_AFTER_MAX_SECONDS", 5.0)
    proxy = refuser(refusals=10, retry_after="3600")
    auth = AuthManager(proxy.url, shared_account.login, password=shared_account.password)

    started = time.monotonic()
    with pytest.raises(APIError, match="throttled") as raised:
        auth.perform_auth()

    assert raised.value.status == 429
    assert len(proxy.seen) == 1 and time.monotonic() - started < 3


def test_the_number_of_retries_is_bounded(refuser, shared_account, monkeypatch):
    monkeypatch.setattr(http, "RETRY_AFTER_ATTEMPTS", 3)
    proxy = refuser(refusals=100, retry_after="0")
    auth = AuthManager(proxy.url, shared_account.login, password=shared_account.password)

    with pytest.raises(APIError):
        auth.perform_auth()

    assert len(proxy.seen) == 3
