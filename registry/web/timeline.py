"""Timelines of the web UI: a page of events, each ready to show (who, when, a sentence, a link).

The events come from `Event.objects.visible_to(user)`, narrowed by the page that shows them
(a registered model's, a version's, a workspace's audit page), so a timeline shows exactly what
`GET /api/v1/events/` would answer the same user. Links to what an event is about are added
only where the user may open it now, checked for the whole page in one query per kind of
subject (a deleted version's events keep its name, but link nowhere).
"""

from dataclasses import dataclass, field

from django.core.paginator import InvalidPage

from events.pagination import EventPaginator
from events.sentences import field_label, sentence
from registry.links import Links
from registry.models import MLModel, Project, RegisteredModel, Workspace
from registry.web.keys import display

PER_PAGE = 20
SHOWN_VALUE = 300  # characters of a changed value shown (a model card can be long)

# (subject type, link name, queryset of what may be opened, the event's column holding its id)
_TARGETS = (
    ("registeredmodel", "registry:registered_model_detail", RegisteredModel, "registered_model_id"),
    ("project", "registry:project_detail", Project, "project_id"),
    ("workspace", "registry:workspace_detail", Workspace, "workspace_id"),
)


@dataclass
class Entry:
    event: object
    sentence: str
    actor: str
    url: str = ""
    change_headers: list[str] = field(default_factory=list)  # "Before", "After"; or "Value" alone…
    changes: list[tuple[str, list[str]]] = field(default_factory=list)  # (field, its values)


def _shown(value) -> str:
    text = value if isinstance(value, str) else display(value)
    return text if len(text) <= SHOWN_VALUE else text[:SHOWN_VALUE] + "…"


def _changes(event) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The changed fields as (headers, [(field, values)]): before and after for a change, the
    values alone for a creation (after) or a deletion (before)."""
    before, after = event.before or {}, event.after or {}
    sides = [side for side in (before, after) if side]
    headers = ["Before", "After"] if len(sides) == 2 else ["Value"] if after else ["Was"] if before else []
    names = dict.fromkeys([*before, *after])
    rows = [(field_label(name), [_shown(side[name]) if name in side else "" for side in sides]) for name in names]
    return headers, rows


def _openable(user, events) -> dict[str, set[int]]:
    """For each kind of link target, the ids among the page's events that `user` may open."""
    wanted: dict[str, set[int]] = {"model": {e.model_id for e in events if e.model_id is not None}}
    for subject_type, _, _, column in _TARGETS:
        wanted[subject_type] = {getattr(e, column) for e in events if e.subject_type == subject_type}
        wanted[subject_type].discard(None)
    querysets = {"model": MLModel.objects, **{subject_type: model.objects for subject_type, _, model, _ in _TARGETS}}
    return {
        name: set(querysets[name].visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
        for name, ids in wanted.items()
    }


def entries(user, events) -> list[Entry]:
    """The page's events ready to show: one query per kind of subject on the page, for its links."""
    events = list(events)
    openable = _openable(user, events)
    links = Links(None)
    result = []
    for event in events:
        url = ""
        if event.model_id in openable["model"] and event.subject_type in ("model", "alias", "promotionrequest"):
            url = links.url("registry:model_detail", event.model_id)
        for subject_type, name, _, column in _TARGETS:
            if event.subject_type == subject_type and getattr(event, column) in openable[subject_type]:
                url = links.url(name, getattr(event, column))
        headers, changes = _changes(event)
        entry = Entry(event, sentence(event), event.actor_login or "system", url, headers, changes)
        result.append(entry)
    return result


@dataclass
class Timeline:
    """A page of a timeline, its entries, and links to the pages around it (the rest of the
    query string kept: a page shows a timeline beside other paginated things)."""

    page: object
    entries: list[Entry]
    first_url: str = ""
    previous_url: str = ""
    next_url: str = ""
    last_url: str = ""


def _page_url(request, param: str, number: int) -> str:
    query = request.GET.copy()
    if number == 1:
        query.pop(param, None)
    else:
        query[param] = str(number)
    return "?" + query.urlencode()


def timeline_page(request, user, events, param: str = "events_page", per_page: int = PER_PAGE) -> Timeline:
    """The page of `events` (newest first) that the query string's `param` names.

    Counted as the API's event pages are (events/pagination.py): exactly up to COUNT_CAP events,
    "more than that" beyond, so a long log does not cost a count of every event it holds. The
    oldest page is linked only when the count is exact; every page stays reachable by "Older".
    A page number that is not one, or past the end, shows the newest page.
    """
    paginator = EventPaginator(events.order_by("-time", "-id"), per_page)
    try:
        page = paginator.page(request.GET.get(param) or 1)
    except InvalidPage:
        page = paginator.page(1)
    timeline = Timeline(page=page, entries=entries(user, page.object_list))
    if page.has_previous():
        timeline.first_url = _page_url(request, param, 1)
        timeline.previous_url = _page_url(request, param, page.previous_page_number())
    if page.has_next():
        timeline.next_url = _page_url(request, param, page.next_page_number())
        if not paginator.capped:
            timeline.last_url = _page_url(request, param, paginator.num_pages)
    return timeline
