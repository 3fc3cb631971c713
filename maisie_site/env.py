"""Strict helpers for reading settings from the environment.

Each helper fails fast with ImproperlyConfigured naming the variable, so a typo in a
deployment stops start-up instead of silently falling back to a default.
"""

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """A string setting; `NAME_FILE` (a path to a secret file) wins over `NAME`."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_path!r}: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected true or false, got {raw!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    return _env_number(name, default, minimum, int, "an integer")


def env_float(name: str, default: float, minimum: float = 0.0) -> float:
    return _env_number(name, default, minimum, float, "a number")


def _env_number(name: str, default, minimum, parse, expected: str):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected {expected}, got {raw!r}") from None
    if not minimum <= value < float("inf"):  # also refuses nan, which compares false
        raise ImproperlyConfigured(f"{name}: must be a finite number of at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# DRF reads only the first letter of the period; accept the spellings it documents, nothing else.
_RATE = re.compile(r"^\s*([1-9][0-9]*)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")


def env_rate(name: str, default: str) -> str:
    """A throttle rate such as `10/min`, checked here so a typo fails at start-up, not at login."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    match = _RATE.match(raw)
    if not match:
        raise ImproperlyConfigured(f"{name}: expected a rate such as 10/min (per s, min, hour or day), got {raw!r}")
    return f"{match[1]}/{match[2]}"


def env_choice(name: str, default: str, choices: list[str]) -> str:
    """One of a fixed set of words, compared without regard to case; returned as listed in `choices`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    by_lower = {choice.lower(): choice for choice in choices}
    try:
        return by_lower[raw.strip().lower()]
    except KeyError:
        raise ImproperlyConfigured(f"{name}: expected one of {', '.join(choices)}, got {raw!r}") from None
