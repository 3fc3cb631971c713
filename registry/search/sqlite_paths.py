"""SQLite's typed value of a key path as an expression an index can hold (`json_extract`).

expressions.py reads a key on SQLite through `json_each`, a subquery, which compares keys as
plain strings but which no index can hold. For the keys a JSON path can spell exactly, the same
typed value is written here with `json_type` and `json_extract` on a literal path, so an
expression index on it (registry/search/indexes.py) matches the compiler's sorts and ranges:
SQLite matches an indexed expression only to the very same expression, and a bound parameter in
place of the path's literal does not match (tried on SQLite 3.40).

A path's literal is written into the SQL, so only parts made of printable ASCII other than `"`,
`\\` and `'` qualify: a JSON path cannot escape a double quote, and SQLite 3.40 compares the
path's label with the stored key's text as written, where Django writes a non-ASCII key as
`\\u00e9`. Every other key keeps the `json_each` form, which is equally correct, only unindexed.
"""

from collections.abc import Sequence

# The json_type() names of each kind; the same sets as expressions.py's json_each types.
TYPES = {"number": "'integer', 'real'", "string": "'text'", "boolean": "'true', 'false'", "null": "'null'"}
_SAFE = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\", "'"}


def json_path(path: Sequence[str]) -> str | None:
    """`$."optimizer"."lr"` for ("optimizer", "lr"), or None when a part cannot be spelled safely."""
    if not path or any(not part or not set(part) <= _SAFE for part in path):
        return None
    return "$" + "".join(f'."{part}"' for part in path)


def typed_value(column: str, path: Sequence[str], kind: str) -> str | None:
    """The value at `path` of `column` if it has JSON type `kind`, else NULL; None if unspellable.

    `json_extract` of a JSON true gives 1, as json_each's value does, so comparisons and sorts
    read the same values either way."""
    spelled = json_path(path)
    if spelled is None:
        return None
    literal = f"'{spelled}'"  # json_path admits no quote, so nothing needs escaping
    return f"(CASE WHEN json_type({column}, {literal}) IN ({TYPES[kind]}) THEN json_extract({column}, {literal}) END)"


def has_key(column: str, path: Sequence[str]) -> str | None:
    """True when the path holds any value (null included); None if unspellable."""
    spelled = json_path(path)
    return None if spelled is None else f"(json_type({column}, '{spelled}') IS NOT NULL)"
