"""The table's cells and its CSV export, from the view's own queryset (the charts' data: charts.py)."""

import csv
import html
import json
from dataclasses import dataclass

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from registry import keypaths
from registry.links import Links
from registry.web.keys import display, is_number, split_key
from registry.web.table_state import TableState


def cell_value(model, name: str, missing=None):
    """A key column's value for a model, or `missing` when it lacks the key."""
    section, key = split_key(name)  # the key is a path: `optimizer.lr` reads inside "optimizer"
    return keypaths.value_at(getattr(model, section) or {}, key, missing)


_LACKS = object()  # a key the model does not have, shown otherwise than a stored null


@dataclass
class Row:
    """A model's line of the table, with its links, dates and key cells made ready here.

    The template runs once per row: each `{% url %}`, `|date` and `{% for %}` over the cells
    cost more there than the same work here (a page of 100 rows and 12 key columns: 49 ms of
    CPU with them in the template, 37 ms like this).
    """

    model: object
    url: str
    project_url: str
    created_iso: str  # the <time datetime>
    created_title: str  # with seconds and the zone
    created_shown: str
    cells: list[tuple[str, str, bool]]  # (shown, full value for the title, is a number)
    cells_html: SafeString  # the key columns' <td>s, escaped


_MISSING = '<span class="missing" aria-label="none">\N{EN DASH}</span>'
_NULL = '<span class="muted">null</span>'  # a stored null: the key is there, its value is null


def cell_html(shown: str, full: str, number: bool) -> str:
    """One key cell's <td>, escaped. Plain `html.escape` (what Django's `escape` runs) in an
    f-string: `format_html` per cell cost about 20 times as much CPU on a page of 100 rows and
    12 keys, bench/ui.py's wide view (docs/performance.md, Web UI, "the project table's columns
    and views")."""
    attrs = ' class="num"' if number else ""
    if full == "null":  # json.dumps(None): a text "null" would be '"null"'
        return f"<td>{_NULL}</td>"
    if full and full != shown:
        attrs += f' title="{html.escape(full)}"'
    return f"<td{attrs}>{html.escape(shown) if shown else _MISSING}</td>"


def cells_html(cells: list[tuple[str, str, bool]]) -> SafeString:
    """The key cells' <td>s (as `key_cells` gives them), escaped."""
    return mark_safe("".join(cell_html(*cell) for cell in cells))  # noqa: S308 (each cell is escaped)


def empty_cells_html(count: int) -> SafeString:
    """`count` key cells with no value: a row with no version to show (the Models view)."""
    return cells_html([("", "", False)] * count)


def key_cells(model, columns: list[str]) -> list[tuple[str, str, bool]]:
    """(shown, full value for the title, is a number) of each key column of a model."""
    cells = []
    for name in columns:
        value = cell_value(model, name, _LACKS)
        if value is _LACKS:
            cells.append(("", "", False))
            continue
        number = is_number(value)
        cells.append((display(value), json.dumps(value), number))
    return cells


def rows(models, state: TableState) -> list[Row]:
    links = Links(None)
    result = []
    for model in models:
        cells = key_cells(model, state.columns)
        created = timezone.localtime(model.created)  # what `|date` shows: the current time zone
        day = f"{created.year:04d}-{created.month:02d}-{created.day:02d}"
        result.append(
            Row(
                model=model,
                url=links.url("registry:model_detail", model.pk),
                project_url=links.url("registry:project_detail", model.project_id),
                created_iso=created.isoformat(),
                created_title=f"{day} {created:%H:%M:%S} {created.tzname() or ''}".rstrip(),
                created_shown=f"{day} {created:%H:%M}",
                cells=cells,
                cells_html=cells_html(cells),
            )
        )
    return result


class _Echo:
    def write(self, value):
        return value


def _csv_safe(value) -> object:
    """Text that a spreadsheet would run as a formula starts with a quote instead."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_cell(value) -> object:
    if is_number(value):
        return value
    return _csv_safe(display(value))


def csv_response(queryset, state: TableState, filename: str) -> StreamingHttpResponse:
    """Every row of the current view (not just the page), in the view's order and columns."""
    writer = csv.writer(_Echo())
    header = ["id", "name", "version", "workspace", "project", "uploader", "created", "tags", "sha256"]

    def lines():
        yield writer.writerow(header + state.columns)
        for model in queryset.iterator(chunk_size=2000):
            fixed = [
                model.pk,
                model.name,
                model.version,
                model.project.workspace.name,
                model.project.name,
                model.uploader.login,
                model.created.isoformat(),
                ",".join(tag.name for tag in model.tags.all()),
                model.file_sha256,
            ]
            keys = [cell_value(model, name) for name in state.columns]
            yield writer.writerow([_csv_safe(v) for v in fixed] + [_csv_cell(v) for v in keys])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
