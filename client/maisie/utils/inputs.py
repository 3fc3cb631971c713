"""Hyperparameters, parameters and metrics given as dictionaries, files or JSON text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maisie.errors import ValidationError

_YAML_SUFFIXES = (".yaml", ".yml")


def load_mapping(value: Mapping | str | Path | None, what: str) -> dict[str, Any]:
    """A dictionary from a dictionary, a JSON or YAML file, or JSON text.

    :param value: a mapping; a path to a ``.json``, ``.yaml`` or ``.yml`` file (other names are
        read as JSON, then YAML); or inline JSON text such as ``'{"lr": 0.1}'``
    :param what: what it is, for error messages (``"hyperparameters"``)
    :raises ValidationError: when the file is missing or does not hold a dictionary
    """
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str | Path):
        raise ValidationError(f"{what} must be a dictionary or a file name, not {type(value).__name__}.")
    text = str(value)
    path = Path(text).expanduser()
    if isinstance(value, str) and text.lstrip().startswith("{") and not _is_file(path):
        data = _parse_json(text, f"{what} (inline JSON)")
    else:
        if not _is_file(path):
            raise ValidationError(f"{what}: file {text} not found.")
        content = path.read_text(encoding="utf-8")
        if path.suffix.lower() in _YAML_SUFFIXES:
            data = _parse_yaml(content, f"{what} ({path})")
        elif path.suffix.lower() == ".json":
            data = _parse_json(content, f"{what} ({path})")
        else:
            try:
                data = json.loads(content)
            except ValueError:
                data = _parse_yaml(content, f"{what} ({path})")
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValidationError(f"{what} must be a dictionary (a JSON object), not a {type(data).__name__}.")
    return dict(data)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a name longer than the file system allows: inline text, not a file
        return False


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"{where} is not valid JSON: {exc}") from None


def _parse_yaml(text: str, where: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise ValidationError(f"{where} is not valid YAML: {reason}") from None


def _plain(value: Any) -> Any:
    """JSON for what training code often holds: numpy scalars and arrays, paths, sets."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist") and callable(value.tolist):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Mapping[str, Any], what: str) -> str:
    """The JSON text of a dictionary, with numpy values turned into plain numbers and lists."""
    try:
        return json.dumps(value, default=_plain, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what} cannot be sent as JSON: {exc}") from None
