"""SQL for one top-level key of a JSON column, typed, on PostgreSQL (jsonb) and SQLite (JSON1).

Keys and values are always bound parameters; the only SQL text here comes from the fixed tables
below and from Django's quoted column names (hence the S608 exemptions).

A comparison matches only when the key holds a value of the compared value's JSON type (numbers
as numbers, strings as strings, booleans as booleans), and it is never NULL, so `not` of it
matches exactly the models it did not match, including those without the key.

Django's own key transforms do not fit: on PostgreSQL `->` compares jsonb across types
(a string sorts below every number), and on SQLite a key of digits becomes an array index and a
key with a double quote cannot be written as a JSON path. SQLite's `json_each` compares the key
as a plain string instead.
"""

import json

from django.db import NotSupportedError
from django.db.models import BooleanField, F, FloatField, Func, TextField, Value

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


def pg_typed_value(column: str, params: tuple, key: str, kind: str) -> tuple[str, tuple]:
    # The CASE guards the cast: PostgreSQL may evaluate the two sides of an AND in either
    # order, but never a THEN before its WHEN.
    value = _PG_VALUE[kind].format(column)
    sql = f"(CASE WHEN jsonb_typeof({column} -> %s) = '{_PG_TYPE[kind]}' THEN {value} END)"
    return sql, (*params, key, *params, key)


class _KeyExpression(Func):
    """An expression over `column[key]`; subclasses write the SQL for each database."""

    def __init__(self, column: str, key: str, **extra):
        self.key = key
        super().__init__(F(column), **extra)

    def _column(self, compiler, connection) -> tuple[str, tuple]:
        sql, params = compiler.compile(self.source_expressions[0])
        return sql, tuple(params)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"Searching JSON keys needs PostgreSQL or SQLite, not {connection.vendor}.")


class JSONValue(_KeyExpression):
    """The key's value if it is of JSON type `kind` (number, string, boolean), else NULL. For sorting."""

    def __init__(self, column: str, key: str, kind: str):
        self.kind = kind
        super().__init__(column, key, output_field=_OUTPUT[kind]())

    def as_postgresql(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        return pg_typed_value(column, params, self.key, self.kind)

    def as_sqlite(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        types = _SQLITE_TYPES[self.kind]
        sql = f"(SELECT value FROM json_each({column}) WHERE key = %s AND type IN ({types}))"  # noqa: S608
        return sql, (*params, self.key)


class JSONHasKey(_KeyExpression):
    """True when the dictionary has the key, whatever its value (null included)."""

    output_field = BooleanField()

    def as_postgresql(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        return f"({column} ? %s)", (*params, self.key)

    def as_sqlite(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE key = %s)", (*params, self.key)  # noqa: S608


class JSONCompare(_KeyExpression):
    """`column[key] <operator> value`, typed: true only if the key holds a value of value's type.

    `operator` is one of = != < <= > >= like; `like` takes a string pattern and ignores case.
    With `total`, the condition is false (not NULL) for a model without the key, as a negated one
    must be; without it, PostgreSQL gets the bare comparison, which an expression index on the
    key's typed value (search_indexes) can answer.
    """

    output_field = BooleanField()

    def __init__(self, column: str, key: str, operator: str, value, total: bool = True):
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
            return f"({column} @> %s::jsonb)", (*params, json.dumps({self.key: self.value}))
        value_sql, value_params = pg_typed_value(column, params, self.key, self.kind)
        if self.operator == "like":
            condition = f"{value_sql} ILIKE %s ESCAPE '\\'"
        else:
            condition = f"{value_sql} {_SQL_OPERATOR[self.operator]} %s"
        if self.total:
            return f"COALESCE({condition}, false)", (*value_params, self.value)
        return f"({condition})", (*value_params, self.value)

    def as_sqlite(self, compiler, connection, **extra_context):
        column, params = self._column(compiler, connection)
        types = _SQLITE_TYPES[self.kind]
        sql = f"EXISTS (SELECT 1 FROM json_each({column}) WHERE key = %s AND type IN ({types})"  # noqa: S608
        if self.kind == NULL:
            return sql + ")", (*params, self.key)
        if self.operator == "like":
            # SQLite's LIKE ignores case (for ASCII letters) by default.
            return sql + " AND value LIKE %s ESCAPE '\\')", (*params, self.key, self.value)
        return sql + f" AND value {_SQL_OPERATOR[self.operator]} %s)", (*params, self.key, self.value)


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
