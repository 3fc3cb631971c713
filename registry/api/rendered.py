"""A page of models written as the API's JSON by PostgreSQL, in the statement that finds it.

Building a page in Python meant a model, a project and a user object per row, three JSON
documents decoded per row, a second query for the tags, and a dictionary per row: about half
the CPU of a list request (bench/search.py). On PostgreSQL, Django's own query for the page
(filtered, ordered, sliced, scoped by `visible_to`) selects one column instead: the JSON text
of `registry.api.shape.MODEL`, with the uploader, the workspace, the tags and the alias
names read by subqueries of the row. PostgreSQL computes it for the page's rows only (after
the sort and the limit), and the rows reach the response as `orjson.Fragment`s, never
decoded. One statement, so a page and what it shows come from one snapshot; the models table
is planned once (each of its ~40 indexes costs planning time; joining the page back to the
table by id planned it twice and took 10 % longer).

`test_api_rendered` pins the output to the shape's Python output, row by row, for every kind of
value. Elsewhere (SQLite, or a request in another time zone than UTC, which the timestamps
assume) `registry.listing` builds the page's dictionaries in Python.
"""

from functools import cache

from django.db import connections
from django.db.models import TextField
from django.db.models.expressions import RawSQL
from django.utils import timezone
from orjson import Fragment

from registry.api import shape
from registry.links import Links


def renders(queryset) -> bool:
    """Whether this queryset's database can write the page (PostgreSQL, in UTC)."""
    return connections[queryset.db].vendor == "postgresql" and timezone.get_current_timezone_name() == "UTC"


@cache
def _model_sql(alias: str) -> tuple[str, list[str]]:
    return shape.model_sql(alias)  # names only, so once per database; the links are parameters


def column(alias: str, links: Links) -> RawSQL:
    """The JSON text of the models table's current row, as a column to select."""
    text, link_names = _model_sql(alias)
    params = [part for name in link_names for part in links.template(name)]
    return RawSQL(text, params, output_field=TextField())  # noqa: S611 (names from _meta, values bound)


def json_rows(page, links: Links) -> list[Fragment]:
    """The models of `page` (a sliced queryset; check `renders()` first), as the API's JSON."""
    return [Fragment(row) for row in page.values_list(column(page.db, links), flat=True)]
