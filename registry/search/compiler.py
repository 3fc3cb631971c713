"""Syntax trees to ORM expressions: a Q object for `q=`, order_by() arguments for `ordering=`.

Each kind of field (fields.py) has one function that checks the operator and the values it is
given and builds the condition; anything a kind does not support is a QueryError naming the
offset. Values reach SQL only as bound parameters.
"""

import operator
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce

from django.db.models import Exists, F, OuterRef, Q, Value
from django.utils import timezone

from registry.models import Alias, MLModel
from registry.search import catalogue, fields
from registry.search.errors import query_error
from registry.search.expressions import BOOLEAN, NUMBER, STRING, ILike, JSONCompare, JSONHasKey, JSONValue, KeyOrderBy
from registry.search.parser import parse_ordering, parse_query
from registry.search.syntax import And, Comparison, Literal, Not, Or, OrderTerm

_RANGE_LOOKUPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_EXISTS_FIELDS = "JSON keys, tag, alias, dataset, branch, commit, git.remote and git.dirty"


def compile_query(text: str) -> Q | None:
    """The condition a query stands for, or None when it is blank. Raises QueryError.

    Filter with it (`qs.filter(condition)`); to negate, put `not` in the query rather than
    using ~ or exclude(), which would drop the models that lack a key (see _compile).
    """
    tree = parse_query(text)
    return None if tree is None else _compile(tree)


def compile_ordering(text: str) -> list | None:
    """order_by() arguments for an ordering, ending with id so pages are stable; None when blank."""
    terms = parse_ordering(text)
    if not terms:
        return None
    expressions = [expression for term in terms for expression in _order(term)]
    # The tie-breaker follows the last field's direction, so `-created` reads newest id first.
    expressions.append(F("id").desc() if terms[-1].descending else F("id").asc())
    return expressions


def _compile(node, negated: bool = False) -> Q:
    """`not` is pushed down to the comparisons (De Morgan), so each JSON comparison knows whether
    it stands negated. A positive one may be NULL for a model without the key, which reads as
    false and lets PostgreSQL use an expression index on it; a negated one must be exactly true
    or false, or `not` would drop the models without the key.
    """
    if isinstance(node, Not):
        return _compile(node.child, not negated)
    if isinstance(node, And | Or):
        combine = operator.and_ if isinstance(node, And) != negated else operator.or_
        return reduce(combine, (_compile(child, negated) for child in node.children))
    if node.target.field.kind == fields.JSON:
        target = node.target  # a key no model has is answered from the catalogue (catalogue.py)
        condition = catalogue.narrow(_json(node, total=negated), target.field.name, target.path)
    else:
        condition = _COMPARISONS[node.target.field.kind](node)
    return ~condition if negated else condition


# ----------------------------------------------------------------------------- checks


def _require_operator(comparison: Comparison, allowed: str, explanation: str) -> None:
    if comparison.operator not in allowed.split():
        raise query_error(
            comparison.offset,
            f"'{comparison.target.text}' cannot be used with {comparison.operator}",
            hint=f"{explanation}",
        )


def _require_kinds(comparison: Comparison, kinds: str, described: str) -> None:
    for literal in comparison.values:
        if literal.kind not in kinds.split():
            raise query_error(
                literal.offset,
                f"'{comparison.target.text}' compares with {described}",
                found=f"'{literal.text}'",
            )


def _any_of(comparison: Comparison, condition) -> Q:
    """`in (a, b)` as `= a or = b`; any other operator has a single value."""
    return reduce(operator.or_, (condition(literal) for literal in comparison.values))


def _like_pattern(literal: Literal) -> str:
    pattern = literal.value
    index = 0
    while index < len(pattern):
        if pattern[index] == "\\":
            if index + 1 == len(pattern):
                raise query_error(literal.offset, "A like pattern cannot end with a lone backslash")
            index += 1
        index += 1
    return pattern


# ----------------------------------------------------------------------------- field kinds


def _json(comparison: Comparison, total: bool) -> Q:
    """`total`: the condition must be true or false, never NULL (it is about to be negated)."""
    column, key, op = comparison.target.field.column, comparison.target.path, comparison.operator
    if op == "exists":
        return Q(JSONHasKey(column, key))
    for literal in comparison.values:
        if literal.kind == "date":
            raise query_error(
                literal.offset, "Dates compare only with created", hint=f'quote it, "{literal.text}", to compare text'
            )
        if literal.kind == "null" and op not in ("=", "!=", "in"):
            raise query_error(literal.offset, f"null compares only with = and !=, not {op}")
        if literal.kind == "boolean" and op not in ("=", "!=", "in"):
            raise query_error(literal.offset, f"true and false compare only with = and !=, not {op}")
    if op == "in":
        return _any_of(comparison, lambda literal: Q(JSONCompare(column, key, "=", literal.value)))
    (literal,) = comparison.values
    if literal.kind == "null" and op == "!=":
        # Typed, `!= null` would match nothing; it means "has the key, with a value".
        return Q(JSONHasKey(column, key)) & ~Q(JSONCompare(column, key, "=", None))
    value = _like_pattern(literal) if op == "like" else literal.value
    return Q(JSONCompare(column, key, op, value, total=total))


def _text(comparison: Comparison) -> Q:
    field, op = comparison.target.field, comparison.operator
    if op == "exists":
        if not field.optional:
            problem = f"'{comparison.target.text}' is never empty"
            raise query_error(comparison.offset, problem, hint=f"exists applies to {_EXISTS_FIELDS}")
        return ~Q(**{field.column: ""})
    _require_kinds(comparison, "string", "quoted strings")
    return _column_condition(comparison, field.column)


def _column_condition(comparison: Comparison, column: str) -> Q:
    """= != < <= > >= in like on a plain column (strings and numbers alike)."""
    op = comparison.operator
    if op == "in":
        return _any_of(comparison, lambda literal: Q(**{column: Value(literal.value)}))
    (literal,) = comparison.values
    if op == "like":
        return Q(ILike(F(column), _like_pattern(literal)))
    # Values go in as expressions so that Django does not coerce them to the column's type
    # (size > 1.5 must not become size > 1).
    if op == "=":
        return Q(**{column: Value(literal.value)})
    if op == "!=":
        return ~Q(**{column: Value(literal.value)})
    return Q(**{f"{column}__{_RANGE_LOOKUPS[op]}": Value(literal.value)})


def _integer(comparison: Comparison) -> Q:
    _require_operator(comparison, "= != < <= > >= in", "whole-number fields take = != < <= > >= and in")
    _require_kinds(comparison, "number", "numbers")
    return _column_condition(comparison, comparison.target.field.column)


def _created(comparison: Comparison) -> Q:
    _require_operator(comparison, "= != < <= > >= in", "created takes = != < <= > >= and in")
    op = comparison.operator
    if op == "in":
        return _any_of(comparison, lambda literal: _moment(literal, "="))
    return _moment(comparison.values[0], op)


def _moment(literal: Literal, op: str) -> Q:
    """A date stands for the whole day (in the server's time zone); a date and time for an instant."""
    value = _datetime_value(literal)
    try:
        if isinstance(value, datetime):
            value.astimezone(UTC)  # the database stores UTC: 0001-01-01T00:00+01:00 has no such time
        else:
            start = timezone.make_aware(datetime.combine(value, time.min))
            end = timezone.make_aware(datetime.combine(value + timedelta(days=1), time.min))
            start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError:
        raise query_error(literal.offset, "Date out of range", found=f"'{literal.text}'") from None
    if isinstance(value, datetime):
        if op == "!=":
            return ~Q(created=value)
        return Q(**{"created__" + {"=": "exact", **_RANGE_LOOKUPS}[op]: value})
    that_day = Q(created__gte=start, created__lt=end)
    return {
        "=": that_day,
        "!=": ~that_day,
        "<": Q(created__lt=start),
        "<=": Q(created__lt=end),
        ">": Q(created__gte=end),
        ">=": Q(created__gte=start),
    }[op]


def _datetime_value(literal: Literal) -> date | datetime:
    value = literal.value
    if literal.kind == "string":
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else date.fromisoformat(value)
        except ValueError:
            value = None
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, date):
        return value
    problem = "created compares with ISO dates (2024-01-31 or 2024-01-31T12:00:00Z)"
    raise query_error(literal.offset, problem, found=f"'{literal.text}'")


def _boolean(comparison: Comparison) -> Q:
    """`git.dirty = true`; a model whose client did not say (NULL) is neither true nor false,
    so `!= true` and `not (= true)` include it and `exists` leaves it out."""
    field, op = comparison.target.field, comparison.operator
    _require_operator(comparison, "= != in exists", f"{field.name} takes = != in and exists")
    if op == "exists":
        return Q(**{f"{field.column}__isnull": False})
    _require_kinds(comparison, "boolean", "true or false")
    if op == "in":
        return _any_of(comparison, lambda literal: Q(**{field.column: literal.value}))
    condition = Q(**{field.column: comparison.values[0].value})
    # ~Q on a nullable column keeps the NULLs (Django adds "OR column IS NULL").
    return condition if op == "=" else ~condition


def _visibility(comparison: Comparison) -> Q:
    _require_operator(comparison, "= != in", "visibility takes = != and in")
    _require_kinds(comparison, "string", '"public" or "private"')
    for literal in comparison.values:
        if literal.value.lower() not in ("public", "private"):
            raise query_error(literal.offset, 'visibility is "public" or "private"', found=f"'{literal.text}'")
    private = lambda literal: Q(private=literal.value.lower() == "private")  # noqa: E731
    if comparison.operator == "in":
        return _any_of(comparison, private)
    condition = private(comparison.values[0])
    return condition if comparison.operator == "=" else ~condition


def _relation(comparison: Comparison) -> Q:
    """A project or workspace by id (a number) or by name (a quoted string)."""
    field = comparison.target.field
    _require_operator(comparison, "= != in like", f"{field.name} takes = != in and like")
    kinds = "string" if comparison.operator == "like" else "number string"
    _require_kinds(comparison, kinds, "an id or a quoted name" if kinds != "string" else "a quoted name")

    def equals(literal: Literal) -> Q:
        column = field.column if literal.kind == "number" else field.name_column
        return Q(**{column: Value(literal.value)})

    if comparison.operator == "in":
        return _any_of(comparison, equals)
    if comparison.operator == "like":
        return Q(ILike(F(field.name_column), _like_pattern(comparison.values[0])))
    condition = equals(comparison.values[0])
    return condition if comparison.operator == "=" else ~condition


def _tag(comparison: Comparison) -> Q:
    """A model has several tags: `tag = x` means one of them is x, `tag != x` that none is."""
    return _one_of_names(comparison, MLModel.tags.through.objects.filter(mlmodel_id=OuterRef("pk")), "tag__name")


def _alias(comparison: Comparison) -> Q:
    """A version holds several aliases, as it holds tags: `alias = "production"` means one of
    them is production, `alias != x` that none is. An alias names only the version it is on, so
    a model the caller may see shows it nothing hidden."""
    return _one_of_names(comparison, Alias.objects.filter(version_id=OuterRef("pk")), "name")


def _one_of_names(comparison: Comparison, rows, name: str) -> Q:
    """A condition on the names of `rows`, the model's own (correlated by OuterRef("pk"))."""
    op, field = comparison.operator, comparison.target.field.name
    _require_operator(comparison, "= != in like exists", f"{field} takes = != in like and exists")
    _require_kinds(comparison, "string", f"quoted {field} names")
    if op == "exists":
        return Q(Exists(rows))
    if op == "in":
        return Q(Exists(rows.filter(**{f"{name}__in": [literal.value for literal in comparison.values]})))
    if op == "like":
        return Q(Exists(rows.filter(ILike(F(name), _like_pattern(comparison.values[0])))))
    condition = Q(Exists(rows.filter(**{name: comparison.values[0].value})))
    return condition if op == "=" else ~condition


_COMPARISONS = {
    fields.TEXT: _text,
    fields.INTEGER: _integer,
    fields.DATETIME: _created,
    fields.VISIBILITY: _visibility,
    fields.RELATION: _relation,
    fields.TAG: _tag,
    fields.ALIAS: _alias,
    fields.BOOLEAN: _boolean,
}


# ----------------------------------------------------------------------------- ordering


def _order(term: OrderTerm) -> list:
    field = term.target.field
    if field.kind in (fields.TAG, fields.ALIAS):
        problem = f"Models cannot be ordered by {field.name}, as a model may have several"
        raise query_error(term.target.offset, problem)
    if field.kind == fields.JSON:
        # Numbers first, then strings, then booleans, each in the direction asked; models
        # without the key (or with null, a list or an object there) after them all.
        values = [JSONValue(field.column, term.target.path, kind) for kind in (NUMBER, STRING, BOOLEAN)]
        return [KeyOrderBy(value, descending=term.descending) for value in values]
    column = F(field.name_column or field.column)
    if field.kind == fields.BOOLEAN or field.nullable:
        # git.dirty: models whose client did not say come last both ways, as keys do (and
        # format.params: models not introspected, or whose format does not say).
        return [column.desc(nulls_last=True) if term.descending else column.asc(nulls_last=True)]
    return [column.desc() if term.descending else column.asc()]
