"""HTTP plumbing shared by every call: one session, retries with backoff, error mapping.

Connection errors are retried with exponential backoff. Requests that are safe to repeat
(GET, PUT, DELETE) are also retried after a dropped connection or a 502/503/504; a POST only
when the connection could not be opened at all, so an upload is never stored twice.

A 429 (too many requests), or a 503 that says `Retry-After`, is retried by any method: the
server refused the request before doing anything. The client waits as long as `Retry-After`
asks (seconds or an HTTP date), at most :data:`RETRY_AFTER_MAX_SECONDS`; a server that asks for
longer gets its answer back at once, as an error, rather than a client that hangs.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from maisie import __version__
from maisie.errors import ConfigurationError, ConnectionFailed, error_for_status

logger = logging.getLogger(__name__)

#: how many times a request is tried before giving up
ATTEMPTS = 5
#: seconds before the first retry; doubled after each
BACKOFF_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 8.0
#: (connect, read) timeouts in seconds for ordinary calls
TIMEOUT = (10, 120)
#: bytes handed to the socket per write when sending a body (urllib3's default is 16 KiB)
SEND_BLOCK = 1024 * 1024

#: the longest `Retry-After` the client waits for (seconds); a longer one is not waited for
RETRY_AFTER_MAX_SECONDS = 120.0
#: how many times a request refused with 429 (or 503 and `Retry-After`) is tried in all
RETRY_AFTER_ATTEMPTS = 6

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_RETRY_STATUSES = frozenset({502, 503, 504})


class _BlockAdapter(HTTPAdapter):
    """Sends request bodies in 1 MiB blocks: fewer Python-level calls per GiB uploaded."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blocksize", SEND_BLOCK)
        super().init_poolmanager(*args, **kwargs)


def make_session() -> requests.Session:
    """A `requests.Session` with the client's User-Agent and large send blocks."""
    session = requests.Session()
    adapter = _BlockAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"maisie-client/{__version__} {requests.utils.default_user_agent()}"
    return session


def api_base(api_url: str | None) -> str:
    """The API root without a trailing slash; a bare server address gets `/api/v1` appended."""
    if not api_url:
        raise ConfigurationError(
            "No server configured: run `maisie login`, or set MAISIE_API_URL (e.g. https://maisie.example.com/api/v1)."
        )
    url = str(api_url).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"api_url must be an http(s) address, not {api_url!r}.")
    if parts.path in ("", "/"):
        url = urlunsplit((parts.scheme, parts.netloc, "/api/v1", "", ""))
    return url


def _is_connect_error(exc: requests.RequestException) -> bool:
    """True when no byte can have reached the server: the connection was never opened."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc)
        return any(
            marker in text
            for marker in ("NewConnectionError", "NameResolutionError", "Connection refused", "ConnectTimeout")
        )
    return False


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1-based)."""
    return min(BACKOFF_SECONDS * (2 ** (attempt - 1)), BACKOFF_MAX_SECONDS)


def retry_after_seconds(response: requests.Response, now: float | None = None) -> float | None:
    """How long a 429, or a 503 with `Retry-After`, asks the client to wait; None when it is no
    such answer or the header is unreadable. A 429 without the header waits the first backoff."""
    if response.status_code not in (429, 503):
        return None
    seconds = _parse_retry_after(response.headers.get("Retry-After") or "", now)
    if seconds is None and response.status_code == 429:
        return backoff_delay(1)  # refused without a readable time: a short wait all the same
    return seconds


def _parse_retry_after(value: str, now: float | None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date (RFC 9110, 10.2.3)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    data: Any = None,
    body_factory: Callable[[], Any] | None = None,
    attempts: int | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send a request, retrying connection failures with exponential backoff.

    :param body_factory: called before every attempt to build a fresh streaming body
        (a stream can be read only once); used instead of `data`
    :param attempts: how many tries in all (default :data:`ATTEMPTS`)
    :raises ConnectionFailed: when the server stayed unreachable
    """
    method = method.upper()
    attempts = attempts or ATTEMPTS
    kwargs.setdefault("timeout", TIMEOUT)
    refusals = 0  # answers that asked to come back later (429, or 503 with Retry-After)
    attempt = 0
    while True:
        attempt += 1
        body = body_factory() if body_factory is not None else data
        try:
            response = session.request(method, url, data=body, **kwargs)
        except requests.exceptions.InvalidURL as exc:
            raise ConfigurationError(f"Invalid server address {url!r}: {exc}") from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            retriable = method in _IDEMPOTENT or _is_connect_error(exc)
            if not retriable or attempt == attempts:
                raise ConnectionFailed(f"Cannot reach {_host(url)}: {_reason(exc)}") from exc
            delay = backoff_delay(attempt)
            logger.warning("%s %s failed (%s); retrying in %.1fs", method, url, _reason(exc), delay)
            time.sleep(delay)
            continue
        wait = retry_after_seconds(response)
        if wait is not None:
            refusals += 1
            if refusals >= RETRY_AFTER_ATTEMPTS or wait > RETRY_AFTER_MAX_SECONDS:
                return response  # the caller reports the refusal as an error
            logger.warning("%s %s answered %s; retrying in %.1fs as asked", method, url, response.status_code, wait)
            response.close()
            time.sleep(wait)
            attempt -= 1  # a refusal is not a failed attempt: it has a budget of its own
            continue
        if response.status_code in _RETRY_STATUSES and method in _IDEMPOTENT and attempt < attempts:
            delay = backoff_delay(attempt)
            logger.warning("%s %s answered %s; retrying in %.1fs", method, url, response.status_code, delay)
            response.close()
            time.sleep(delay)
            continue
        return response


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def _reason(exc: Exception) -> str:
    """The innermost, most telling part of a requests/urllib3 exception."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset"):
        if marker in text:
            return marker.lower()
    return text.split(": ")[-1][:150] or type(exc).__name__


def decode_body(response: requests.Response, context: str = "") -> Any:
    """The decoded JSON body of a successful answer, or the matching :mod:`maisie.errors` exception.

    :param context: what was asked (``"models/7"``), named in "not found" messages
    """
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        raise error_for_status(response.status_code, body, context)
    if isinstance(body, dict) and ("data" in body or body.get("status") == "success"):
        return body
    raise error_for_status(
        502, {"message": f"Unexpected answer from the server (HTTP {response.status_code}): is this Maisie's API?"}
    )


def unwrap(body: dict) -> Any:
    """The `data` of a decoded body; `True` for `{"status": "success"}` (a delete)."""
    return body.get("data", True)


def decode(response: requests.Response, context: str = "") -> Any:
    """The `data` of a successful answer, or the matching :mod:`maisie.errors` exception.

    Successful answers are `{"data": ...}`; a delete answers `{"status": "success"}` (gives `True`).
    """
    return unwrap(decode_body(response, context))
