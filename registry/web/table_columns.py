"""The model table's cells after the name, in the view's order (TableState.order), and its column chooser.

A row's cells are one string made here, not a loop in the template (the reason exports.Row gives).
On a phone the name and the key columns come first: a fixed column the view places before a key
is written twice, in place (`col-wide`, hidden on phones by app.css) and after the keys
(`col-phone`, shown only there), so no script is needed to reorder the table.
"""

from dataclasses import replace
from html import escape

from django.core.exceptions import ObjectDoesNotExist
from django.http import QueryDict
from django.utils.safestring import SafeString, mark_safe

from formats import presentation
from formats.templatetags.formats_tags import BADGE_CLASSES
from registry.web.exports import Row, cell_html, cells_html, key_cells
from registry.web.keys import SECTION_SHORT, key_catalog, split_key
from registry.web.table_state import FIXED_COLUMNS, OPTIONAL_COLUMNS, TableState
from saved_views.models import remembered_query


def moved_on_phones(state: TableState) -> list[str]:
    """The fixed columns placed before the last key column: after the keys on a phone."""
    keys = [i for i, name in enumerate(state.order) if name not in FIXED_COLUMNS]
    return [name for name in state.order[: keys[-1]] if name in FIXED_COLUMNS] if keys else []


_FIXED_CLASSES = {"version": "num", "tags": "col-tags", "format.params": "num"}
_NOT_READ = '<span class="muted" title="Its files have not been read yet">—</span>'


def _format_content(name: str, model) -> str:
    """The format columns (docs/formats.md): the facts `with_related()` selected with the model."""
    try:
        facts = model.format_facts
    except ObjectDoesNotExist:
        return _NOT_READ
    if name == "format":
        return escape(facts.format)
    if name == "format.params":
        if facts.params is None:
            return '<span class="muted" title="The format does not say">—</span>'
        return f'<span title="{facts.params:,} parameters">{escape(presentation.params(facts.params))}</span>'
    verdict = facts.verdict
    classes = " ".join(c for c in ("badge", BADGE_CLASSES.get(verdict, "")) if c)
    return (
        f'<span class="{classes}" data-verdict="{escape(verdict)}"'
        f' title="{escape(presentation.sentence(verdict, facts.format))}">{escape(presentation.badge(verdict))}</span>'
    )


def _fixed_content(name: str, row: Row) -> str:
    """A fixed column's cell content, escaped (f-strings and html.escape, as exports.cell_html)."""
    model = row.model
    if name.startswith("format"):
        return _format_content(name, model)
    if name == "version":
        return str(model.version)
    if name == "project":
        return f'<a href="{escape(row.project_url)}">{escape(model.project.name)}</a>'
    if name == "user":
        return escape(model.uploader.get_full_name())
    if name == "created":
        return (
            f'<time datetime="{escape(row.created_iso)}" title="{escape(row.created_title)}">'
            f"{escape(row.created_shown)}</time>"
        )
    return "".join(f'<span class="tag">{escape(tag.name)}</span>' for tag in model.tag_list)


def _td(classes: str, content: str) -> str:
    return f'<td class="{classes}">{content}</td>' if classes else f"<td>{content}</td>"


def row_lines(rows: list[Row], state: TableState) -> list[Row]:
    """The rows with `cells_html` holding every cell after the name's, in the view's order."""
    moved = set(moved_on_phones(state))
    classes = {
        name: " ".join(c for c in (_FIXED_CLASSES.get(name, ""), "col-wide" if name in moved else "") if c)
        for name in state.order
    }
    phone_classes = {name: " ".join(c for c in (_FIXED_CLASSES.get(name, ""), "col-phone") if c) for name in moved}
    result = []
    for row in rows:
        keys = dict(zip(state.columns, row.cells, strict=True))
        fixed = {name: _fixed_content(name, row) for name in state.order if name in FIXED_COLUMNS}
        parts = [_td(classes[name], fixed[name]) if name in fixed else cell_html(*keys[name]) for name in state.order]
        parts += [_td(phone_classes[name], fixed[name]) for name in state.order if name in moved]
        result.append(replace(row, cells_html=mark_safe("".join(parts))))  # noqa: S308 (each part is escaped)
    return result


def column_chooser(state: TableState) -> list[dict]:
    """The chooser's ordered list: the columns shown, in order, then the hidden fixed ones (unticked).
    Keys not shown are offered by section below it."""
    entries = []
    for name in [*state.order, *state.hidden]:
        if name in FIXED_COLUMNS:
            shown, optional = name in state.order, name in OPTIONAL_COLUMNS
            entries.append(
                {"name": name, "label": FIXED_COLUMNS[name], "fixed": True, "shown": shown, "optional": optional}
            )
        else:
            section, key = split_key(name)
            entries.append(
                {"name": name, "label": key, "section": SECTION_SHORT[section], "fixed": False, "shown": True}
            )
    return entries


def chosen_metrics(user, project) -> list[str]:
    """The metric columns of the user's view of the project (their last view, else the project's
    default view, else the keys most models hold): the versions list of a model page shows them."""
    state = TableState.from_query(QueryDict(remembered_query(user, project)), key_catalog(user, project))
    return [name for name in state.columns if split_key(name)[0] == "metrics"]


def metric_cells(models, columns: list[str]) -> list[tuple[object, SafeString]]:
    """(model, its cells of `columns`) for each model, the cells as the project table shows them."""
    return [(model, cells_html(key_cells(model, columns))) for model in models]
