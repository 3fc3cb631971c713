"""Target URLs, and the one way a delivery is sent: checked for SSRF when it connects.

A server that POSTs to URLs its users choose can be aimed at what only it can reach: loopback,
the private network, a cloud's metadata service. So, unless MAISIE_WEBHOOK_ALLOW_PRIVATE is on:
- only https URLs are taken;
- every address the host name resolves to must be a public one (`is_global`: not loopback,
  private, link-local, where 169.254.169.254 lives, shared, reserved, multicast or unspecified;
  an IPv4-mapped IPv6 address is judged as the IPv4 one), checked when a URL is saved and again
  at each connection, after resolving, and the connection goes to the address that was checked,
  so a name that resolves elsewhere the second time (DNS rebinding) gains nothing;
- no redirect is followed (a 3xx is a failed delivery).
Each attempt has one time budget (connect, TLS, send, the answer's head and first bytes); a
watchdog closes the socket when it runs out, so a receiver that trickles bytes cannot hold a
worker longer.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

EXCERPT_BYTES = 1024  # of the answer's body kept in the delivery log
MAX_URL_LENGTH = 2000
SAVE_RESOLVE_SECONDS = 2.0
_DEFAULT_PORTS = {"https": 443, "http": 80}


class Refused(Exception):
    """Not sent, by policy (scheme, address): retrying would not change it."""


class SendError(Exception):
    """Sent, or tried to, and no answer came: a timeout, a refused or reset connection, no DNS."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query

    @property
    def name(self) -> str:
        """scheme://host:port: what the in-flight bound counts by."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str
    retry_after: float | None  # seconds, from a Retry-After header
    duration_ms: int


def _allow_private() -> bool:
    return bool(settings.MAISIE_WEBHOOK_ALLOW_PRIVATE)


def parse(url: str) -> Target:
    """The URL's parts, or Refused saying what is wrong with it."""
    if not isinstance(url, str) or not url:
        raise Refused("Give the URL to deliver to (https://…).")
    if len(url) > MAX_URL_LENGTH:
        raise Refused(f"A URL has at most {MAX_URL_LENGTH} characters.")
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        raise Refused("A URL cannot contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Refused(f"Not a URL: {error}.") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise Refused("The URL must start with https://.")
    if scheme == "http" and not _allow_private():
        raise Refused("Only https URLs are allowed (MAISIE_WEBHOOK_ALLOW_PRIVATE lets http through).")
    if parts.username is not None or parts.password is not None:
        raise Refused("A URL with a user name or password is not taken: the log would show it.")
    if not parts.hostname:
        raise Refused("The URL has no host.")
    if parts.fragment:
        raise Refused("A URL with a #fragment is not taken: it is never sent.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, parts.hostname, port or _DEFAULT_PORTS[scheme], path)


def refusal(address: str) -> str | None:
    """Why a delivery may not go to this IP address, or None when it may."""
    if _allow_private():
        return None
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, described in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address (where cloud metadata services answer)"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, flag):
            return described
    if not ip.is_global:
        return "not a public address"
    return None


def _resolve(host: str, port: int) -> list[tuple]:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise SendError(f"Cannot resolve {host}: {error}.") from None


def _check_addresses(target: Target, infos: list[tuple]) -> None:
    for info in infos:
        address = info[4][0]
        why = refusal(address)
        if why is not None:
            shown = target.host if target.host == address else f"{target.host} resolves to {address}, which"
            raise Refused(f"Refused: {shown} is {why} (MAISIE_WEBHOOK_ALLOW_PRIVATE is off).")


def _resolve_within(host: str, port: int, seconds: float) -> list[tuple] | None:
    """_resolve() in a thread, waited for at most `seconds`: a request that saves a URL does not
    wait on a slow resolver. None when it did not answer (in time, or at all)."""
    found: list = []

    def look_up():
        with contextlib.suppress(SendError):
            found.append(_resolve(host, port))

    thread = threading.Thread(target=look_up, daemon=True)
    thread.start()
    thread.join(seconds)
    return found[0] if found else None


def validate(url: str) -> Target:
    """A URL as it is saved: well formed, and its host, if it resolves now (within
    SAVE_RESOLVE_SECONDS), public. A name that does not resolve yet is taken: it is checked again
    at every connection. Raises a ValidationError on `url`."""
    try:
        target = parse(url)
        infos = _resolve_within(target.host, target.port, SAVE_RESOLVE_SECONDS)
        if infos is None:
            return target
        _check_addresses(target, infos)
    except Refused as error:
        raise ValidationError({"url": str(error)}) from None
    return target


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to `url` within `timeout` seconds in all. Raises Refused or SendError."""
    started = time.monotonic()
    deadline = started + timeout
    target = parse(url)
    infos = _resolve(target.host, target.port)
    _check_addresses(target, infos)
    sock = _connect(target, infos, deadline)
    # The watchdog: whatever the receiver does, the attempt ends at the deadline.
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _shut, args=(sock,))
    watchdog.daemon = True
    watchdog.start()
    try:
        if target.scheme == "https":
            context = ssl.create_default_context()
            sock.settimeout(_remaining(deadline))
            sock = context.wrap_socket(sock, server_hostname=target.host)
            watchdog.args = (sock,)
        connection = http.client.HTTPConnection(target.host, target.port)
        connection.sock = sock  # already connected to the checked address: no second lookup
        sock.settimeout(_remaining(deadline))
        connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        default_port = _DEFAULT_PORTS[target.scheme]
        host = f"[{target.host}]" if ":" in target.host else target.host
        connection.putheader("Host", host if target.port == default_port else f"{host}:{target.port}")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES)
        answer = Answer(
            status=response.status,
            excerpt=excerpt.decode("utf-8", errors="replace"),
            retry_after=_retry_after(response.getheader("Retry-After")),
            duration_ms=round((time.monotonic() - started) * 1000),
        )
    except (OSError, http.client.HTTPException) as error:
        if time.monotonic() >= deadline - 0.01 or isinstance(error, TimeoutError):
            raise SendError(f"No answer within {timeout:g} s.") from None
        raise SendError(_described(error)) from None
    finally:
        watchdog.cancel()
        _shut(sock)
        sock.close()
    return answer


def _connect(target: Target, infos: list[tuple], deadline: float) -> socket.socket:
    last_error: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(min(_remaining(deadline), 5.0))
            sock.connect(address)
            return sock
        except OSError as error:
            sock.close()
            last_error = error
    if isinstance(last_error, TimeoutError):
        raise SendError(f"Could not connect to {target.host}:{target.port} in time.")
    raise SendError(f"Could not connect to {target.host}:{target.port}: {_described(last_error)}")


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _described(error: BaseException | None) -> str:
    if error is None:
        return "no address to connect to."
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return f"{text}."[:300]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date; None otherwise."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())
