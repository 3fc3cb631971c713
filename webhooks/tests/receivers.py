"""Real webhook receivers for the tests: an HTTP server on loopback, in a thread, that records every
request and answers as the test scripts it (a status, headers, a delay, or hanging until released)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering
    hold: threading.Event | None = None  # answer only once this is set (or the socket is closed)


class Receiver:
    """`with Receiver() as receiver:` ... `receiver.url`, `receiver.requests`; `receiver.script(Reply(...), ...)`
    sets the answers to the next requests, in order; after them every request gets `default`."""

    def __init__(self, default: Reply | None = None):
        self.default = default or Reply()
        self.requests: list[Received] = []
        self.arrived = threading.Condition()
        self._script: list[Reply] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.arrived:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                    )
                    reply = receiver._script.pop(0) if receiver._script else receiver.default
                    receiver.arrived.notify_all()
                if reply.hold is not None:
                    reply.hold.wait(60)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (its timeout): nothing to answer

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def script(self, *replies: Reply) -> None:
        with self.arrived:
            self._script.extend(replies)

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """Wait until `count` requests have arrived; returns them all (fails the test if not)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.requests)} requests arrived within {timeout} s, not {count}")
                self.arrived.wait(left)
            return list(self.requests)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
