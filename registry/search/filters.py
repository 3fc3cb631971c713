"""`q=` and `ordering=` as django-filter filters, so the API and the HTML list share them.

The form fields parse and compile while the form is cleaned: a bad query is a form error on
its own field, which the API turns into a 400 (`{"errors": {"q": [...]}}`) and a page shows
next to the query box.
"""

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from registry.search.compiler import compile_ordering, compile_query
from registry.search.errors import QueryError


class _CompiledField(forms.Field):
    widget = forms.TextInput
    compile = None  # set by subclasses: text -> compiled value, or None when blank

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            # Not stripped: the offsets in messages count from the start of what was sent.
            return type(self).compile(str(value))
        except QueryError as error:
            # The message quotes the query; as a parameter, a "%" in it is never read as a format
            # (django-filter's API errors apply `message % params` to every message).
            raise forms.ValidationError("%(error)s", code="invalid", params={"error": str(error)}) from None


class QueryField(_CompiledField):
    compile = staticmethod(compile_query)


class OrderingField(_CompiledField):
    compile = staticmethod(compile_ordering)


@extend_schema_field(OpenApiTypes.STR)
class QueryFilter(django_filters.Filter):
    """Models matching a query in the search language (docs/search.md)."""

    field_class = QueryField

    def filter(self, qs, value):
        return qs if value is None else qs.filter(value)


@extend_schema_field(OpenApiTypes.STR)
class OrderingFilter(django_filters.Filter):
    """Models sorted by a comma-separated list of fields, `-` for descending, ties by id."""

    field_class = OrderingField

    def filter(self, qs, value):
        return qs if value is None else qs.order_by(*value)
