"""The API's JSON of a model, declared once: one table of fields, written two ways.

`MODEL.python(model, render)` builds the dictionary (the serializer's answer for one model, and
list pages where the database does not write them); `MODEL.sql(MLModel, alias)` writes the same
JSON as PostgreSQL SQL over the row `alias` (registry/api/rendered.py: list pages on PostgreSQL).
A field added to the table reaches both. `MLModelSerializer` keeps its declared fields for the
OpenAPI schema; test_api_shape fails when the two vocabularies drift, and test_api_rendered pins
the SQL's output to the Python's for every kind of value.

Python is the reference for every value: DRF's spelling of timestamps (ISO 8601, "Z" for UTC,
microseconds only when there are any) and the tags in `tag_order()`.
"""

from django.core.exceptions import ObjectDoesNotExist
from django.db import connections
from django.utils import timezone
from rest_framework import serializers

from registry.links import Links
from registry.querysets import attach_alias_names, tag_order

# DRF's own datetime rendering, for the values the fast path below does not handle.
_DATETIME = serializers.DateTimeField()


class Render:
    """What one answer's dictionaries share: its links, reversed once, and its time zone, looked
    up once (per value it was 5 % of a list's CPU)."""

    def __init__(self, links: Links):
        self.links = links
        self._zone = None

    def timestamp(self, value) -> str | None:
        """`_DATETIME.to_representation(value)`, DRF's ISO 8601 in the current time zone."""
        if value is None or value.tzinfo is None:
            return _DATETIME.to_representation(value)
        if self._zone is None:
            self._zone = timezone.get_current_timezone()
        text = value.astimezone(self._zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


class SQL:
    """The state of writing one shape as SQL: the connection's quoting, the link names whose
    (head, tail) templates are the statement's parameters, in order, and fresh table aliases."""

    def __init__(self, connection):
        self.quote = connection.ops.quote_name
        self.links: list[str] = []
        self._aliases = 0

    def alias(self) -> str:
        self._aliases += 1
        return f"shape_{self._aliases}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Column:
    """A column of the row, as stored (numbers, text, JSON)."""

    def __init__(self, name: str):
        self.name = name

    def python(self, obj, render: Render):
        return getattr(obj, self.name)

    def sql(self, model, row: str, sql: SQL) -> str:
        return f"{row}.{sql.quote(model._meta.get_field(self.name).column)}"


class Timestamp(Column):
    def python(self, obj, render: Render):
        return render.timestamp(getattr(obj, self.name))

    def sql(self, model, row: str, sql: SQL) -> str:
        # Render.timestamp's spelling in UTC; rendered.renders() keeps other zones in Python.
        column = super().sql(model, row, sql)
        utc = f"({column} AT TIME ZONE 'UTC')"
        return (
            f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', {column}) = {column}"
            f" THEN '' ELSE to_char({utc}, '.US') END || 'Z')"
        )


class Choice(Column):
    """A boolean column written as one of two words."""

    def __init__(self, name: str, when_true: str, when_false: str):
        super().__init__(name)
        self.when_true, self.when_false = when_true, when_false

    def python(self, obj, render: Render):
        return self.when_true if getattr(obj, self.name) else self.when_false

    def sql(self, model, row: str, sql: SQL) -> str:
        column = super().sql(model, row, sql)
        return f"CASE WHEN {column} THEN {_literal(self.when_true)} ELSE {_literal(self.when_false)} END"


class Link(Column):
    """The absolute URL named `url_name`, for the id in column `name`."""

    def __init__(self, url_name: str, name: str):
        super().__init__(name)
        self.url_name = url_name

    def python(self, obj, render: Render):
        return render.links.url(self.url_name, getattr(obj, self.name))

    def sql(self, model, row: str, sql: SQL) -> str:
        sql.links.append(self.url_name)  # its head and tail are bound as parameters
        return f"(%s || {super().sql(model, row, sql)} || %s)"


class Object:
    """A JSON object: its keys in this order, each with its part."""

    def __init__(self, /, **parts):  # positional-only: "self" is a key of _links
        self.parts = parts

    def keys(self) -> list[str]:
        return list(self.parts)

    def python(self, obj, render: Render) -> dict:
        return {key: part.python(obj, render) for key, part in self.parts.items()}

    def sql(self, model, row: str, sql: SQL) -> str:
        pairs = ", ".join(f"{_literal(key)}, {part.sql(model, row, sql)}" for key, part in self.parts.items())
        return f"json_build_object({pairs})"


class Related:
    """The object a foreign key `name` points at, written as `shape` (a subquery of the row)."""

    def __init__(self, name: str, shape):
        self.name, self.shape = name, shape

    def python(self, obj, render: Render):
        return self.shape.python(getattr(obj, self.name), render)

    def sql(self, model, row: str, sql: SQL) -> str:
        field = model._meta.get_field(self.name)
        target, alias = field.related_model, sql.alias()
        value = self.shape.sql(target, alias, sql)
        return (
            f"(SELECT {value} FROM {sql.quote(target._meta.db_table)} {alias}"  # noqa: S608 (names from _meta)
            f" WHERE {alias}.{sql.quote(target._meta.pk.column)} = {row}.{sql.quote(field.column)})"
        )


class Reverse:
    """The row of another table whose one-to-one field points at this row (`name`, its related
    name), written as `shape`; null when there is none. In Python the object `with_related()`
    selected beside the model (else one query), in SQL a subquery of the row by its primary key."""

    def __init__(self, name: str, shape):
        self.name, self.shape = name, shape

    def python(self, obj, render: Render):
        try:
            related = getattr(obj, self.name)
        except ObjectDoesNotExist:
            return None
        return self.shape.python(related, render)

    def sql(self, model, row: str, sql: SQL) -> str:
        relation = model._meta.get_field(self.name)
        target, alias = relation.related_model, sql.alias()
        value = self.shape.sql(target, alias, sql)
        return (
            f"(SELECT {value} FROM {sql.quote(target._meta.db_table)} {alias}"  # noqa: S608 (names from _meta)
            f" WHERE {alias}.{sql.quote(relation.field.column)} = {row}.{sql.quote(model._meta.pk.column)})"
        )


class Tags:
    """The model's tags in tag_order(), each written as `shape`: in Python the tags attached for
    the page (`registry.querysets.attach_tags`, else one query), in SQL a subquery of the row."""

    def __init__(self, shape):
        self.shape = shape

    def python(self, obj, render: Render) -> list:
        return [self.shape.python(tag, render) for tag in obj.tag_list]

    def sql(self, model, row: str, sql: SQL) -> str:
        field = model._meta.get_field("tags")
        tag, link = field.related_model, field.remote_field.through
        t, ln, q = sql.alias(), sql.alias(), sql.quote
        order = ", ".join(f"{t}.{q(tag._meta.get_field(name).column)}" for name in tag_order())
        return (
            f"COALESCE((SELECT json_agg({self.shape.sql(tag, t, sql)} ORDER BY {order})"  # noqa: S608 (names from _meta)
            f" FROM {q(link._meta.db_table)} {ln} JOIN {q(tag._meta.db_table)} {t}"
            f" ON {t}.{q(tag._meta.pk.column)} = {ln}.{q(field.m2m_reverse_name())}"
            f" WHERE {ln}.{q(field.m2m_column_name())} = {row}.{q(model._meta.pk.column)}), '[]')"
        )


class AliasNames:
    """The names of the aliases the model's version holds, sorted: in Python the names attached
    for the page (`registry.querysets.attach_alias_names`, else one query), in SQL a subquery of
    the row. Sorted by name in both; alias names are lower-case ASCII, so every collation agrees."""

    def python(self, obj, render: Render) -> list:
        if "prefetched_alias_names" not in obj.__dict__:
            attach_alias_names([obj])
        return obj.prefetched_alias_names

    def sql(self, model, row: str, sql: SQL) -> str:
        alias_model = model._meta.get_field("aliases").related_model
        a, q = sql.alias(), sql.quote
        name = f"{a}.{q(alias_model._meta.get_field('name').column)}"
        version = f"{a}.{q(alias_model._meta.get_field('version').column)}"
        return (
            f"COALESCE((SELECT json_agg({name} ORDER BY {name})"  # noqa: S608 (names from _meta)
            f" FROM {q(alias_model._meta.db_table)} {a}"
            f" WHERE {version} = {row}.{q(model._meta.pk.column)}), '[]')"
        )


# A user inside another shape (the model's uploader).
USER = Object(id=Column("id"), login=Column("login"), full_name=Column("full_name"))

# A tag inside a model: always of the model's own workspace.
TAG = Object(id=Column("id"), name=Column("name"), description=Column("description"))

# What Maisie read from a version's files (formats.models.VersionFacts, docs/formats.md): the
# format holding the weights, their parameter count and the advisory verdict. The whole object is
# null until the version has been read.
FORMAT = Object(name=Column("format"), params=Column("params"), verdict=Column("verdict"))

MODEL = Object(
    id=Column("id"),
    user=Related("uploader", USER),
    project_id=Column("project_id"),
    workspace_id=Related("project", Column("workspace_id")),
    registered_model_id=Column("registered_model_id"),
    name=Column("name"),
    version=Column("version"),
    visibility=Choice("private", "private", "public"),
    dataset=Object(name=Column("dataset_name"), description=Column("dataset_description")),
    hyperparameters=Column("hyperparameters"),
    parameters=Column("parameters"),
    metrics=Column("metrics"),
    tags=Tags(TAG),
    aliases=AliasNames(),
    git=Object(
        active_branch=Column("git_branch"),
        commit_hash=Column("git_commit"),
        remote_url=Column("git_remote_url"),  # without credentials (registry/provenance.py)
        dirty=Column("git_dirty"),  # true, false, or null when the uploader did not say
    ),
    file=Object(name=Column("file_name"), size=Column("file_size"), sha256=Column("file_sha256")),
    digest=Column("digest"),  # the SHA-256 of the version's canonical manifest (docs/storage.md)
    format=Reverse("format_facts", FORMAT),
    created=Timestamp("created"),
    updated=Timestamp("updated"),
    _links=Object(
        self=Link("api:model-detail", "id"),
        user=Link("api:user-detail", "uploader_id"),
        project=Link("api:project-detail", "project_id"),
        download=Link("api:model-download", "id"),  # the file, or a folder's files as one zip
        files=Link("api:model-files", "id"),  # the manifest, each file with its own download
        web=Link("registry:model_detail", "id"),  # the model's page, for people
    ),
)


def model_sql(alias: str) -> tuple[str, list[str]]:
    """MODEL as the SQL text of one JSON value over the models table's current row (Django's
    alias for a queryset's own table is its name), and the link names whose templates are its
    parameters, in order."""
    from registry.models import MLModel

    sql = SQL(connections[alias])
    text = MODEL.sql(MLModel, sql.quote(MLModel._meta.db_table), sql)
    return f"{text}::text", sql.links
