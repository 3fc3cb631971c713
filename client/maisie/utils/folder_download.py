"""Downloading a folder version: every file of its manifest, verified, resumed, skipped when present.

Each file goes through :func:`maisie.utils.transfer.download_file` (a partial file beside the
target, resumed with ``Range``, renamed into place once its SHA-256 matches), several at once,
under one progress bar. A file already there with the manifest's size and SHA-256 is not fetched
again, so a second download of the same version, or one after a crash, moves only what is missing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from maisie.errors import TargetExists, ValidationError
from maisie.utils.folders import run_parallel, sha256_file
from maisie.utils.progress import Progress
from maisie.utils.transfer import download_file

logger = logging.getLogger(__name__)

#: how many files are downloaded at once
PARALLEL = 4


@dataclass
class DownloadStats:
    """What a folder download did."""

    files: int = 0
    total_bytes: int = 0
    skipped_files: int = 0  # already there with the right SHA-256
    skipped_bytes: int = 0


def local_path(folder: Path, path: object) -> Path:
    """Where a manifest path is written below `folder`, refusing any path that could leave it.

    The server's path rules already forbid these; a client does not write outside the folder it
    was given on the word of a server.
    """
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        raise ValidationError(f"The server lists a file path the client will not write: {path!r}.")
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..") or ":" in part for part in parts):
        raise ValidationError(f"The server lists a file path the client will not write: {path!r}.")
    return folder.joinpath(*parts)


def _inside(folder: Path, target: Path) -> bool:
    """Whether `target`'s folder really is below `folder`, symbolic links followed."""
    root = os.path.realpath(folder)
    where = os.path.realpath(target.parent)
    return where == root or where.startswith(root.rstrip(os.sep) + os.sep)


def download_folder(
    request: Callable[..., requests.Response],
    files: list[Mapping],
    folder: str | Path,
    url_of: Callable[[Mapping], str],
    *,
    progress: bool | None = None,
    overwrite: bool = False,
    parallel: int = PARALLEL,
    label: str = "Downloading",
) -> DownloadStats:
    """Write every file of a manifest below `folder`, verified.

    :param request: sends an authenticated request (``request(method, url, headers=..., stream=True)``)
    :param files: the version's files: ``{"path", "size", "sha256"}`` each
    :param url_of: the download URL of one file
    :param overwrite: replace a file whose content differs (otherwise :class:`TargetExists`, raised
        before anything is fetched)
    :returns: what was fetched and what was already there
    """
    folder = Path(folder)
    plan = [(entry, local_path(folder, entry.get("path"))) for entry in files]
    stats = DownloadStats(files=len(plan), total_bytes=sum(int(entry["size"]) for entry, _ in plan))
    folder.mkdir(parents=True, exist_ok=True)

    todo = []
    with Progress(stats.total_bytes, label="Checking", enabled=progress and _any_present(plan)) as bar:
        for entry, target in plan:
            if _present(target, entry, bar.update):
                stats.skipped_files += 1
                stats.skipped_bytes += int(entry["size"])
            elif os.path.lexists(target) and not overwrite:
                raise TargetExists(target)
            else:
                todo.append((entry, target))
    for _entry, target in todo:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not _inside(folder, target):
            raise ValidationError(f"{target} would be written outside {folder} (through a symbolic link).")

    total = sum(int(entry["size"]) for entry, _ in todo)
    stop = threading.Event()
    with Progress(total, label=label, enabled=progress) as bar:

        def one(item: tuple[Mapping, Path]) -> Path:
            entry, target = item
            return download_file(
                request,
                url_of(entry),
                target,
                sha256=str(entry["sha256"]),
                size=int(entry["size"]),
                overwrite=overwrite,
                bar=bar,
                stop=stop,
            )

        run_parallel(one, todo, parallel, stop)
    return stats


def _any_present(plan: list) -> bool:
    return any(target.is_file() for _, target in plan)


def _present(target: Path, entry: Mapping, on_read: Callable[[int], None]) -> bool:
    """Whether `target` already holds the entry's bytes: its size, then its SHA-256."""
    try:
        if not target.is_file() or target.stat().st_size != int(entry["size"]):
            return False
    except OSError:
        return False
    return sha256_file(target, on_read) == entry["sha256"]
