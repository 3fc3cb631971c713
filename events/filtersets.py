"""The event list's filters, in the registry's vocabulary: repeated or comma-separated ids."""

from datetime import UTC

import django_filters
from django import forms
from django.db.models import Q
from django_filters.widgets import QueryArrayWidget

from events.kinds import FAMILIES, KINDS
from events.models import Event
from maisie_site.storable import validate_text
from registry.filtersets import FilterSet, IdListFilter

_BAD_TIME = "Not a time: give an ISO 8601 time such as 2025-03-04T14:02:00Z."


class _KindField(forms.Field):
    """Kinds (`model.created`) or families (`model`, `model.*`), repeated or comma-separated."""

    widget = QueryArrayWidget

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        return [part.strip() for item in values for part in str(item).split(",") if part.strip()]

    def validate(self, value):
        super().validate(value)
        for item in value:
            validate_text(item)
            if item not in KINDS and item.removesuffix(".*") not in FAMILIES:
                # The user's text goes in as a parameter: django-filter %-formats every message.
                raise forms.ValidationError(
                    "Unknown kind %(kind)s: give a kind (model.created) or a family "
                    "(%(families)s, alone or as model.*).",
                    params={"kind": repr(item[:64]), "families": ", ".join(sorted(FAMILIES))},
                )


class KindFilter(django_filters.Filter):
    field_class = _KindField

    def filter(self, qs, value):
        if not value:
            return qs
        condition = Q()
        for item in value:
            family = item.removesuffix(".*")
            condition |= Q(kind=item) if item in KINDS else Q(kind__startswith=f"{family}.")
        return qs.filter(condition)


class _UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time, handed to the database in UTC: Python takes offsets up to 23:59, which
    PostgreSQL refuses past 15:59 (`-19:09` was a 500, found by ci/fuzz_api.py). A time that UTC
    cannot hold (`0001-01-01T00:00+01:00`) is the field's "not a time"."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None or value.tzinfo is None:
            return value
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = _UtcIsoDateTimeField


class EventFilterSet(FilterSet):
    workspace = IdListFilter(field_name="workspace_id")
    project = IdListFilter(field_name="project_id")
    registered_model = IdListFilter(field_name="registered_model_id")
    model = IdListFilter(field_name="model_id")
    actor = IdListFilter(field_name="actor_id", label="Actor (user id)")
    kind = KindFilter(label="Kind (model.created) or family (model, model.*)")
    since = UtcIsoDateTimeFilter(
        field_name="time", lookup_expr="gte", label="From (ISO 8601)", error_messages={"invalid": _BAD_TIME}
    )
    until = UtcIsoDateTimeFilter(
        field_name="time", lookup_expr="lt", label="Before (ISO 8601)", error_messages={"invalid": _BAD_TIME}
    )

    class Meta:
        model = Event
        fields = []
