"""Finding the events a test's change wrote."""

from events.models import Event


def only_event(kind: str, **columns) -> Event:
    """The one event of `kind` (matching `columns`); fails when there are none or several."""
    events = list(Event.objects.filter(kind=kind, **columns))
    assert len(events) == 1, f"{len(events)} {kind} events: {events}"
    return events[0]


def events_of(kind: str, **columns) -> list[Event]:
    return list(Event.objects.filter(kind=kind, **columns))
