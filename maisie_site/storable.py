"""What user text and JSON must be like before anything stores it, searches with it or writes it back.

One check for every entry point (JSON bodies, the API's and the web UI's fields, model
validation, filters, the search language), so the rules cannot drift apart:

- No NUL: PostgreSQL cannot hold it in text or jsonb (its driver fails on the statement).
- No lone surrogate (U+D800-U+DFFF, from a JSON escape such as "\\ud800"): UTF-8 cannot encode
  it, so PostgreSQL refuses it and SQLite stores it as an escape that no page can write back.
- No NaN or infinity: not JSON; the databases refuse them and the API could not render them.
- JSON nested at most MAX_JSON_DEPTH levels: Python's parser and every walk over a value
  recurse, and a body of 100,000 brackets made them fail with RecursionError.

This module imports no models: DRF's settings load the JSON parser (maisie_site/api.py) before
the apps are ready.
"""

import json
import math
import re

from django.core.exceptions import ValidationError

MAX_JSON_DEPTH = 64  # levels of objects and arrays; a request body's own object is one of them

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_at(text: str) -> int | None:
    """The index of the first character no database can store (NUL, a lone surrogate), or None."""
    match = _UNSTORABLE.search(text)
    return None if match is None else match.start()


def text_error(text: str) -> str | None:
    index = unstorable_at(text)
    if index is None:
        return None
    char = text[index]
    what = "NUL characters are" if char == "\x00" else f"Lone surrogates (U+{ord(char):04X}) are"
    return f"{what} not allowed (at character {index})."


def validate_text(value) -> None:
    """A Django validator for one string."""
    if isinstance(value, str) and (error := text_error(value)):
        raise _invalid(error)


def json_error(value, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """What makes a decoded JSON value unstorable, naming where (`a.b[2]`), or None.

    Iterative, so a deep value is reported rather than overflowing the stack."""
    stack = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                return f"JSON may be nested at most {max_depth} levels deep."
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str):
                    if error := text_error(key):
                        return f"The key {_shown(key)} at {path or 'the top'}: {error}"
                    child_path = f"{path}.{_shown(key)}" if path else _shown(key)
                else:
                    child_path = f"{path}[{key}]"
                stack.append((child, child_path, depth + 1))
        elif isinstance(item, str):
            if error := text_error(item):
                return f"The text at {path or 'the top'}: {error}"
        elif isinstance(item, float) and not math.isfinite(item):
            return f"The number at {path or 'the top'}: NaN and infinite numbers are not JSON values."
    return None


def validate_json(value) -> None:
    """A Django validator for one decoded JSON value."""
    if error := json_error(value):
        raise _invalid(error)


def _invalid(message: str) -> ValidationError:
    # The message may quote the user's keys; given as a parameter, a "%" in them is never read
    # as a format (django-filter and Django's forms apply `message % params`).
    return ValidationError("%(message)s", code="unstorable", params={"message": message})


def _reject_constant(name: str):
    # Python's json reads NaN and Infinity, which are not JSON.
    raise ValueError(f"{name} is not a JSON value")


def loads(text: str | bytes, max_depth: int = MAX_JSON_DEPTH):
    """json.loads for text from users: NaN and Infinity refused, and nesting limited (ValueError).

    Text nested deeper than the interpreter's recursion limit fails inside the parser; anything
    the parser reads is then held to `max_depth`, so every later walk over it is safe."""
    too_deep = f"JSON may be nested at most {max_depth} levels deep"
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError(too_deep) from None
    if _deeper_than(value, max_depth):
        raise ValueError(too_deep)
    return value


def _deeper_than(value, max_depth: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def _shown(key: str) -> str:
    """A key as a message may show it: unstorable characters escaped, long keys cut."""
    shown = key if len(key) <= 40 else key[:37] + "..."
    return json.dumps(shown) if _UNSTORABLE.search(shown) or not shown.isidentifier() else shown
