"""Uploading a version through an upload session (docs/storage.md, "Upload sessions").

The metadata and the manifest go first, so the server refuses a bad path, a missing permission
or a full quota before any file byte is sent, and answers which blobs it still needs (none when
the caller can already read versions holding them). Each needed blob is then sent in numbered
parts, several blobs at once, one progress bar over the whole, and the version is created by
``complete``.

A state file remembers the session, so a restarted upload resumes each blob from the last byte
the server acknowledged; the files' hashes are remembered in the user's cache folder, so neither
a resumed upload nor the same files uploaded again are read twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from maisie.errors import APIError, Conflict, MaisieError, NotFound, ValidationError
from maisie.utils import http
from maisie.utils.folders import BLOCK, LocalFile, digest, hash_files, load_hashes, manifest, run_parallel, save_hashes
from maisie.utils.progress import Progress

logger = logging.getLogger(__name__)

#: how many blobs are sent at once
PARALLEL = 4
#: (connect, read) timeouts of one part: the server fsyncs it before answering
PART_TIMEOUT = (10, 600)
#: how many times a part the server refused as damaged in transit (400 digest_mismatch) is sent again
PART_ATTEMPTS = 3


@dataclass
class UploadStats:
    """What an upload moved: file bytes sent, and bytes the server did not need to receive."""

    files: int = 0
    total_bytes: int = 0  # the manifest's total
    sent_bytes: int = 0  # file bytes sent in parts (a part sent twice counts twice)
    resumed_bytes: int = 0  # acknowledged by the server before this run
    skipped_bytes: int = 0  # blobs the server did not ask for (it holds them, and you may read them)
    resumed: bool = False  # an earlier session was taken up again
    session_id: str = ""


class PartReader:
    """Bytes ``start`` to ``end`` of a file as a request body of known length, read in blocks."""

    def __init__(self, path: Path, start: int, end: int, on_read: Callable[[int], None] | None = None) -> None:
        self.path, self.start, self.end = path, start, end
        self.on_read = on_read
        self.read_bytes = 0
        self._handle = None

    def __len__(self) -> int:
        return self.end - self.start

    def read(self, size: int = -1) -> bytes:
        if self._handle is None:
            self._handle = self.path.open("rb")
            self._handle.seek(self.start)
        left = len(self) - self.read_bytes
        size = left if size is None or size < 0 else min(size, left)
        chunk = self._handle.read(size) if size > 0 else b""
        if size > 0 and not chunk:
            raise ValidationError(f"{self.path} shrank while it was being uploaded.")
        self.read_bytes += len(chunk)
        if self.on_read and chunk:
            self.on_read(len(chunk))
        if self.read_bytes >= len(self):
            self.close()
        return chunk

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def part_digest(path: Path, start: int, end: int) -> str:
    """The ``Content-Digest`` of a part (RFC 9530): its SHA-256 in base64."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            chunk = handle.read(min(BLOCK, left))
            if not chunk:
                raise ValidationError(f"{path} shrank while it was being uploaded.")
            sha.update(chunk)
            left -= len(chunk)
    return f"sha-256=:{base64.b64encode(sha.digest()).decode()}:"


# --- the state file ---------------------------------------------------------------------------


def load_state(path: Path | None) -> dict:
    """What an earlier run left in the state file, or ``{}`` (also when it is unreadable)."""
    if path is None or not path.is_file():
        return {}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        logger.warning("Ignoring the unreadable upload state %s", path)
        return {}
    return state if isinstance(state, dict) else {}


def save_state(path: Path | None, state: dict) -> None:
    """Write the state file atomically; an unwritable place only costs the resume."""
    if path is None:
        return
    try:
        fd, temp = tempfile.mkstemp(prefix=".maisie-upload-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(temp, path)
    except OSError as exc:
        logger.warning("Cannot write the upload state %s (%s): a restarted upload will start over", path, exc)


# --- the session ------------------------------------------------------------------------------


@dataclass
class SessionUpload:
    """One upload of a version through a session.

    :param request: sends an authenticated request (`BaseAction._request`)
    :param url: turns an API path into a URL (`BaseAction._url`)
    :param fields: the version's metadata as `POST uploads/` takes it (without ``files``)
    :param files: the files, not necessarily hashed yet
    :param state_path: the state file (``None``: no resume across runs)
    :param hashes_key: the file or folder whose hashes are remembered (``None``: not remembered)
    """

    request: Callable[..., requests.Response]
    url: Callable[[str], str]
    fields: dict[str, Any]
    files: list[LocalFile]
    state_path: Path | None = None
    hashes_key: Path | None = None
    parallel: int = PARALLEL
    progress: bool | None = None
    label: str = "Uploading"
    stats: UploadStats = field(default_factory=UploadStats)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> tuple[dict, bool]:
        """Upload; returns (the version, whether it was created) as the server answered."""
        total = sum(file.size for file in self.files)
        known = load_hashes(self.hashes_key) if self.hashes_key else {}
        with Progress(total, label="Hashing", enabled=self.progress and total > 0) as bar:
            self.files = hash_files(self.files, known, on_read=bar.update, workers=self.parallel)
        if self.hashes_key:
            save_hashes(self.hashes_key, self.files)
        entries = manifest(self.files)
        body = {**self.fields, "files": entries}
        key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        self.stats.files, self.stats.total_bytes = len(entries), total
        state = {"server": self.url(""), "request": key, "digest": digest(entries)}
        previous = load_state(self.state_path)
        # The same request (metadata and files) resumes its session; on another server, or once it
        # expired, the session is not found and a new one is opened.
        if previous.get("request") == key and previous.get("session"):
            state["session"] = previous["session"]
        elif previous.get("session"):
            self._abandon(str(previous["session"]))
            self._forget()

        session = self._resume(state.get("session")) if state.get("session") else None
        if session is None:
            status, answer = self._call("POST", "uploads/", json=body)
            if status == 200 and answer.get("created") is False:
                self._forget()
                return answer["data"], False
            session = answer["data"]
            state["session"] = session["id"]
            save_state(self.state_path, state)  # only now: a refused upload leaves nothing behind
        self.stats.session_id = str(session["id"])
        self._send_blobs(session, initial=True)

        for attempt in (1, 2):
            try:
                status, answer = self._call("POST", f"uploads/{session['id']}/complete")
                break
            except Conflict as exc:  # blobs_missing: a blob came back to 0 meanwhile; send it again
                if attempt == 2 or exc.details.get("code") != "blobs_missing":
                    raise
                session = self._call("GET", f"uploads/{session['id']}/")[1]["data"]
                self._send_blobs(session, initial=False)
        self._forget()
        return answer["data"], answer.get("created", status == 201) is not False

    # --- steps --------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict]:
        response = self.request(method, path, **kwargs)
        body = http.decode_body(response, context=path.strip("/"))
        return response.status_code, body

    def _resume(self, session_id: str) -> dict | None:
        """The session an earlier run opened, if the server still has it open."""
        try:
            session = self._call("GET", f"uploads/{session_id}/")[1]["data"]
        except NotFound:  # expired, completed, or deleted
            logger.info("Upload session %s is gone; opening a new one", session_id)
            return None
        if session.get("state", "open") != "open":
            return None
        self.stats.resumed = True
        return session

    def _abandon(self, session_id: str) -> None:
        """Delete the session of an earlier run whose metadata or files have changed since: the
        bytes it announced would count against the workspace's quota until it expired."""
        try:
            self.request("DELETE", f"uploads/{session_id}/").close()
        except MaisieError as exc:
            logger.info("Could not delete the earlier upload session %s: %s", session_id, exc)

    def _forget(self) -> None:
        if self.state_path is not None:
            self.state_path.unlink(missing_ok=True)

    def _send_blobs(self, session: dict, *, initial: bool) -> None:
        listed = session.get("blobs") or []
        blobs = [blob for blob in listed if _pending(blob)]
        sources: dict[str, LocalFile] = {}
        for file in self.files:
            sources.setdefault(file.sha256, file)
        if initial:
            needed = {blob["sha256"] for blob in listed}
            self.stats.skipped_bytes = sum(file.size for file in sources.values() if file.sha256 not in needed)
            self.stats.resumed_bytes = sum(int(blob.get("received") or 0) for blob in listed)
        if not blobs:
            return
        total = sum(int(blob["size"]) for blob in blobs)
        done = sum(int(blob.get("received") or 0) for blob in blobs)
        with Progress(total, label=self.label, enabled=self.progress, initial=done) as bar:

            def moved(count: int, sent: bool) -> None:
                with self._lock:
                    bar.update(count)
                    if sent:
                        self.stats.sent_bytes += count

            def one(blob: dict) -> None:
                source = sources.get(blob["sha256"])
                if source is None:
                    raise APIError(f"The server asks for a blob {blob['sha256']} that no file here holds.")
                self._send_blob(session["id"], blob, source, moved)

            run_parallel(one, blobs, self.parallel, self._stop)

    def _send_blob(self, session_id: str, blob: dict, source: LocalFile, moved: Callable[[int, bool], None]) -> None:
        """Send a blob's parts in order, from the server's `received` on."""
        size, part_size = int(blob["size"]), int(blob["part_size"])
        received = int(blob.get("received") or 0)
        damaged = 0
        while not self._stop.is_set():
            number = received // part_size
            part = _Part(source.source, number * part_size, min((number + 1) * part_size, size), moved)
            response = self.request(
                "PUT",
                f"uploads/{session_id}/blobs/{blob['sha256']}/parts/{number}",
                body_factory=part.body,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Digest": part_digest(source.source, part.start, part.end),
                },
                timeout=PART_TIMEOUT,
            )
            try:
                data = http.decode(response, context=f"uploads/{session_id}")
            except Conflict as exc:  # out_of_order: carry on from where the server is
                at = exc.details.get("received")
                if not isinstance(at, int) or isinstance(at, bool):
                    raise
                part.rewind()
                moved(at - received, False)
                received = at
                continue
            except ValidationError:
                part.rewind()
                code = _code(response)
                if code in ("digest_mismatch", "short_body") and damaged < PART_ATTEMPTS:
                    damaged += 1  # damaged on the way: send it again
                    continue
                if code == "sha256_mismatch":
                    raise ValidationError(
                        f"{source.source} changed after it was hashed (its bytes no longer have the SHA-256 "
                        "of the manifest); run the upload again."
                    ) from None
                raise
            finally:
                part.close()
            received = int(data["received"])
            if data.get("complete") or received >= size:
                return


class _Part:
    """One part's body, rebuilt for every try of its request; the bar goes back by what a failed
    try had read, while the bytes sent keep counting it."""

    def __init__(self, path: Path, start: int, end: int, moved: Callable[[int, bool], None]) -> None:
        self.path, self.start, self.end, self.moved = path, start, end, moved
        self.reader: PartReader | None = None

    def body(self) -> PartReader:
        self.rewind()
        self.reader = PartReader(self.path, self.start, self.end, lambda count: self.moved(count, True))
        return self.reader

    def rewind(self) -> None:
        if self.reader is not None:
            self.moved(-self.reader.read_bytes, False)
            self.close()
            self.reader = None

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()


def _pending(blob: dict) -> bool:
    size, received = int(blob.get("size") or 0), int(blob.get("received") or 0)
    return received < size or size == 0


def _code(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


__all__ = ["PartReader", "SessionUpload", "UploadStats", "load_state", "part_digest"]
