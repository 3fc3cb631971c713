"""Cursor (keyset) pages of the models list: `?cursor=` reads the rows after a given row.

A numbered page costs as much as the rows before it (the database still sorts and skips them),
and rows inserted or deleted between two requests shift every later page, so walking all pages
could repeat or miss models. A cursor names where the last page ended: the values of the list's
sort keys (its ordering, which always ends with the id) on that page's last row. The next page
is the rows strictly after those values in that order, read like page 1: an index in the order
(the default `-created,-id`, or `id`) is read from that point, with no rows skipped.

A cursor is opaque to clients: base64url of JSON `{"o": the ordering text, "k": [key values]}`.
It belongs to one ordering; sent with another, or altered, it is refused with a 400 naming
`cursor`. It grants nothing: the page is still the caller's visible, filtered list.

NULLs: the JSON-key orderings (registry/search/compiler.py) sort a key's values by JSON type,
each with NULLs last (models without the key, or with another type there), so "after" a
value includes the NULLs and nothing comes after a NULL but NULLs with a later next key. The
columns the list sorts by are never NULL; a NULL there is refused.
"""

import base64
import binascii
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import reduce
from operator import or_

from django.db.models import F, OrderBy, Q
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, IsNull, LessThan, LessThanOrEqual

_INT64 = range(-(2**63), 2**63)


class CursorError(ValueError):
    """A cursor this list cannot continue from (its message is the 400's)."""


def order_of(queryset) -> list[OrderBy]:
    """The queryset's ordering as OrderBy expressions: its order_by(), else the model's default."""
    terms = queryset.query.order_by or queryset.model._meta.ordering
    order = []
    for term in terms:
        if isinstance(term, str):
            name = term.removeprefix("-")
            order.append(F(name).desc() if term.startswith("-") else F(name).asc())
        else:
            order.append(term if isinstance(term, OrderBy) else term.asc())
    return order


def key_names(order: list[OrderBy]) -> list[str]:
    """Annotation names for the sort keys, read with a page's rows to make the next cursor."""
    return [f"cursor_key_{n}" for n in range(len(order))]


def with_keys(queryset, order: list[OrderBy]):
    """`queryset` with each sort key's value annotated (key_names) on every row."""
    return queryset.annotate(**dict(zip(key_names(order), (term.expression for term in order), strict=True)))


def encode(ordering: str, values: list) -> str:
    keys = [_encoded(value) for value in values]
    text = json.dumps({"o": ordering, "k": keys}, separators=(",", ":"), allow_nan=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str, ordering: str, order: list[OrderBy], model) -> list:
    """The key values in `cursor`, checked against the list's ordering. Raises CursorError."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(text)
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise CursorError("Not a cursor from this list: pass `next_cursor` from the previous page as it is.") from None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list) or not isinstance(data.get("o"), str):
        raise CursorError("Not a cursor from this list: pass `next_cursor` from the previous page as it is.")
    if data["o"] != ordering:
        raise CursorError(
            f"This cursor continues the ordering '{data['o']}', not '{ordering}': send the same ordering"
            " (and filters) as the request that gave it, or start again without a cursor."
        )
    if len(data["k"]) != len(order):
        raise CursorError("Not a cursor from this list: pass `next_cursor` from the previous page as it is.")
    values = [_decoded(value) for value in data["k"]]
    for term, value in zip(order, values, strict=True):
        if value is not None and not isinstance(value, _TYPES[_kind(model, term.expression)]):
            raise CursorError("Not a cursor from this list: pass `next_cursor` from the previous page as it is.")
    return values


# The Python types a sort key's values come back as, by the kind of its field.
_TYPES = {
    "datetime": datetime,
    "integer": int,
    "text": str,
    "number": (int, float, Decimal),
    "boolean": (bool, int),  # SQLite gives JSON's true and false as 1 and 0
}


def _kind(model, expression) -> str:
    if isinstance(expression, F):
        *path, last = expression.name.split("__")
        for name in path:
            model = model._meta.get_field(name).related_model
        field = model._meta.get_field(last)
    else:
        field = expression.output_field
    if field.is_relation:  # project_id: the id it holds
        field = field.target_field
    internal = field.get_internal_type()
    if internal in ("DateTimeField",):
        return "datetime"
    if internal in ("BooleanField",):
        return "boolean"
    if internal in ("FloatField", "DecimalField"):
        return "number"
    if "Integer" in internal or "AutoField" in internal:
        return "integer"
    return "text"


def after(order: list[OrderBy], values: list) -> Q:
    """The rows strictly after the row whose sort keys are `values`, in `order`: one branch per
    key (the keys before it equal, this one beyond). For a key never NULL the first key's bound
    (`created <= v` for newest first) is repeated alone, so an index on it can start there."""
    branches, same = [], Q()
    for term, value in zip(order, values, strict=True):
        branches.append(same & _beyond(term, value))
        same &= _equal(term, value)
    condition = reduce(or_, branches)
    first, value = order[0], values[0]
    if not first.nulls_last:
        condition &= _compare(first.expression, LessThanOrEqual if first.descending else GreaterThanOrEqual, value)
    return condition


def _beyond(term: OrderBy, value) -> Q:
    if value is None:
        if not term.nulls_last:
            raise CursorError("Not a cursor from this list: pass `next_cursor` from the previous page as it is.")
        return Q(pk__in=[])  # NULLs are last: nothing is beyond a NULL but by a later key
    beyond = _compare(term.expression, LessThan if term.descending else GreaterThan, value)
    return beyond | _compare(term.expression, IsNull, True) if term.nulls_last else beyond


def _equal(term: OrderBy, value) -> Q:
    return _compare(term.expression, IsNull, True) if value is None else _compare(term.expression, Exact, value)


def _compare(expression, lookup, value) -> Q:
    if isinstance(expression, F):  # a column (or a related one) by name: its field prepares the value
        return Q(**{f"{expression.name}__{lookup.lookup_name}": value})
    return Q(lookup(expression, value))


def _encoded(value):
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    return value


def _decoded(value):
    """A key value as the database gave it; anything else a cursor could hold is refused."""
    bad = CursorError("Not a cursor from this list: pass `next_cursor` from the previous page as it is.")
    if isinstance(value, dict):
        try:
            if set(value) == {"t"} and isinstance(value["t"], str):
                moment = datetime.fromisoformat(value["t"])
                if moment.tzinfo is None:
                    raise bad
                return moment
            if set(value) == {"d"} and isinstance(value["d"], str):
                number = Decimal(value["d"])
                if not number.is_finite():
                    raise bad
                return number
        except (ValueError, InvalidOperation):
            raise bad from None
        raise bad
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
        raise bad  # past 64 bits: SQLite would overflow instead of comparing
    if isinstance(value, str) and "\x00" in value:
        raise bad  # PostgreSQL refuses NUL in text
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise bad
