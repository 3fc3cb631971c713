"""`as_of=` in the API, and a registered model's versions now or as of a time (docs/lifecycle.md).

The answers about the past come from registry/history.py; this module reads the parameter and
writes the versions list in the models' envelope and shape.
"""

from datetime import datetime

from django.db.models import Case, Value, When
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from registry import history, listing
from registry.links import Links
from registry.models import MLModel, RegisteredModel

AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATETIME,
    description=f"Answer as things stood at this time (ISO 8601, such as {history.TIME_EXAMPLE}; UTC if no "
    "offset), read from the event log. Anything else is a 400 on `as_of`.",
)


def as_of(request) -> datetime | None:
    """The request's `as_of` time, or None when it asks about now (absent or blank)."""
    text = request.query_params.get("as_of", "")
    return history.parse_as_of(text) if text else None


class _VersionRows:
    """Versions read a page at a time as the API's JSON, with the count the paginator asks for."""

    def __init__(self, queryset, links: Links):
        self.queryset, self.links = queryset, links

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, bounds: slice) -> list:
        return listing.json_rows(self.queryset, bounds, self.links)


def versions_response(view, registered: RegisteredModel):
    """The versions the caller may see, newest number first, in pages of the models' shape.

    As of a time: those the registered model held then, by their number then, each as it is now;
    the answer's `deleted` lists the ones held then and deleted since that the caller may know of,
    with the time of the deletion."""
    request = view.request
    links = Links(request)
    when = as_of(request)
    if when is None:
        versions = MLModel.objects.visible_to(request.user).filter(registered_model_id=registered.pk)
        page = view.paginate_queryset(_VersionRows(versions.order_by("-version", "-id"), links))
        return view.get_paginated_response(page)
    then = history.versions_as_of(registered, request.user, when)
    page = view.paginate_queryset([version.model_id for version in then if version.seen])
    # The page's versions in the order of their numbers then (a renamed one's number now differs).
    order = Case(*(When(pk=model_id, then=Value(place)) for place, model_id in enumerate(page)))
    models = MLModel.objects.filter(pk__in=page).order_by(order) if page else MLModel.objects.none()
    response = view.get_paginated_response(listing.json_rows(models, slice(0, len(page)), links))
    response.data["as_of"] = history.shown(when)
    response.data["deleted"] = [
        {"version": version.version, "model_id": version.model_id, "deleted": history.shown(version.deleted)}
        for version in then
        if not version.seen
    ]
    return response
