"""Filters of the webhook list and of a webhook's delivery log, in the registry's vocabulary."""

import django_filters

from registry.filtersets import FilterSet, IdListFilter
from webhooks.models import Delivery, Webhook


class WebhookFilterSet(FilterSet):
    workspace = IdListFilter(field_name="workspace_id")
    project = IdListFilter(field_name="project_id")
    active = django_filters.BooleanFilter()

    class Meta:
        model = Webhook
        fields = []


class DeliveryFilterSet(FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Delivery.State.choices)
    reason = django_filters.MultipleChoiceFilter(choices=Delivery.Reason.choices)
    event = IdListFilter(field_name="event_id")

    class Meta:
        model = Delivery
        fields = []
