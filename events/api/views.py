"""GET /api/v1/events/: the event log, newest first, of what the caller may see now."""

from rest_framework import viewsets

from events.api.serializers import EventSerializer
from events.filtersets import EventFilterSet
from events.models import Event
from events.pagination import EventPagination


class EventViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = EventSerializer
    filterset_class = EventFilterSet
    pagination_class = EventPagination  # the total counted up to a cap (events/pagination.py)

    def get_queryset(self):
        return Event.objects.visible_to(self.request.user)
