"""What the query string asks the model table to show, and the panel's filters in the search language.

Everything the table shows is in the query string, so a link reproduces the view:

    col=metrics.accuracy&col=created   the columns shown after the name, in this order: keys and the
                                       fixed columns (FIXED_COLUMNS) alike; a lone empty `col=`: no key.
                                       When `col` names a fixed column, those it does not name are hidden;
                                       when it names none (older links), all come first, in their order,
    hide=user&hide=tags                but for those `hide` names and the format columns (OPTIONAL_COLUMNS),
                                       shown only when `col` names them or the table is sorted by one
    ordering=-metrics.accuracy,name    the API's `ordering`
    min.metrics.accuracy=0.9           the filter panel: a number key's bounds,
    max.metrics.loss=0.5
    eq.hyperparameters.optimizer=adam  a text key's exact value, a boolean key's true/false
    created_after=2024-01-01           dates (inclusive)
    q=…, search=…, project=…, user=…, tag=…, workspace=…   handed to MLModelFilterSet as they are
    page=2&per_page=100
    x=hyperparameters.lr&y=metrics.accuracy   the scatter chart's axes

Without `col`, the key columns are those most models hold (KeyCatalog.most_held). The column the
table is sorted by is always shown: an unchosen key is added at the end, a hidden fixed column comes
back. The name column is always first.

The panel's filters are written in the search language and handed to MLModelFilterSet as part of
`q`, with the user's own query, so the page and `GET /api/v1/models/?q=…` answer alike.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.http import QueryDict

from registry import keypaths
from registry.search.lexer import spell_key
from registry.web.keys import BOOLEAN, NUMBER, KeyCatalog, display, split_key

# The plain columns the table sorts by, named as in the search language's `ordering`.
FIXED_ORDERING = ("name", "version", "project", "user", "created", "size", "format", "format.params", "format.verdict")
DEFAULT_ORDERING = "-created"
DEFAULT_KEY_COLUMNS = 4  # key columns shown when the URL names none
# The table's columns besides the name and the keys, in their default order, named as in `col=`/`hide=`.
FIXED_COLUMNS = {
    "version": "Version",
    "project": "Project",
    "user": "Uploader",
    "created": "Created",
    "tags": "Tags",
    # What was read from the files (docs/formats.md), named as the search language names them.
    "format": "Format",
    "format.params": "Parameters",
    "format.verdict": "Verdict",
}
# Fixed columns hidden unless asked for: tables and saved views made before they existed keep their width.
OPTIONAL_COLUMNS = ("format", "format.params", "format.verdict")
# Fixed columns of numbers, right-aligned.
NUMBER_COLUMNS = ("version", "format.params")
# What narrows the rows (the rest of a view's query string is its shape: columns, sort, page size, charts).
FILTER_PARAMS = ("q", "search", "project", "workspace", "user", "tag", "created_after", "created_before")
PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50
_FILTER_PARAM = re.compile(r"^(min|max|eq)\.(.+)$")


_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def q_key(field: str) -> str:
    """A catalogued key (`hyperparameters.optimizer.lr`, a path) as the search language reads it."""
    section, key = split_key(field)
    return f"{section}.{spell_key(keypaths.split(key))}"


def q_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).translate(_STRING_ESCAPES) + '"'


@dataclass(frozen=True)
class KeyFilter:
    """One filter of the panel: a key's lower or upper bound, or its exact value."""

    field: str  # "metrics.accuracy"
    op: str  # "min", "max" or "eq"
    value: float | str | bool

    OPERATORS = {"min": ">=", "max": "<=", "eq": "="}

    @property
    def param(self) -> str:
        return f"{self.op}.{self.field}"

    def as_q(self) -> str:
        return f"{q_key(self.field)} {self.OPERATORS[self.op]} {q_value(self.value)}"

    def label(self) -> str:
        shown = {"min": "≥", "max": "≤", "eq": "="}[self.op]
        return f"{self.field} {shown} {q_value(self.value) if isinstance(self.value, str) else self.value}"


def _number(text: str) -> float | int | None:
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass
class TableState:
    """What the query string asks the table to show. Unknown keys are dropped, never an error."""

    params: QueryDict
    catalog: KeyCatalog
    columns: list[str] = field(default_factory=list)  # the key columns, in their order
    order: list[str] = field(default_factory=list)  # every column after the name: fixed and keys
    fixed: tuple[str, ...] = ()  # the fixed columns this table has
    hidden: list[str] = field(default_factory=list)  # those of them not shown
    ordering: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    key_filters: list[KeyFilter] = field(default_factory=list)
    created_after: date | None = None
    created_before: date | None = None
    per_page: int = DEFAULT_PER_PAGE
    chart_x: str | None = None
    chart_y: str | None = None
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, params: QueryDict, catalog: KeyCatalog, fixed: tuple[str, ...] = ()) -> TableState:
        """`fixed`: the fixed columns the table has (FIXED_COLUMNS' names), in their default order."""
        state = cls(params=params, catalog=catalog, fixed=fixed)
        state.ordering = state._parse_ordering(params.get("ordering") or DEFAULT_ORDERING)
        state._choose_columns()
        for name, value in params.items():
            match = _FILTER_PARAM.match(name)
            if match and value.strip():
                state._add_filter(match.group(1), match.group(2), value.strip())
        state.created_after = _day(params.get("created_after", "")) if params.get("created_after") else None
        state.created_before = _day(params.get("created_before", "")) if params.get("created_before") else None
        for name in ("created_after", "created_before"):
            if params.get(name) and _day(params[name]) is None:
                state.errors.append(f"{name.replace('_', ' ').capitalize()}: give a date as YYYY-MM-DD.")
        per_page = params.get("per_page", "")
        state.per_page = int(per_page) if per_page.isdigit() and int(per_page) in PER_PAGE_CHOICES else DEFAULT_PER_PAGE
        numbers = [f for f in catalog.fields() if catalog.kind(f) == NUMBER]
        state.chart_x = state._axis(params.get("x", ""), numbers, ("hyperparameters.", "parameters."))
        state.chart_y = state._axis(params.get("y", ""), numbers, ("metrics.",))
        return state

    def _choose_columns(self) -> None:
        params, fixed = self.params, self.fixed
        if "col" in params:
            named = [name if name in fixed else self.catalog.canonical(name) for name in params.getlist("col") if name]
            chosen = list(dict.fromkeys(name for name in named if name))
        else:
            chosen = self.catalog.most_held(DEFAULT_KEY_COLUMNS)
        if any(name in fixed for name in chosen):
            hidden = set(fixed) - set(chosen)
        else:
            hidden = {name for name in (*params.getlist("hide"), *OPTIONAL_COLUMNS) if name in fixed}
        sorted_by = self.ordering[0][0]
        if sorted_by in fixed:
            hidden.discard(sorted_by)
        elif sorted_by not in FIXED_ORDERING and sorted_by not in chosen:
            chosen.append(sorted_by)
        self.hidden = [name for name in fixed if name in hidden]
        self.order = [name for name in fixed if name not in hidden and name not in chosen] + chosen
        self.columns = [name for name in chosen if name not in fixed]

    def _axis(self, asked: str, numbers: list[str], default_sections: tuple[str, ...]) -> str | None:
        """A chart axis: the numeric key asked for, else the first numeric key of those sections."""
        canonical = self.catalog.canonical(asked)
        if canonical in numbers:
            return canonical
        return next((f for f in numbers if f.startswith(default_sections)), None)

    def _parse_ordering(self, text: str) -> list[tuple[str, bool]]:
        terms = []
        for term in text.split(","):
            term = term.strip()
            descending = term.startswith("-")
            name = term.lstrip("-")
            canonical = name.lower() if name.lower() in FIXED_ORDERING else self.catalog.canonical(name)
            if canonical:
                terms.append((canonical, descending))
        return terms or [("created", True)]

    def _add_filter(self, op: str, name: str, value: str) -> None:
        field_name = self.catalog.canonical(name)
        if field_name is None:
            return
        kind = self.catalog.kind(field_name)
        if op in ("min", "max") or kind == NUMBER:
            number = _number(value)
            if number is None:
                self.errors.append(f"{field_name}: “{value}” is not a number.")
                return
            self.key_filters.append(KeyFilter(field_name, op, number))
        elif kind == BOOLEAN:
            if value.lower() in ("true", "false"):
                self.key_filters.append(KeyFilter(field_name, "eq", value.lower() == "true"))
        else:
            self.key_filters.append(KeyFilter(field_name, "eq", value))

    # --- what the FilterSet and the queryset get

    @property
    def ordering_param(self) -> str:
        return ",".join(
            f"{'-' if desc else ''}{q_key(name) if split_key(name) else name}" for name, desc in self.ordering
        )

    def panel_query(self) -> str:
        """The panel's filters in the search language, joined with `and`."""
        parts = [f.as_q() for f in self.key_filters]
        if self.created_after:
            parts.append(f"created >= {self.created_after.isoformat()}")
        if self.created_before:
            parts.append(f"created < {(self.created_before + timedelta(days=1)).isoformat()}")
        return " and ".join(parts)

    def filterset_data(self) -> QueryDict:
        """The query string for MLModelFilterSet: the user's `q` and the panel's joined, and the sort."""
        data = self.params.copy()
        texts = [text for text in (self.params.get("q", "").strip(), self.panel_query()) if text]
        data["q"] = " and ".join(f"({text})" for text in texts) if len(texts) > 1 else "".join(texts)
        data["ordering"] = self.ordering_param
        return data

    # --- links

    def url(self, **changes) -> str:
        """This view's query string with some parameters replaced (None removes one)."""
        data = self.params.copy()
        data.pop("format", None)
        for name, value in changes.items():
            data.pop(name, None)
            if value is not None:
                data.setlist(name, value if isinstance(value, list) else [value])
        return "?" + data.urlencode() if data else "?"

    def sort_url(self, name: str) -> str:
        """Sort by `name`; a second click reverses it. Numbers and dates start with the largest."""
        current = self.ordering[0] if self.ordering else None
        if current and current[0] == name:
            descending = not current[1]
        else:
            descending = name in ("created", "format.params") or self.catalog.kind(name) == NUMBER
        return self.url(ordering=("-" if descending else "") + name, page=None)

    def sort_direction(self, name: str) -> str | None:
        if self.ordering and self.ordering[0][0] == name:
            return "descending" if self.ordering[0][1] else "ascending"
        return None

    def view_url(self) -> str:
        """This view without its filters (but with its columns, sort and page size)."""
        data = self.params.copy()
        for name in list(data):
            if name in FILTER_PARAMS or name in ("page", "format") or _FILTER_PARAM.match(name):
                del data[name]
        if "col" not in data:  # an empty query string would bring back the remembered view
            data.setlist("col", self.columns or [""])
        return "?" + data.urlencode()

    def active_filters(self) -> list[tuple[str, str]]:
        """(label, link without it) for each filter of the panel, to show and remove them."""
        chips = [(f.label(), self.url(**{f.param: None, "page": None})) for f in self.key_filters]
        for name, label in (("created_after", "created ≥"), ("created_before", "created ≤")):
            if self.params.get(name):
                chips.append((f"{label} {self.params[name]}", self.url(**{name: None, "page": None})))
        return chips

    def panel(self) -> list[tuple[str, str, list[dict], bool]]:
        """The catalog's sections with each key's kind and the panel's values for it, and whether any is set."""
        # As typed, not rounded like the cells: the form sends these back on the next submit.
        values = {
            (f.field, f.op): display(f.value) if isinstance(f.value, bool) else str(f.value) for f in self.key_filters
        }
        sections = []
        for section, label, keys in self.catalog.sections():
            entries = [
                {
                    "field": name,
                    "key": key,
                    "kind": kind,
                    **{op: values.get((name, op), "") for op in ("min", "max", "eq")},
                }
                for name, key, kind in keys
            ]
            for entry in entries:
                entry["active"] = any(entry[op] for op in ("min", "max", "eq"))
            sections.append((section, label, entries, any(entry["active"] for entry in entries)))
        return sections
