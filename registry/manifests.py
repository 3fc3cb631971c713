"""A version's manifest (its files: path, size, SHA-256) and its digest: the one declaration.

Issue 16 (planned, not wired in yet): a model version holds a manifest, and the version's digest
is the SHA-256 of the manifest's canonical bytes. `docs/storage.md` documents both byte for byte;
this module is what the server runs. Everything here is pure: no database, no storage, so the
upload paths can refuse a bad manifest before any byte of a file is stored.

Path rules are strict on purpose. A version's paths are fixed forever once it exists, and
`mai models download` must write and verify every version on Linux, macOS and Windows alike, so a
path that one of them cannot hold (or would silently merge with another) is refused on the way in;
loosening a rule later breaks nobody, tightening one would.
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

MAX_ENTRIES = 10_000
MAX_PATH_BYTES = 1024  # UTF-8, the whole path
MAX_PART_BYTES = 255  # UTF-8, one name between slashes: NAME_MAX of ext4, APFS and NTFS-ish
MAX_SIZE = 2**63  # exclusive: sizes (and their total) fit a signed 64-bit column
_SHA256 = re.compile(r"[0-9a-f]{64}")

# Characters no path may hold, with the reason each one is refused. Windows cannot hold
# `< > : " | ? *` in a name (and a `C:` at the start of any part makes ntpath.join drop what came
# before it); a backslash is a separator there.
_REFUSED_ASCII = {
    "\\": "a backslash (a folder separator on Windows; use '/')",
    ":": "':' (a Windows drive letter or NTFS stream)",
    "<": "'<' (not allowed in Windows file names)",
    ">": "'>' (not allowed in Windows file names)",
    '"': "'\"' (not allowed in Windows file names)",
    "|": "'|' (not allowed in Windows file names)",
    "?": "'?' (not allowed in Windows file names)",
    "*": "'*' (not allowed in Windows file names)",
}
# Bidirectional controls can make a name read as another one in a listing ("Trojan Source").
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Windows device names, reserved with any extension and in any case ("nul.txt", "Com1.bin").
_RESERVED_STEM = re.compile(r"(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])", re.IGNORECASE)


class ManifestError(ValueError):
    """A manifest the server refuses: the message names the path (or field) and the rule."""

    def __init__(self, message: str, *, path: str | None = None, rule: str = "invalid"):
        super().__init__(message)
        self.path = path
        self.rule = rule


def _shown(path: str) -> str:
    """The path as a message shows it: quoted, control characters escaped, long ones cut."""
    return repr(path if len(path) <= 100 else path[:100] + "…")


def _refused_char(char: str) -> str | None:
    if char in _REFUSED_ASCII:
        return _REFUSED_ASCII[char]
    if char == "\x00":
        return "a NUL character"
    category = unicodedata.category(char)
    if category == "Cc" or category in ("Zl", "Zp"):
        return f"a control character (U+{ord(char):04X})"
    if char in _BIDI_CONTROLS:
        return f"a bidirectional control character (U+{ord(char):04X})"
    if category == "Cs":
        return "a lone surrogate (not valid UTF-8)"
    return None


def _reserved(part: str) -> bool:
    return bool(_RESERVED_STEM.fullmatch(part.split(".", 1)[0].rstrip(" ")))


def normalise_path(path: object) -> str:
    """The path in NFC if it follows every rule of docs/storage.md ("Paths"); ManifestError otherwise.

    Names that differ only by Unicode normalisation (macOS writes "é" as e + U+0301, Linux and
    Windows as one character) are the same name: every path is kept in NFC, so the digest and
    the duplicate check see one spelling.
    """
    if not isinstance(path, str):
        raise ManifestError(f"A path must be a string, not {type(path).__name__}.", rule="type")
    if not path:
        raise ManifestError("A path must not be empty.", path=path, rule="empty")
    # NFC never makes a path a quarter of its length, so a far longer one is refused before the
    # per-character checks below spend time on it.
    if len(path) > 4 * MAX_PATH_BYTES:
        raise ManifestError(
            f"The path {_shown(path)} is over {MAX_PATH_BYTES} bytes in UTF-8.", path=path, rule="too_long"
        )
    for char in path:
        reason = _refused_char(char)
        if reason:
            raise ManifestError(f"The path {_shown(path)} holds {reason}.", path=path, rule="character")
    path = unicodedata.normalize("NFC", path)
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        raise ManifestError(
            f"The path {_shown(path)} is over {MAX_PATH_BYTES} bytes in UTF-8.", path=path, rule="too_long"
        )
    if path.startswith("/"):
        raise ManifestError(
            f"The path {_shown(path)} is absolute: paths are relative to the version's folder.",
            path=path,
            rule="absolute",
        )
    if path.endswith("/"):
        raise ManifestError(
            f"The path {_shown(path)} ends with '/': a manifest lists files, not folders.",
            path=path,
            rule="trailing_slash",
        )
    for part in path.split("/"):
        if part == "":
            raise ManifestError(f"The path {_shown(path)} has an empty part ('//').", path=path, rule="empty_part")
        if part in (".", ".."):
            raise ManifestError(
                f"The path {_shown(path)} has a {part!r} part: paths are written without '.' and '..'.",
                path=path,
                rule="dot_part",
            )
        if len(part.encode("utf-8")) > MAX_PART_BYTES:
            raise ManifestError(
                f"The path {_shown(path)} has a name over {MAX_PART_BYTES} bytes in UTF-8.",
                path=path,
                rule="part_too_long",
            )
        if part[-1] in ". ":
            raise ManifestError(
                f"The path {_shown(path)} has a name ending in {part[-1]!r}, which Windows drops.",
                path=path,
                rule="trailing_dot_or_space",
            )
        if _reserved(part):
            raise ManifestError(
                f"The path {_shown(path)} uses the name {part!r}, reserved for a device on Windows.",
                path=path,
                rule="reserved_name",
            )
    return path


def _check_size(size: object, where: str) -> int:
    # bool is an int in Python, and JSON's true must not pass for 1.
    if not isinstance(size, int) or isinstance(size, bool):
        raise ManifestError(f"The size of {where} must be an integer, not {size!r}.", rule="size")
    if not 0 <= size < MAX_SIZE:
        raise ManifestError(f"The size of {where} must be between 0 and 2**63 - 1, not {size}.", rule="size")
    return size


def _check_sha256(sha256: object, where: str) -> str:
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ManifestError(
            f"The sha256 of {where} must be 64 lowercase hexadecimal digits, not {sha256!r}.", rule="sha256"
        )
    return sha256


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file of a version. Built only valid: the path is kept in NFC."""

    path: str
    size: int
    sha256: str

    def __post_init__(self):
        path = normalise_path(self.path)
        object.__setattr__(self, "path", path)
        _check_size(self.size, _shown(path))
        _check_sha256(self.sha256, _shown(path))


def _sort_key(entry: ManifestEntry) -> bytes:
    return entry.path.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Manifest:
    """A version's files, sorted by the UTF-8 bytes of their paths, whatever order they came in.

    Refused: no entries, over MAX_ENTRIES, two entries for one path, two paths that differ only
    by case (one file on macOS and Windows), and a path that is both a file and a folder of
    another ("a" and "a/b").
    """

    entries: tuple[ManifestEntry, ...]

    def __post_init__(self):
        entries = tuple(sorted(self.entries, key=_sort_key))
        object.__setattr__(self, "entries", entries)
        if not entries:
            raise ManifestError("A manifest must list at least one file.", rule="empty_manifest")
        if len(entries) > MAX_ENTRIES:
            raise ManifestError(
                f"A manifest lists at most {MAX_ENTRIES} files, not {len(entries)}.", rule="too_many_files"
            )
        _check_collisions(entries)
        if self.total_size >= MAX_SIZE:
            raise ManifestError("The files add up to 2**63 bytes or more.", rule="size")

    @property
    def total_size(self) -> int:
        return sum(entry.size for entry in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)


def _check_collisions(entries: tuple[ManifestEntry, ...]) -> None:
    # casefold() folds more than some file systems do ("ß" and "ss"): refusing a few names that
    # would have fitted is the safe side of that difference.
    files: dict[str, str] = {}  # casefolded path: the path
    folders: dict[str, str] = {}  # casefolded folder: the folder as first spelled
    for entry in entries:
        folded = entry.path.casefold()
        if folded in files:
            if files[folded] == entry.path:
                raise ManifestError(
                    f"The manifest lists the path {_shown(entry.path)} twice.", path=entry.path, rule="duplicate"
                )
            raise ManifestError(
                f"The manifest lists {_shown(files[folded])} and {_shown(entry.path)}, which differ only by case"
                " (one file on macOS and Windows).",
                path=entry.path,
                rule="case_duplicate",
            )
        files[folded] = entry.path
        parts = entry.path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            seen = folders.setdefault(folder.casefold(), folder)
            if seen != folder:
                raise ManifestError(
                    f"The path {_shown(entry.path)} is in the folder {_shown(folder)}, and another path in"
                    f" {_shown(seen)}: folder names that differ only by case are one folder on macOS and Windows.",
                    path=entry.path,
                    rule="case_duplicate",
                )
    for folded, path in files.items():
        if folded in folders:
            raise ManifestError(
                f"The path {_shown(path)} is a file and also the folder {_shown(folders[folded])} of another path.",
                path=path,
                rule="file_and_folder",
            )


def canonical_bytes(manifest: Manifest) -> bytes:
    """One line per file, `<sha256 hex> <size in decimal> <path>\\n`, in the manifest's order
    (the paths' UTF-8 bytes), all UTF-8. A path holds no control character, so no newline; the
    first two fields hold no space, so the path is the rest of the line, spaces and all."""
    return b"".join(f"{entry.sha256} {entry.size} {entry.path}\n".encode() for entry in manifest.entries)


def digest(manifest: Manifest) -> str:
    """The version's digest: the lowercase hex SHA-256 of `canonical_bytes(manifest)`."""
    return hashlib.sha256(canonical_bytes(manifest)).hexdigest()


def one_file_path(file_name: str) -> str:
    """The manifest path of a one-file version, from the upload's file name (`file_name`).

    A name that follows the path rules is its own path (in NFC). Any other name is mapped,
    never refused, so every upload the documented API accepted, and every version already
    stored, has a path: the part after the last slash or backslash (a client's full path), each
    refused character as "_", trailing dots and spaces dropped, a Windows device name prefixed
    with "_", cut to MAX_PART_BYTES keeping the extension, and "model" (today's default name)
    when nothing is left.
    """
    name = unicodedata.normalize("NFC", file_name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join("_" if _refused_char(char) else char for char in name)
    name = _cut(name).rstrip(". ")
    if _reserved(name):
        name = _cut("_" + name).rstrip(". ")
    return normalise_path(name or "model")


def _cut(name: str) -> str:
    """At most MAX_PART_BYTES of UTF-8, whole characters only, keeping a short extension."""
    if len(name.encode("utf-8")) <= MAX_PART_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension.encode("utf-8")) > 32:
        stem, extension = name, ""
    else:
        extension = "." + extension
    room = MAX_PART_BYTES - len(extension.encode("utf-8"))
    stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore")
    return stem + extension


def for_one_file(file_name: str, size: int, sha256: str) -> Manifest:
    """The manifest of a one-file version: one entry at `one_file_path(file_name)`."""
    return Manifest((ManifestEntry(one_file_path(file_name), size, sha256),))


_JSON_KEYS = frozenset({"path", "size", "sha256"})


def from_json(obj: object) -> Manifest:
    """The manifest an API request sent: a list of {"path", "size", "sha256"} objects."""
    if not isinstance(obj, list):
        raise ManifestError('A manifest must be a list of {"path", "size", "sha256"} objects.', rule="type")
    if len(obj) > MAX_ENTRIES:
        raise ManifestError(f"A manifest lists at most {MAX_ENTRIES} files, not {len(obj)}.", rule="too_many_files")
    entries = []
    for index, item in enumerate(obj):
        where = f"files[{index}]"
        if not isinstance(item, dict):
            raise ManifestError(f'{where} must be an object with "path", "size" and "sha256".', rule="type")
        missing, unknown = sorted(_JSON_KEYS - item.keys()), sorted(map(str, item.keys() - _JSON_KEYS))
        if missing:
            raise ManifestError(f"{where} has no {', '.join(missing)}.", rule="missing_field")
        if unknown:
            raise ManifestError(f"{where} has unknown fields: {', '.join(unknown)}.", rule="unknown_field")
        try:
            entries.append(ManifestEntry(item["path"], item["size"], item["sha256"]))
        except ManifestError as error:
            raise ManifestError(f"{where}: {error}", path=error.path, rule=error.rule) from None
    return Manifest(tuple(entries))


def to_json(manifest: Manifest) -> list[dict]:
    """The API's shape of a manifest, in its canonical order."""
    return [{"path": entry.path, "size": entry.size, "sha256": entry.sha256} for entry in manifest.entries]


def manifest_of(entries: Iterable[tuple[str, int, str]]) -> Manifest:
    """A manifest from (path, size, sha256) triples, in any order."""
    return Manifest(tuple(ManifestEntry(path, size, sha256) for path, size, sha256 in entries))
