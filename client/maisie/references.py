"""References: naming a model version as a person types it (the server's docs/lifecycle.md).

    <workspace>/<project>/<name>            the latest version you can see
    <workspace>/<project>/<name>@<alias>    the version the alias points at
    <workspace>/<project>/<name>:<version>  that version number

The client does not parse references: the server does (``/api/v1/resolve/``), so its message
naming the wrong part reaches the caller unchanged. The client only tells an id from a reference.
"""

from __future__ import annotations

from datetime import datetime

#: what a reference looks like, for help texts and messages
SYNTAX = "<workspace>/<project>/<name>[@alias|:version]"

IdOrRef = int | str


def as_id(value: IdOrRef) -> int | None:
    """The id `value` gives (``42`` or ``"42"``), or ``None`` when it is a reference."""
    if isinstance(value, bool):
        raise TypeError("an id or a reference, not a bool")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdecimal() else None


def as_of_param(moment: datetime | str | None) -> str | None:
    """The ``as_of`` query parameter for a time: an aware or naive `datetime`, or text passed
    as it is (the server parses it; a time without an offset is UTC there)."""
    if isinstance(moment, datetime):
        return moment.isoformat()
    return moment or None
