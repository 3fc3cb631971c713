"""GET /api/v1/events/: the event log, newest first, of what the caller may see now."""

from rest_framework import viewsets

from events.api.serializers import EventSerializer
from events.filtersets import EventFilterSet
from events.models import Event


class EventViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = EventSerializer
    filterset_class = EventFilterSet

    def get_queryset(self):
        return Event.objects.visible_to(self.request.user)
