"""The model table behind the project page and `/models/`: its columns, sort, key filters and exports.

Everything the table shows is in the query string, so a link reproduces the view:

    col=metrics.accuracy&col=hp.lr     key columns shown (a lone empty `col=` means "none")
    ordering=-metrics.accuracy,name    the API's `ordering`
    min.metrics.accuracy=0.9           the filter panel: a number key's bounds,
    max.metrics.loss=0.5
    eq.hyperparameters.optimizer=adam  a text key's exact value, a boolean key's true/false
    created_after=2024-01-01           dates (inclusive)
    q=…, search=…, project=…, user=…, tag=…, workspace=…   handed to MLModelFilterSet as they are
    page=2&per_page=100
    x=hyperparameters.lr&y=metrics.accuracy   the scatter chart's axes

The panel's filters are written in the search language and handed to MLModelFilterSet as part of
`q`, with the user's own query, so the page and `GET /api/v1/models/?q=…` answer alike.
"""

from registry.tables.exports import Row, cell_value, chart_data, csv_response, rows
from registry.tables.keys import (
    BOOLEAN,
    NUMBER,
    SECTION_LABELS,
    SECTIONS,
    TEXT,
    KeyCatalog,
    display,
    key_catalog,
    split_key,
)
from registry.tables.state import FIXED_ORDERING, PER_PAGE_CHOICES, KeyFilter, TableState

__all__ = [
    "BOOLEAN",
    "FIXED_ORDERING",
    "NUMBER",
    "PER_PAGE_CHOICES",
    "SECTIONS",
    "SECTION_LABELS",
    "TEXT",
    "KeyCatalog",
    "KeyFilter",
    "Row",
    "TableState",
    "cell_value",
    "chart_data",
    "csv_response",
    "display",
    "key_catalog",
    "rows",
    "split_key",
]
