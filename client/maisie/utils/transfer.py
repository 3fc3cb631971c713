"""Moving model files: a streaming multipart upload and a resumable, verified download.

Neither holds more than a block (1 MiB) of the file in memory, whatever its size.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from maisie.errors import ChecksumMismatch, ConnectionFailed, TargetExists, ValidationError
from maisie.utils import http
from maisie.utils.progress import Progress

logger = logging.getLogger(__name__)

BLOCK = 1024 * 1024
SHA256_FIELD = "sha256"


def new_boundary() -> str:
    """A random multipart boundary."""
    return f"maisie-{secrets.token_hex(16)}"


def _quote_header(value: str) -> str:
    """A multipart parameter value, escaped the way browsers do (WHATWG HTML)."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartUpload:
    """A ``multipart/form-data`` body that streams a file from disk.

    The form fields come first, then the file, then a ``sha256`` field whose value is the
    SHA-256 of the file's bytes as they were sent: the file is read once, and the server
    refuses the upload if what it received hashes differently. The length is known in
    advance, so the body goes with a ``Content-Length`` (servers that do not take chunked
    request bodies, like Django's, get it whole).

    :param fields: the form fields (name, value), sent in order
    :param path: the file to send
    :param file_field: the name of the file's form field
    :param filename: the name announced for the file (default: the file's own name)
    :param on_read: called with the number of file bytes read, for a progress bar
    :param boundary: the multipart boundary (default: a new random one)
    """

    def __init__(
        self,
        fields: list[tuple[str, str]],
        path: str | Path,
        file_field: str = "file",
        filename: str | None = None,
        on_read: Callable[[int], None] | None = None,
        boundary: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self.boundary = boundary or new_boundary()
        self.on_read = on_read
        self._sha256 = hashlib.sha256()
        self._digest: str | None = None
        name = filename or self.path.name
        head = b"".join(self._field(key, value) for key, value in fields)
        # As browsers do (RFC 7578 rules out `filename*`): UTF-8, with `"` and line breaks escaped.
        disposition = f'form-data; name="{_quote_header(file_field)}"; filename="{_quote_header(name)}"'
        head += (
            f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._head = head
        self._tail_length = len(self._tail("0" * 64))
        self._chunks = self._generate()
        self._buffer = memoryview(b"")

    def _field(self, name: str, value: str) -> bytes:
        return (
            (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote_header(name)}"\r\n\r\n').encode()
            + str(value).encode("utf-8")
            + b"\r\n"
        )

    def _tail(self, digest: str) -> bytes:
        return b"\r\n" + self._field(SHA256_FIELD, digest) + f"--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header for this body."""
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def sha256(self) -> str | None:
        """The file's SHA-256 in hex, once it has been read to the end."""
        return self._digest

    def __len__(self) -> int:
        return len(self._head) + self.size + self._tail_length

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = self.read(BLOCK)
            if not chunk:
                return
            yield chunk

    def _generate(self) -> Iterator[bytes]:
        yield self._head
        remaining = self.size
        with self.path.open("rb") as handle:
            while remaining > 0:
                chunk = handle.read(min(BLOCK, remaining))
                if not chunk:
                    raise ValidationError(f"{self.path} shrank while it was being uploaded.")
                remaining -= len(chunk)
                self._sha256.update(chunk)
                if self.on_read:
                    self.on_read(len(chunk))
                yield chunk
        self._digest = self._sha256.hexdigest()
        yield self._tail(self._digest)

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of the body (all that is left when `size` is negative)."""
        if size is None or size < 0:
            return b"".join([bytes(self._buffer), *self._chunks])
        parts = []
        wanted = size
        while wanted > 0:
            if not self._buffer:
                try:
                    self._buffer = memoryview(next(self._chunks))
                except StopIteration:
                    break
            part = self._buffer[:wanted]
            self._buffer = self._buffer[wanted:]
            parts.append(bytes(part))
            wanted -= len(part)
        return b"".join(parts)


# --- downloads -------------------------------------------------------------------------------


def safe_filename(name: str | None, fallback: str) -> str:
    """A server-given file name reduced to a plain name in the target folder: its last path
    component (either separator), without control characters, never `.` or `..`.

    A name starting with a dot is kept: the caller decides whether it may write a hidden file."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base if base not in ("", ".", "..") else fallback


def partial_path(target: str | Path, sha256: str | None) -> Path:
    """Where a download of `target` is kept until it is complete and verified.

    The name holds the start of the expected SHA-256, so a partial file is only ever resumed
    into the same content.
    """
    target = Path(target)
    tag = (sha256 or "unknown")[:12]
    return target.with_name(f".{target.name}.{tag}.part")


def _sha256_of(path: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(BLOCK):
            digest.update(chunk)
    return digest


def download_file(
    request: Callable[..., requests.Response],
    url: str,
    target: str | Path,
    *,
    sha256: str | None,
    size: int | None = None,
    progress: bool | None = None,
    label: str = "",
    attempts: int | None = None,
    overwrite: bool = True,
    bar: Progress | None = None,
    stop: threading.Event | None = None,
) -> Path:
    """Download `url` to `target`: through a partial file, resumed with ``Range``, verified, then
    renamed into place.

    A partial file left by an interrupted download is resumed. A dropped connection is
    resumed from where it stopped, with backoff. When the SHA-256 of the complete file is not
    `sha256`, the partial file is deleted and :class:`ChecksumMismatch` raised: nothing is left.

    :param request: sends a request (``request(method, url, headers=..., stream=True)``),
        authenticated when the URL needs it
    :param sha256: the expected SHA-256 in hex (from the model's ``file.sha256``)
    :param size: the expected size in bytes, when known
    :param progress: draw a progress bar on stderr; by default when stderr is a terminal
    :param overwrite: replace `target` if it exists; otherwise :class:`TargetExists` is raised,
        before the transfer and again if the file appeared meanwhile (the verified partial file
        is then kept, so a call with `overwrite` finishes without a transfer)
    :returns: the path of the downloaded file
    """
    target = Path(target)
    if not overwrite and os.path.lexists(target):
        raise TargetExists(target)
    expected = (sha256 or "").lower() or None
    temp = partial_path(target, expected)
    attempts = attempts or http.ATTEMPTS
    offset = temp.stat().st_size if temp.exists() else 0
    if size is not None and offset > size:
        temp.unlink()
        offset = 0
    digest = _sha256_of(temp) if offset else hashlib.sha256()
    if offset:
        logger.info("Resuming the download of %s at byte %d", target.name, offset)
    own_bar = bar is None
    if bar is None:
        bar = Progress(size or 0, label=label, enabled=progress, initial=offset)
    else:
        bar.update(offset)
    failures = 0
    try:
        while size is None or offset < size or not temp.exists():
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
                if expected:
                    headers["If-Range"] = f'"{expected}"'
            try:
                response = request("GET", url, headers=headers, stream=True)
                with response:
                    status = response.status_code
                    if status == 416 and offset:
                        total = _total_from_content_range(response.headers.get("Content-Range"))
                        if total is not None and total == offset:
                            size = total  # the partial file is already complete
                            break
                        temp.unlink(missing_ok=True)
                        bar.update(-offset)
                        offset, digest = 0, hashlib.sha256()
                        continue
                    if status >= 400:
                        http.decode(response, context=url)  # raises the matching error
                    start = 0
                    if status == 206:
                        start = _start_from_content_range(response.headers.get("Content-Range"))
                        total = _total_from_content_range(response.headers.get("Content-Range"))
                        if size is None and total is not None:
                            size = total
                    elif size is None and response.headers.get("Content-Length"):
                        size = int(response.headers["Content-Length"])
                    if own_bar and size is not None:
                        bar.total = size
                    if start != offset:  # a full answer (200), or a range we did not ask for
                        if own_bar:
                            bar.reset(0)
                        else:
                            bar.update(-offset)
                        offset, digest = 0, hashlib.sha256()
                        mode = "wb"
                    else:
                        mode = "ab"
                    with temp.open(mode) as handle:
                        for chunk in response.iter_content(BLOCK):
                            if stop is not None and stop.is_set():
                                raise ConnectionFailed(f"Download of {target.name} stopped; run it again to resume.")
                            handle.write(chunk)
                            digest.update(chunk)
                            offset += len(chunk)
                            bar.update(len(chunk))
                    if size is None:
                        size = offset
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                failures += 1
                if failures >= attempts:
                    raise ConnectionFailed(
                        f"Download of {target.name} interrupted at byte {offset}; run it again to resume."
                    ) from exc
                delay = http.backoff_delay(failures)
                logger.warning("Download interrupted at byte %d (%s); resuming in %.1fs", offset, exc, delay)
                time.sleep(delay)
                continue
            if size is not None and offset < size:
                failures += 1  # the server closed the stream early
                if failures >= attempts:
                    raise ConnectionFailed(f"Download of {target.name} stopped at byte {offset} of {size}.")
                continue
            break
    finally:
        if own_bar:
            bar.close()

    actual = digest.hexdigest()
    if size is not None and offset > size:
        temp.unlink(missing_ok=True)
        raise ChecksumMismatch(f"Downloaded {offset} bytes for {target.name}, expected {size}; nothing was kept.")
    if expected and actual != expected:
        temp.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"The downloaded {target.name} has SHA-256 {actual}, not the {expected} recorded at upload; "
            "nothing was kept."
        )
    if not expected:
        logger.warning("The server gave no SHA-256 for %s; it was not verified", target.name)
    with temp.open("rb") as handle:
        os.fsync(handle.fileno())
    _move_into_place(temp, target, overwrite)
    return target


def _move_into_place(temp: Path, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, target)
        return
    # A hard link fails if the name is taken, atomically: a file that appeared during the
    # download is not replaced (a rename would replace it without a word).
    try:
        os.link(temp, target)
    except FileExistsError:
        raise TargetExists(target) from None
    except OSError:  # a file system without hard links: check, then rename
        if os.path.lexists(target):
            raise TargetExists(target) from None
        os.replace(temp, target)
        return
    temp.unlink()


def _start_from_content_range(value: str | None) -> int:
    match = re.match(r"bytes (\d+)-\d+/", value or "")
    return int(match.group(1)) if match else -1


def _total_from_content_range(value: str | None) -> int | None:
    match = re.search(r"/(\d+)\s*$", value or "")
    return int(match.group(1)) if match else None
