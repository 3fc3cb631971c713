"""Key paths: how a key names a value inside a nested dictionary (`optimizer.lr`).

Training configs are nested (Hydra, Lightning, W&B), so a key is a path: a dot steps into a
dictionary. A part that holds a dot itself (or a backquote, or nothing) is written between
backquotes, with a doubled backquote standing for one: `` `a.b`.c `` is ("a.b", "c"). This module
is the one place that splits, writes and follows a path; the query language, the key catalogue,
the table's columns, the charts and CSV all go through it, so the same spelling works everywhere.
"""

from collections.abc import Iterator, Mapping

MAX_DEPTH = 16  # parts in one path; deeper nesting is kept but not addressable (nor catalogued)


class KeyPathError(ValueError):
    """A path that cannot be split: an unclosed backquote, or an empty part."""


def split(path: str) -> tuple[str, ...]:
    """`optimizer.lr` -> ("optimizer", "lr"); `` `a.b`.c `` -> ("a.b", "c")."""
    parts: list[str] = []
    i, n = 0, len(path)
    while True:
        if i < n and path[i] == "`":
            part, i = _quoted(path, i)
        else:
            end = path.find(".", i)
            end = n if end == -1 else end
            part = path[i:end]
            if not part or "`" in part:
                raise KeyPathError(f"'{path}' is not a key path: write a part with a dot or a backquote as `a.b`")
            i = end
        parts.append(part)
        if i == n:
            break
        if path[i] != ".":
            raise KeyPathError(f"'{path}' is not a key path: a backquoted part must be followed by '.' or the end")
        i += 1
        if i == n:
            raise KeyPathError(f"'{path}' is not a key path: it ends with '.'")
    if len(parts) > MAX_DEPTH:
        raise KeyPathError(f"'{path}' has {len(parts)} parts; the limit is {MAX_DEPTH}")
    return tuple(parts)


def _quoted(path: str, i: int) -> tuple[str, int]:
    out, i = [], i + 1
    while i < len(path):
        if path[i] == "`":
            if path[i + 1 : i + 2] == "`":
                out.append("`")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(path[i])
        i += 1
    raise KeyPathError(f"'{path}' is not a key path: a backquote is not closed")


def quote(part: str) -> str:
    """One part as it must be written in a path: bare unless it holds a dot or a backquote."""
    if part and "." not in part and "`" not in part:
        return part
    return "`" + part.replace("`", "``") + "`"


def join(parts: tuple[str, ...] | list[str]) -> str:
    return ".".join(quote(part) for part in parts)


_MISSING = object()


def value_at(mapping: Mapping, path: str | tuple[str, ...], default=None):
    """The value a path names, or `default` when any step is missing or not a dictionary."""
    parts = split(path) if isinstance(path, str) else path
    value = mapping
    for part in parts:
        if not isinstance(value, Mapping):
            return default
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return default
    return value


def has(mapping: Mapping, path: str | tuple[str, ...]) -> bool:
    """Whether the path names a value (which may be null), as opposed to being absent."""
    return value_at(mapping, path, _MISSING) is not _MISSING


def leaves(mapping: Mapping, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, object]]:
    """Every (path, value) whose value is not a non-empty dictionary: what the catalogue counts.

    An empty dictionary is a leaf (it is a value someone wrote); nesting deeper than MAX_DEPTH
    is reported at MAX_DEPTH as the dictionary it holds.
    """
    for key, value in mapping.items():
        parts = (*prefix, str(key))
        if isinstance(value, Mapping) and value and len(parts) < MAX_DEPTH:
            yield from leaves(value, parts)
        else:
            yield join(parts), value
