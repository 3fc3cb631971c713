"""A page of models rendered to the API's JSON by PostgreSQL, in the statement that finds it.

Building a page in Python meant a model, a project and a user object per row, three JSON
documents decoded per row, a second query for the tags, and a dictionary per row: about half
the CPU of a list request. On PostgreSQL, the page's ids (Django's own SQL for the filtered,
ordered, sliced queryset) go into one statement that joins each model to its project, uploader
and tags and writes the shape `MLModelSerializer.to_representation` writes, a JSON text per row.
The rows reach the response as `orjson.Fragment`s, never decoded. One statement, so the page and
what it shows come from one snapshot, and the visibility rules are the queryset's own.

The shape is the serializer's; `test_api_rendered` pins the two equal, row by row, for every
kind of value. Elsewhere (SQLite, or a request in another time zone than UTC, which the
timestamps below assume) lists are built by the serializer.
"""

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models.query import BaseIterable
from django.utils import timezone
from orjson import Fragment

from registry.api.links import Links

# `{"name": head || id || tail}` for each link: Links' templates, bound as parameters.
_LINKS = {
    "self": ("api:model-detail", "m.id"),
    "user": ("api:user-detail", "m.uploader_id"),
    "project": ("api:project-detail", "m.project_id"),
    "download": ("api:model-download", "m.id"),
}


def _timestamp(column: str) -> str:
    """DRF's ISO 8601 in UTC: microseconds only when there are any, "Z" for the zone."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN date_trunc('second', {column}) = {column} THEN '' ELSE to_char({utc}, '.US') END || 'Z'"
    )


def _render_sql(connection) -> str:
    """The SELECT list and joins around a page's ids (`{page}`): table names from the models."""
    from accounts.models import User
    from registry.models import MLModel, Project, Tag

    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    links = ", ".join(f"'{name}', %s || {column} || %s" for name, (_, column) in _LINKS.items())
    return f"""
        SELECT json_build_object(
            'id', m.id,
            'user', json_build_object('id', u.id, 'login', u.login, 'full_name', u.full_name),
            'project_id', m.project_id,
            'workspace_id', p.workspace_id,
            'name', m.name,
            'version', m.version,
            'visibility', CASE WHEN m.private THEN 'private' ELSE 'public' END,
            'dataset', json_build_object('name', m.dataset_name, 'description', m.dataset_description),
            'hyperparameters', m.hyperparameters,
            'parameters', m.parameters,
            'metrics', m.metrics,
            'tags', COALESCE((
                SELECT json_agg(json_build_object('id', t.id, 'name', t.name, 'description', t.description)
                                ORDER BY t.name, t.id)
                FROM {table(MLModel.tags.through)} l JOIN {table(Tag)} t ON t.id = l.tag_id
                WHERE l.mlmodel_id = m.id
            ), '[]'),
            'git', json_build_object('active_branch', m.git_branch, 'commit_hash', m.git_commit),
            'file', json_build_object('name', m.file_name, 'size', m.file_size, 'sha256', m.file_sha256),
            'created', {_timestamp("m.created")},
            'updated', {_timestamp("m.updated")},
            '_links', json_build_object({links})
        )::text
        FROM unnest(ARRAY({{page}})) WITH ORDINALITY AS page(id, position)
        JOIN {table(MLModel)} m ON m.id = page.id
        JOIN {table(Project)} p ON p.id = m.project_id
        JOIN {table(User)} u ON u.id = m.uploader_id
        ORDER BY page.position
    """  # noqa: S608 (table names from the models' _meta, quoted; every value is a parameter)


class RenderedModelIterable(BaseIterable):
    """Yields each model of the (sliced) queryset as its API JSON, an `orjson.Fragment`.

    `rendered()` makes a subclass per request holding its `links`: a queryset is cloned for
    every filter and slice, and its iterable class is what every clone keeps."""

    links: Links

    def __iter__(self):
        queryset = self.queryset
        connection = connections[queryset.db]
        # ARRAY(subquery) keeps the subquery's order, which WITH ORDINALITY numbers.
        try:
            page_sql, page_params = queryset.values_list("pk", flat=True).query.get_compiler(queryset.db).as_sql()
        except EmptyResultSet:  # a filter no row can pass (`.none()`, `in ()`): as Django does, no query
            return
        head, tail = _render_sql(connection).split("{page}")
        links = [part for name, _ in _LINKS.values() for part in self.links.template(name)]
        with connection.cursor() as cursor:
            cursor.execute(head + page_sql + tail, [*links, *page_params])
            for (text,) in cursor.fetchall():
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
