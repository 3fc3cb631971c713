"""SQL for one key path of a JSON column, typed, on PostgreSQL (jsonb) and SQLite (JSON1).

A key is a path (registry/keypaths.py): ("lr",) is a top-level key, ("optimizer", "lr") the
"lr" inside the dictionary "optimizer". A step into a value that is not a dictionary (a list, a
string) finds nothing, as keypaths.value_at does: `hp.layers.0` never reads a list's element.
The SQL of a top-level key is the same as before paths existed, so the expression indexes that
`manage.py search_indexes` made still match it; `pg_key` is the one place that writes it.

Keys and values are always bound parameters; the only SQL text here comes from the fixed tables
below and from Django's quoted column names (hence the S608 exemptions). One exception, on
SQLite: a path made of plain ASCII parts is written as a literal JSON path
(registry/search/sqlite_paths.py, which admits no quote), because only that form can match an
expression index there.

A comparison matches only when the key holds a value of the compared value's JSON type (numbers
as numbers, strings as strings, booleans as booleans), and it is never NULL, so `not` of it
matches exactly the models it did not match, including those without the key.

Django's own key transforms do not fit: on PostgreSQL `->` compares jsonb across types
(a string sorts below every number), and on SQLite a key of digits becomes an array index and a
key with a double quote cannot be written as a JSON path. SQLite's `json_each` compares the key
as a plain string instead, one `json_each` a step; `json_extract` on a quoted path (`$."0"` is a
key, never an index) reads the keys sqlite_paths can spell, the same values either way.
"""

import json
from collections.abc import Sequence

from django.db import NotSupportedError
from django.db.models import BooleanField, F, FloatField, Func, OrderBy, TextField, Value
from django.db.models.expressions import Ref

from registry.search import sqlite_paths

NUMBER, STRING, BOOLEAN, NULL = "number", "string", "boolean", "null"

_PG_TYPE = {NUMBER: "number", STRING: "string", BOOLEAN: "boolean", NULL: "null"}
# The C collation sorts strings by code point, as SQLite does, whatever the database's default.
_PG_VALUE = {NUMBER: "({} ->> %s)::numeric", STRING: '({} ->> %s) COLLATE "C"', BOOLEAN: "({} ->> %s)::boolean"}
_SQLITE_TYPES = {NUMBER: "'integer', 'real'", STRING: "'text'", BOOLEAN: "'true', 'false'", NULL: "'null'"}
_OUTPUT = {NUMBER: FloatField, STRING: TextField, BOOLEAN: BooleanField}
_SQL_OPERATOR = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def json_kind(value) -> str:
    """The JSON type of a Python value from the parser."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    raise TypeError(f"not a JSON scalar: {value!r}")


Path = tuple[str, ...]


def as_path(key: str | Sequence[str]) -> Path:
    """A string is one top-level key, taken as it is (a stored key may hold a dot); a sequence is a path."""
    path = (key,) if isinstance(key, str) else tuple(key)
    if not path:
        raise ValueError("a key path has at least one part")
    return path


def pg_key(column: str, params: tuple, key: str | Sequence[str]) -> tuple[str, tuple, str]:
    """(`column -> p1 -> … -> pn-1`, its params, pn): the dictionary holding the path's last part.

    Chained `->` with text operands, never `#>`: `#>` would read a list's element for a part of
    digits, and a step into anything but an object is NULL here. For a top-level key the
    container is the column itself, so the SQL is exactly the one the expression indexes hold.
    """
    path = as_path(key)
    container = column + "".join(" -> %s" for _ in path[:-1])
    return container, (*params, *path[:-1]), path[-1]


def pg_typed_value(column: str, params: tuple, key: str | Sequence[str], kind: str) -> tuple[str, tuple]:
    """The value at `key` (a top-level key, or a path as a tuple) if it is of JSON type `kind`, else NULL.

    The one SQL of a typed key: the compiler's comparisons and sorts and search_indexes' indexes
    all come from here, so the planner matches an index with the queries it is for.
    """
    container, container_params, last = pg_key(column, params, key)
    # The CASE guards the cast: PostgreSQL may evaluate the two sides of an AND in either
    # order, but never a THEN before its WHEN.
    value = _PG_VALUE[kind].format(container)
    sql = f"(CASE WHEN jsonb_typeof({container} -> %s) = '{_PG_TYPE[kind]}' THEN {value} END)"
    return sql, (*container_params, last, *container_params, last)


def sqlite_key(column: str, params: tuple, key: str | Sequence[str]) -> tuple[str, str, tuple]:
    """(FROM clause, WHERE clause, params) whose last `json_each`, named `e`, is the path's last part.

    One `json_each` a step, each key compared as a string (a JSON path could not hold a double
    quote); a step reads only an object, so a string holding JSON text is never parsed.
    """
    path = as_path(key)
    sources, conditions, values = [], [], []
    previous = column
    for index, part in enumerate(path):
        name = "e" if index == len(path) - 1 else f"e{index}"
        sources.append(f"json_each({previous}) {name}")
        conditions.append(f"{name}.key = %s")
        values.append(part)
        if name != "e":
            conditions.append(f"{name}.type = 'object'")
            previous = f"CASE WHEN {name}.type = 'object' THEN {name}.value ELSE '{{}}' END"
    return ", ".join(sources), " AND ".join(conditions), (*params, *values)


def _nested(path: Path, value) -> dict:
    """{"optimizer": {"lr": value}} for ("optimizer", "lr"): a containment document."""
    for part in reversed(path):
        value = {part: value}
    return value


class _KeyExpression(Func):
    """An expression over the value at a key path of `column`; subclasses write the SQL for each database.

    `key` is a top-level key as stored (a string) or a path (a tuple of parts).
    """

    def __init__(self, column: str, key: str | Sequence[str], **extra):
        self.path = as_path(key)
        super().__init__(F(column), **extra)

    def _column(self, compiler, connection) -> tuple[str, tuple]:
        sql, params = compiler.compile(self.source_expressions[0])
        return sql, tuple(params)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"Searching JSON keys needs PostgreSQL or SQLite, not {connection.vendor}.")


class JSONValue(_KeyExpression):
    """The key's value if it is of JSON type `kind` (number, string, boolean), else NULL. For sorting."""

    def __init__(self, column: str, key: str | Sequence[str], kind: str):
        self.kind = kind
        super().__init__(column, key, output_field=_OUTPUT[kind]())

    def as_postgresql(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        return pg_typed_value(column, params, self.path, self.kind)

    def as_sqlite(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        indexable = sqlite_paths.typed_value(column, self.path, self.kind)
        if indexable is not None:  # the form an expression index holds (search/indexes.py)
            return indexable, params
        sources, where, params = sqlite_key(column, params, self.path)
        types = _SQLITE_TYPES[self.kind]
        return f"(SELECT e.value FROM {sources} WHERE {where} AND e.type IN ({types}))", params  # noqa: S608


class KeyOrderBy(OrderBy):
    """A sort on one typed value of a key (JSONValue), with the models without it last both ways.

    PostgreSQL gets `value ASC NULLS LAST` / `value DESC NULLS LAST`, which its expression
    indexes hold as written. SQLite sorts NULLs first and an index keeps them first, so it can
    read `DESC NULLS LAST` from an ascending index backwards but never `ASC NULLS LAST`: that
    sorted every visible row (bench/search.py question 8, `ordering=hp.optimizer`, 458 ms at
    100,000 models). There the ascending sort is written `value IS NULL, value ASC`, the same
    order, which an index on those two expressions (indexes.ASCENDING) reads in order.
    """

    def __init__(self, expression, descending: bool = False):
        super().__init__(expression, descending=descending, nulls_last=True)

    def as_sqlite(self, compiler, connection, **extra_context):
        # DESC puts NULLs last on SQLite already. A DISTINCT query selects its ORDER BY terms,
        # where two terms in one would be two columns: it keeps Django's one-term form.
        if self.descending or not self.nulls_last or compiler.query.distinct:
            return self.as_sql(compiler, connection, **extra_context)
        expression = self.expression
        if isinstance(expression, Ref):  # the value is also selected (a cursor's key): `3 IS NULL` would be a constant
            expression = expression.source
        sql, params = compiler.compile(expression)
        return f"{sql} IS NULL, {sql} ASC", (*params, *params)


class JSONHasKey(_KeyExpression):
    """True when the dictionary has the key, whatever its value (null included)."""

    output_field = BooleanField()

    def as_postgresql(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        if len(self.path) == 1:
            return f"({column} ? %s)", (*params, *self.path)
        # `?` would also find a string inside a list; `->` finds keys of objects only.
        container, params, last = pg_key(column, params, self.path)
        return f"(({container} -> %s) IS NOT NULL)", (*params, last)

    def as_sqlite(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        indexable = sqlite_paths.has_key(column, self.path)
        if indexable is not None:
            return indexable, params
        sources, where, params = sqlite_key(column, params, self.path)
        return f"EXISTS (SELECT 1 FROM {sources} WHERE {where})", params  # noqa: S608


class JSONCompare(_KeyExpression):
    """`column[key] <operator> value`, typed: true only if the key holds a value of value's type.

    `operator` is one of = != < <= > >= like; `like` takes a string pattern and ignores case.
    With `total`, the condition is false (not NULL) for a model without the key, as a negated one
    must be; without it, PostgreSQL gets the bare comparison, which an expression index on the
    key's typed value (search_indexes) can answer.
    """

    output_field = BooleanField()

    def __init__(self, column: str, key: str | Sequence[str], operator: str, value, total: bool = True):
        kind = json_kind(value)
        allowed = {NULL: {"="}, BOOLEAN: {"=", "!="}, NUMBER: set(_SQL_OPERATOR), STRING: {*_SQL_OPERATOR, "like"}}
        if operator not in allowed[kind]:
            raise ValueError(f"{operator!r} does not apply to {kind}")
        self.operator = operator
        self.value = value
        self.kind = kind
        self.total = total
        super().__init__(column, key)

    def as_postgresql(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        if self.operator == "=":
            # Containment is typed by itself (64 contains 64.0, not "64") and uses the GIN index.
            return f"({column} @> %s::jsonb)", (*params, json.dumps(_nested(self.path, self.value)))
        value_sql, value_params = pg_typed_value(column, params, self.path, self.kind)
        if self.operator == "like":
            condition = f"{value_sql} ILIKE %s ESCAPE '\\'"
        else:
            condition = f"{value_sql} {_SQL_OPERATOR[self.operator]} %s"
        if self.total:
            return f"COALESCE({condition}, false)", (*value_params, self.value)
        return f"({condition})", (*value_params, self.value)

    def as_sqlite(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        indexable = sqlite_paths.typed_value(column, self.path, self.kind) if self.kind != NULL else None
        if indexable is not None:  # the typed value an expression index holds (search/indexes.py)
            operator = "LIKE" if self.operator == "like" else _SQL_OPERATOR[self.operator]
            escape = " ESCAPE '\\'" if self.operator == "like" else ""
            condition = f"{indexable} {operator} %s{escape}"
            return (f"COALESCE({condition}, 0)" if self.total else f"({condition})"), (*params, self.value)
        sources, where, params = sqlite_key(column, params, self.path)
        types = _SQLITE_TYPES[self.kind]
        sql = f"EXISTS (SELECT 1 FROM {sources} WHERE {where} AND e.type IN ({types})"  # noqa: S608
        if self.kind == NULL:
            return sql + ")", params
        if self.operator == "like":
            # SQLite's LIKE ignores case (for ASCII letters) by default.
            return sql + " AND e.value LIKE %s ESCAPE '\\')", (*params, self.value)
        return sql + f" AND e.value {_SQL_OPERATOR[self.operator]} %s)", (*params, self.value)


class ILike(Func):
    """`expression` matches a LIKE pattern (% any run, _ one character, \\ escapes), ignoring case.

    Case is folded by the database: fully on PostgreSQL, for ASCII letters on SQLite.
    """

    output_field = BooleanField()

    def __init__(self, expression, pattern: str):
        super().__init__(expression, Value(pattern))

    def as_sql(self, compiler, connection, keyword="LIKE", **extra_context):
        text, text_params = compiler.compile(self.source_expressions[0])
        pattern, pattern_params = compiler.compile(self.source_expressions[1])
        return f"({text} {keyword} {pattern} ESCAPE '\\')", (*text_params, *pattern_params)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, keyword="ILIKE")
