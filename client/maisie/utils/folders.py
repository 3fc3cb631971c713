"""A model folder on disk: which files it holds, their manifest and its digest.

The manifest and digest follow docs/storage.md byte for byte (paths relative, ``/`` between
folders, in NFC; lines sorted by the paths' UTF-8 bytes), so the client knows a version's digest
before sending anything. The path rules themselves are the server's to enforce: it refuses a bad
path with a message naming it before any byte is sent, and one declaration of them (on the
server) cannot drift from another.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import stat
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from maisie.errors import ValidationError

BLOCK = 1024 * 1024

#: the file that lets a restarted upload of a folder resume (see maisie/utils/uploads.py)
STATE_NAME = ".maisie-upload"
#: never part of a model: the client's own upload state, and `.maisie` settings files, which
#: may hold an API token
ALWAYS_EXCLUDED = (STATE_NAME, "*.maisie-upload", ".maisie")


@dataclass(frozen=True)
class LocalFile:
    """A file to upload: its manifest path and where it is on disk."""

    path: str  # relative, "/" between folders, NFC
    source: Path
    size: int
    stamp: str  # see `file_stamp`
    sha256: str = ""

    def entry(self) -> dict:
        """Its manifest entry, as the API takes it."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


def matches(path: str, pattern: str, *, folder: bool = False) -> bool:
    """Whether a relative path matches one ``--include``/``--exclude`` glob, as ``.gitignore`` reads one.

    A pattern without ``/`` matches a name at any depth: ``*.bin`` takes ``a/b/x.bin``, and
    ``logs`` every file below any folder named ``logs``. A pattern with ``/`` matches from the
    folder's top (``*`` then crosses ``/``, as in ``fnmatch``: ``checkpoints/*.pt``); a file
    below a folder it matches is matched too. A trailing ``/`` matches folders only
    (``runs/``). Matching is case-sensitive.

    :param folder: `path` is a folder (pruned from the walk when an exclude matches it)
    """
    pattern = pattern.strip().removeprefix("./")
    folder_only = pattern.endswith("/")
    body = pattern.rstrip("/").lstrip("/")
    if not body:
        return False
    parts = path.split("/")
    # the folders the file is in, and the file itself unless the pattern names folders only
    depth = len(parts) if (folder or not folder_only) else len(parts) - 1
    if "/" not in body:
        return any(fnmatch.fnmatchcase(name, body) for name in parts[:depth])
    return any(fnmatch.fnmatchcase("/".join(parts[:end]), body) for end in range(1, depth + 1))


def selected(path: str, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> bool:
    """A file is taken when it matches some include (or none were given) and no exclude."""
    include, exclude = list(include), list(exclude)
    if any(matches(path, pattern) for pattern in (*ALWAYS_EXCLUDED, *exclude)):
        return False
    return not include or any(matches(path, pattern) for pattern in include)


def relative_path(parts: Iterable[str]) -> str:
    """The manifest path of a file from its names below the folder: ``/``-joined, in NFC.

    macOS hands out names in NFD: the same name must give the same path (and digest) everywhere.
    """
    text = "/".join(parts)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise ValidationError(f"The file name '{shown}' is not valid UTF-8; rename it or --exclude it.") from None
    return unicodedata.normalize("NFC", text)


def walk(folder: str | Path, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[LocalFile]:
    """The files of `folder` to upload, sorted by path, not yet hashed.

    Symbolic links are followed (a Hugging Face cache's snapshot folder is made of them), a
    folder reached twice through links only once. Anything that is not a regular file or a
    folder (a socket, a pipe) is refused, as is a broken link: a model missing a file it seems to
    hold should not be uploaded without a word; ``--exclude`` it.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ValidationError(f"Folder {folder} not found.")
    include, exclude = list(include), list(exclude)
    found: list[LocalFile] = []
    seen_dirs: set[tuple[int, int]] = set()

    def visit(directory: Path, parts: tuple[str, ...]) -> None:
        info = directory.stat()
        key = (info.st_dev, info.st_ino)
        if key in seen_dirs:
            return
        seen_dirs.add(key)
        with os.scandir(directory) as entries:
            children = sorted(entries, key=lambda entry: entry.name)
        for entry in children:
            names = (*parts, entry.name)
            path = relative_path(names)
            try:
                info = entry.stat(follow_symlinks=True)
            except FileNotFoundError:
                if not selected(path, include, exclude):
                    continue
                raise ValidationError(f"{Path(entry.path)} is a broken symbolic link; --exclude it.") from None
            if stat.S_ISDIR(info.st_mode):
                if not any(matches(path, pattern, folder=True) for pattern in exclude):
                    visit(Path(entry.path), names)
                continue
            if not selected(path, include, exclude):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise ValidationError(f"{Path(entry.path)} is not a regular file; --exclude it.")
            found.append(LocalFile(path, Path(entry.path), info.st_size, file_stamp(info)))

    visit(root, ())
    if not found:
        raise ValidationError(
            f"No files to upload in {folder}" + (" with these --include/--exclude." if include or exclude else ".")
        )
    found.sort(key=lambda file: file.path.encode("utf-8"))
    return found


def sha256_file(path: Path, on_read: Callable[[int], None] | None = None) -> str:
    """The SHA-256 of a file, read in blocks (hashlib releases the GIL: threads hash in parallel)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(BLOCK):
            digest.update(chunk)
            if on_read:
                on_read(len(chunk))
    return digest.hexdigest()


def file_stamp(info: os.stat_result) -> str:
    """What says a file is unchanged since it was hashed, as git's index reads it: size,
    modification and change times in nanoseconds, inode. The change time cannot be set back by
    a program, so a file rewritten with its old size and modification time still differs."""
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"


def local_file(source: Path, path: str | None = None) -> LocalFile:
    """A single file to upload, its manifest path its own name (in NFC)."""
    info = source.stat()
    return LocalFile(path or relative_path((source.name,)), source, info.st_size, file_stamp(info))


def hash_files(
    files: list[LocalFile],
    known: Mapping[str, Mapping] | None = None,
    on_read: Callable[[int], None] | None = None,
    workers: int = 4,
) -> list[LocalFile]:
    """The files with their SHA-256, in the same order.

    A hash remembered from an earlier upload (`known`: path -> {"stamp", "sha256"}, see
    :func:`load_hashes`) is reused when the file's stamp is unchanged, so uploading the same
    20 GiB again, or resuming, does not read it all first.
    """
    known = known or {}
    lock = threading.Lock()

    def counted(count: int) -> None:
        if on_read:
            with lock:
                on_read(count)

    def one(file: LocalFile) -> LocalFile:
        before = known.get(file.path) or {}
        if before.get("stamp") == file.stamp and before.get("sha256"):
            counted(file.size)
            return _with_sha(file, str(before["sha256"]))
        sha = sha256_file(file.source, counted)
        if file_stamp(file.source.stat()) != file.stamp:
            raise ValidationError(f"{file.source} changed while it was being read; try again when it is written.")
        return _with_sha(file, sha)

    if len(files) == 1 or workers <= 1:
        return [one(file) for file in files]
    with ThreadPoolExecutor(max_workers=min(workers, len(files))) as pool:
        return list(pool.map(one, files))


def _hashes_path(source: Path) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(os.fsencode(os.path.realpath(source))).hexdigest()[:32]
    return cache / "maisie" / "hashes" / f"{key}.json"


def load_hashes(source: Path) -> dict:
    """The hashes remembered for the files of `source` (a folder, or one file), by path."""
    try:
        data = json.loads(_hashes_path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def save_hashes(source: Path, files: Iterable[LocalFile]) -> None:
    """Remember the files' hashes in the user's cache folder (``~/.cache/maisie/hashes/``), not in
    the model's folder; a cache that cannot be written only costs hashing again."""
    target = _hashes_path(source)
    data = {
        "source": os.fsdecode(os.path.realpath(source)),
        "files": {f.path: {"stamp": f.stamp, "sha256": f.sha256} for f in files},
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temp, target)
    except OSError:
        pass


def run_parallel(func: Callable, items: list, workers: int, stop: threading.Event | None = None) -> None:
    """Run `func` on every item, `workers` at a time. The first error (or Ctrl-C) stops the rest:
    items not started are dropped, `stop` is set for those running (they check it between parts or
    blocks, so an interrupted command ends at once, leaving what it did resumable), and it is raised."""
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))))
    try:
        for future in [pool.submit(func, item) for item in items]:
            future.result()
    except BaseException:
        if stop is not None:
            stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()


def _with_sha(file: LocalFile, sha: str) -> LocalFile:
    return LocalFile(file.path, file.source, file.size, file.stamp, sha)


def canonical_bytes(entries: Iterable[Mapping]) -> bytes:
    """docs/storage.md's canonical form: ``<sha256> <size> <path>\\n`` per file, sorted by the
    paths' UTF-8 bytes."""
    rows = sorted(entries, key=lambda entry: entry["path"].encode("utf-8"))
    return b"".join(f"{entry['sha256']} {entry['size']} {entry['path']}\n".encode() for entry in rows)


def digest(entries: Iterable[Mapping]) -> str:
    """A version's digest: the SHA-256 of its manifest's canonical bytes."""
    return hashlib.sha256(canonical_bytes(entries)).hexdigest()


def manifest(files: Iterable[LocalFile]) -> list[dict]:
    """The manifest the API takes: ``[{"path", "size", "sha256"}]`` in canonical order."""
    return [file.entry() for file in sorted(files, key=lambda file: file.path.encode("utf-8"))]
