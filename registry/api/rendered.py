"""A page of models rendered to the API's JSON by PostgreSQL, in the statement that finds it.

Building a page in Python meant a model, a project and a user object per row, three JSON
documents decoded per row, a second query for the tags, and a dictionary per row: about half
the CPU of a list request. On PostgreSQL, Django's own query for the page (filtered, ordered,
sliced, scoped by `visible_to`) selects one column instead: the JSON text that
`MLModelSerializer.to_representation` writes, with the uploader, the workspace and the tags
read by subqueries of the row. PostgreSQL computes it for the page's rows only (after the
sort and the limit), and the rows reach the response as `orjson.Fragment`s, never decoded.
One statement, so a page and what it shows come from one snapshot; the models table is
planned once (each of its ~40 indexes costs planning time; joining the page back to the
table by id planned it twice and took 10 % longer).

The shape is the serializer's; `test_api_rendered` pins the two equal, row by row, for every
kind of value. Elsewhere (SQLite, or a request in another time zone than UTC, which the
timestamps below assume) lists are built by the serializer.
"""

from functools import cache

from django.db import connections
from django.db.models import TextField
from django.db.models.expressions import RawSQL
from django.db.models.query import BaseIterable
from django.utils import timezone
from orjson import Fragment

from registry.links import Links

# `{"name": head || id || tail}` for each link: Links' templates, bound as parameters.
_LINKS = {
    "self": ("api:model-detail", "id"),
    "user": ("api:user-detail", "uploader_id"),
    "project": ("api:project-detail", "project_id"),
    "download": ("api:model-download", "id"),
}


def _timestamp(column: str) -> str:
    """DRF's ISO 8601 in UTC: microseconds only when there are any, "Z" for the zone."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN date_trunc('second', {column}) = {column} THEN '' ELSE to_char({utc}, '.US') END || 'Z'"
    )


@cache
def _model_json_sql(alias: str) -> str:
    """The API's JSON of the models table's current row, as text: a column for Django's own
    page query, so the table is planned once and the row is joined to nothing else. Written
    once per database: it holds names only, the links are parameters."""
    from accounts.models import User
    from registry.models import MLModel, Project, Tag

    connection = connections[alias]

    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    m = table(MLModel)  # Django's alias for the queryset's own table is its name
    links = ", ".join(f"'{name}', %s || {m}.{column} || %s" for name, (_, column) in _LINKS.items())
    return f"""json_build_object(
        'id', {m}.id,
        'user', (SELECT json_build_object('id', u.id, 'login', u.login, 'full_name', u.full_name)
                 FROM {table(User)} u WHERE u.id = {m}.uploader_id),
        'project_id', {m}.project_id,
        'workspace_id', (SELECT p.workspace_id FROM {table(Project)} p WHERE p.id = {m}.project_id),
        'name', {m}.name,
        'version', {m}.version,
        'visibility', CASE WHEN {m}.private THEN 'private' ELSE 'public' END,
        'dataset', json_build_object('name', {m}.dataset_name, 'description', {m}.dataset_description),
        'hyperparameters', {m}.hyperparameters,
        'parameters', {m}.parameters,
        'metrics', {m}.metrics,
        'tags', COALESCE((
            SELECT json_agg(json_build_object('id', t.id, 'name', t.name, 'description', t.description)
                            ORDER BY t.name, t.id)
            FROM {table(MLModel.tags.through)} l JOIN {table(Tag)} t ON t.id = l.tag_id
            WHERE l.mlmodel_id = {m}.id
        ), '[]'),
        'git', json_build_object('active_branch', {m}.git_branch, 'commit_hash', {m}.git_commit),
        'file', json_build_object('name', {m}.file_name, 'size', {m}.file_size, 'sha256', {m}.file_sha256),
        'created', {_timestamp(f"{m}.created")},
        'updated', {_timestamp(f"{m}.updated")},
        '_links', json_build_object({links})
    )::text"""  # noqa: S608 (table names from the models' _meta, quoted; every value is a parameter)


class RenderedModelIterable(BaseIterable):
    """Yields each model of the (sliced) queryset as its API JSON, an `orjson.Fragment`.

    `rendered()` makes a subclass per request holding its `links`: a queryset is cloned for
    every filter and slice, and its iterable class is what every clone keeps."""

    links: Links

    def __iter__(self):
        queryset = self.queryset
        links = [part for name, _ in _LINKS.values() for part in self.links.template(name)]
        column = RawSQL(_model_json_sql(queryset.db), links, output_field=TextField())  # noqa: S611
        for text in queryset.values_list(column, flat=True):
            yield Fragment(text)


def renders(queryset) -> bool:
    """Whether this queryset's database can render the page (PostgreSQL, in UTC)."""
    return connections[queryset.db].vendor == "postgresql" and timezone.get_current_timezone_name() == "UTC"


def rendered(queryset, request):
    """`queryset`, its pages rendered by the database (check `renders(queryset)` first)."""
    clone = queryset._chain()
    clone._iterable_class = type("RenderedModelIterable", (RenderedModelIterable,), {"links": Links(request)})
    clone._known_count = getattr(queryset, "_known_count", None)  # the same rows, so the same total
    return clone
