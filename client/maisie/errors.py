"""Exceptions raised by the Maisie client.

Every error is a :class:`MaisieError`; ``str(error)`` is one line meant for a person. Errors
that come from the server carry its HTTP ``status``, its ``message`` and, for invalid input,
the per-field ``errors`` it returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class MaisieError(Exception):
    """Base class of every error raised by the client."""

    #: exit code of the ``maisie`` command when this error ends it
    exit_code = 1

    def __init__(self, message: str, *, status: int | None = None, errors: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors: dict = errors or {}


class ConfigurationError(MaisieError):
    """A setting is missing or has a value that cannot be used."""

    exit_code = 2


class ConnectionFailed(MaisieError):
    """The server could not be reached, even after retrying."""

    exit_code = 7


class APIError(MaisieError):
    """The server answered with an error not covered by a more specific class."""


class ValidationError(APIError):
    """The input was refused, by the server (HTTP 400) or before sending it."""

    exit_code = 6


class AuthenticationError(APIError):
    """Signing in failed or the credentials were refused (HTTP 401)."""

    exit_code = 3


class PermissionDenied(APIError):
    """The signed-in user may not do this (HTTP 403)."""

    exit_code = 5


class NotFound(APIError):
    """The object does not exist or is not visible to the signed-in user (HTTP 404)."""

    exit_code = 4


class Conflict(APIError):
    """The request is fine but the current state refuses it (HTTP 409): an alias still points
    at the version, a promotion request is already pending, an alias rule is not met.

    :attr:`details` holds what the server's answer says beyond its message, for programs
    (``{"pending_request_id": 12}`` when a request for the alias is already pending).
    """

    exit_code = 9

    def __init__(self, message: str, *, status: int | None = 409, details: dict | None = None) -> None:
        super().__init__(message, status=status)
        self.details: dict = details or {}


class RulesFailed(Conflict):
    """Moving an alias breaks the project's alias rules (HTTP 409); nothing changed.

    ``str(error)`` gives every failed rule's sentence; :attr:`failed_rules` is the server's
    list, each rule with its ``code`` (``not_permitted``, ``condition``, ``no_worse_than``),
    ``rule_id``, ``pattern`` and ``message`` (the sentence).
    """

    @property
    def failed_rules(self) -> list[dict]:
        return self.details.get("failed_rules") or []


class ChecksumMismatch(MaisieError):
    """A downloaded file's SHA-256 differs from the one the server recorded at upload."""

    exit_code = 8


class TargetExists(ValidationError):
    """A download would replace an existing file, and overwriting was not asked for."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already exists; pass overwrite=True to replace it.")
        self.path = path


class HiddenFileName(ValidationError):
    """The server names a model's file as a hidden file (``.bashrc``), and that was not asked for."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The model's stored file name {name!r} starts with a dot (a hidden file); pass "
            "allow_hidden=True to save it under that name, or a file path to save it under another."
        )
        self.name = name


class UnsafeModel(ValidationError):
    """The server marks the version suspicious: a file of it holds pickle data that imports names
    outside those that rebuild tensors and arrays, so loading it would run them. Refused unless
    ``allow_unsafe`` (``--allow-unsafe``) was asked for; nothing was written."""

    def __init__(self, model_id: int, verdict: str) -> None:
        super().__init__(
            f"Model {model_id} is marked {verdict}: a file of it holds pickle data that imports names outside "
            "those that rebuild tensors and arrays, and loading it would run them (see its page). Pass "
            "allow_unsafe=True (--allow-unsafe) to download it anyway."
        )
        self.model_id, self.verdict = model_id, verdict


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
}


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    """`{"a": ["x"], "b": {"c": ["y"]}}` -> `["a: x", "b.c: y"]`."""
    if isinstance(errors, dict):
        lines: list[str] = []
        for key, value in errors.items():
            name = key if key != "non_field_errors" else ""
            lines += _flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
        return lines
    if isinstance(errors, list):
        return [line for item in errors for line in _flatten(item, prefix)]
    text = str(errors)
    return [f"{prefix}: {text}" if prefix else text]


def error_for_status(status: int, body: Any, context: str = "") -> APIError:
    """Build the exception for an error answer: its class from the status, its text from the body.

    :param status: the HTTP status code
    :param body: the decoded JSON body (``{"status": "error", "message", "errors"}``) or raw text
    :param context: what was asked, e.g. ``"models/7"``, added to "not found" messages
    """
    cls = _BY_STATUS.get(status, APIError)
    errors: dict = {}
    if cls is Conflict and isinstance(body, dict):
        return _conflict(body)
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("detail") or f"HTTP {status}")
        raw = body.get("errors")
        if isinstance(raw, dict):
            errors = raw
    else:
        text = " ".join(str(body or "").split())
        message = text[:200] if text and not text.startswith("<") else f"HTTP {status}"
    if errors:
        message = f"{message.rstrip('.')}: " + "; ".join(_flatten(errors))
    elif cls is NotFound and context:
        message = f"{message.rstrip('.')}: {context}"
    elif cls is APIError and not message.startswith("HTTP"):
        message = f"{message} (HTTP {status})"
    return cls(message, status=status, errors=errors)


def _conflict(body: dict) -> Conflict:
    """A 409: every failed alias rule's sentence in one line, when rules refused the move."""
    message = str(body.get("message") or "HTTP 409")
    details = {key: value for key, value in body.items() if key not in ("status", "message", "errors")}
    rules = details.get("failed_rules")
    if not (isinstance(rules, list) and rules and all(isinstance(rule, dict) for rule in rules)):
        return Conflict(message, details=details)
    if len(rules) > 1:  # the server's message gives the first rule's sentence only
        lead = message.split(": ", 1)[0]
        sentences = (f"{n}) {str(rule.get('message', '')).rstrip('.')}." for n, rule in enumerate(rules, 1))
        message = f"{lead}: {' '.join(sentences)}"
    return RulesFailed(message, details=details)
