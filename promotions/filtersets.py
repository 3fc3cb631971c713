"""The promotion request list's filters, in the registry's vocabulary (repeated or comma-separated)."""

import django_filters
from django import forms
from django_filters.widgets import QueryArrayWidget

from maisie_site.storable import validate_text
from promotions.models import PromotionRequest, RequestState
from registry.filtersets import FilterSet, IdListFilter


class _StateField(forms.Field):
    widget = QueryArrayWidget

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        return [part.strip() for item in values for part in str(item).split(",") if part.strip()]

    def validate(self, value):
        super().validate(value)
        for state in value:
            if state not in RequestState.values:
                # The user's text goes in as a parameter: django-filter %-formats every message.
                raise forms.ValidationError(
                    "Unknown state %(state)s: give one of %(states)s.",
                    params={"state": repr(state[:30]), "states": ", ".join(RequestState.values)},
                )


class StateFilter(django_filters.Filter):
    field_class = _StateField

    def filter(self, qs, value):
        return qs.filter(state__in=value) if value else qs


class PromotionRequestFilterSet(FilterSet):
    state = StateFilter(label="State (pending, completed, rejected, cancelled)")
    workspace = IdListFilter(field_name="registered_model__project__workspace_id")
    project = IdListFilter(field_name="registered_model__project_id")
    registered_model = IdListFilter(field_name="registered_model_id")
    alias = django_filters.CharFilter(field_name="alias", validators=[validate_text])

    class Meta:
        model = PromotionRequest
        fields = []
