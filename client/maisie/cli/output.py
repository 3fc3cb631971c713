"""Printing answers: tables that fit the terminal, detail views, and JSON."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import click

from maisie.utils.progress import human_size

Column = tuple[str, Callable[[dict], Any]]

ELLIPSIS = "…"
GAP = "  "
MIN_WIDTH = 4


def fmt(value: Any) -> str:
    """One cell's text: dates shortened, dictionaries as `k=v`, lists joined, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{key}={fmt(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(fmt(item.get("name", item) if isinstance(item, dict) else item) for item in value)
    text = str(value)
    if len(text) >= 19 and text[4:5] == "-" and text[10:11] == "T":
        text = fmt_time(text)
    return " ".join(text.split())


def fmt_time(text: str) -> str:
    """An ISO timestamp as local time, to the minute."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


def terminal_width() -> int:
    """Columns available: the terminal's, or `$COLUMNS`; unlimited when stdout is not a terminal."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if not sys.stdout.isatty():
        return 10_000  # piped into grep or a file: cut nothing
    return shutil.get_terminal_size((100, 24)).columns


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def render_table(rows: Sequence[dict], columns: Sequence[Column], width: int | None = None) -> str:
    """A plain table whose lines fit in `width` columns: the widest columns are cut first.

    :param rows: the objects to show, one per line
    :param columns: (header, getter) pairs; a getter takes an object and returns its cell
    :param width: the room available (default: the terminal's width)
    """
    width = width or terminal_width()
    headers = [header for header, _ in columns]
    cells = [[fmt(getter(row)) for _, getter in columns] for row in rows]
    widths = [max([len(header)] + [len(line[i]) for line in cells]) for i, header in enumerate(headers)]
    floors = [min(w, max(MIN_WIDTH, min(len(h), 8))) for w, h in zip(widths, headers, strict=True)]
    room = width - len(GAP) * (len(columns) - 1)
    while sum(widths) > room:
        shrinkable = [i for i, w in enumerate(widths) if w > floors[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    lines = [GAP.join(_cut(h, w).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for line in cells:
        lines.append(GAP.join(_cut(c, w).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    return "\n".join(line[:width] for line in lines)


def render_detail(obj: dict, order: Sequence[str] = (), width: int | None = None) -> str:
    """An object as `key: value` lines; dictionaries get an indented line per key."""
    width = width or terminal_width()
    keys = [key for key in order if key in obj] + [key for key in obj if key not in order and key != "_links"]
    pad = max((len(key) for key in keys), default=0) + 2
    lines = []
    for key in keys:
        value = obj[key]
        if isinstance(value, dict) and value and key not in ("user",):
            lines.append(f"{key}:")
            inner = max(len(str(k)) for k in value) + 2
            for sub, item in value.items():
                lines.append(_cut(f"  {str(sub) + ':':<{inner}}{fmt(item)}", width))
        elif key == "user" and isinstance(value, dict):
            lines.append(_cut(f"{key + ':':<{pad}}{user_label(value)}", width))
        else:
            lines.append(_cut(f"{key + ':':<{pad}}{fmt(value)}", width))
    return "\n".join(lines)


def user_label(user: dict | None) -> str:
    """`login (Full Name)`."""
    if not user:
        return ""
    login = user.get("login") or str(user.get("id", ""))
    return f"{login} ({user['full_name']})" if user.get("full_name") else login


def file_label(info: dict | None) -> str:
    """`model.pt, 1.2 GiB`."""
    if not info:
        return ""
    size = info.get("size")
    return f"{info.get('name', '')}, {human_size(size)}" if size is not None else str(info.get("name", ""))


def human_count(n: int | None) -> str:
    """21, 3.4 K, 7.24 B: parameter counts as people say them (the server's web table says the same)."""
    if n is None:
        return ""
    for size, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return str(n)


def format_label(facts: dict | None) -> str:
    """`safetensors, 7.24 B parameters, safe`: a version's `format` object (docs/formats.md)."""
    if not facts:
        return "not read yet"
    params = facts.get("params")
    counted = f", {human_count(params)} parameters" if params is not None else ""
    return f"{facts.get('name', '')}{counted}, {facts.get('verdict', '')}"


def echo_json(data: Any) -> None:
    """Print data as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
