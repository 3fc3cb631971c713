"""What a delivery sends: the event as the events API shows it, with links, in the Standard
Webhooks envelope `{"type", "timestamp", "data"}` (docs/webhooks.md, "Payloads").

Events never change, so a delivery's body is rendered from its event at each attempt and is
the same every time: a redelivery or a replay sends the bytes the first attempt sent.
"""

import json
import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

TEST_KIND = "webhook.test"

# Where each scope column and subject type points in the API.
_SCOPE_LINKS = {
    "workspace": ("workspace_id", "api:workspace-detail"),
    "project": ("project_id", "api:project-detail"),
    "registered_model": ("registered_model_id", "api:registeredmodel-detail"),
    "model": ("model_id", "api:model-detail"),
}
_SUBJECT_LINKS = {
    "workspace": "api:workspace-detail",
    "project": "api:project-detail",
    "registered_model": "api:registeredmodel-detail",
    "model": "api:model-detail",
    "tag": "api:tag-detail",
    "promotionrequest": "api:promotionrequest-detail",
}


def absolute(path: str) -> str:
    return f"{settings.MAISIE_PUBLIC_URL}{path}"


def message_id(event_id: int) -> str:
    """The `webhook-id` of an event's message: one per event (every webhook and every copy of it
    gets the same), so a receiver can drop what it already has."""
    return f"evt_{event_id}"


def test_message_id(token: uuid.UUID) -> str:
    return f"test_{token.hex}"


def event_links(event) -> dict[str, str]:
    links = {"event": absolute(reverse("api:event-detail", args=[event.pk]))}
    subject_route = _SUBJECT_LINKS.get(event.subject_type)
    if subject_route is not None and event.subject_id is not None:
        links["subject"] = absolute(reverse(subject_route, args=[event.subject_id]))
    elif event.subject_type == "alias" and event.registered_model_id is not None and "@" in event.subject_name:
        alias = event.subject_name.rsplit("@", 1)[1]  # `<registered model>@<alias>`
        links["subject"] = absolute(reverse("api:registeredmodel-alias", args=[event.registered_model_id, alias]))
    for name, (column, route) in _SCOPE_LINKS.items():
        value = getattr(event, column)
        if value is not None:
            links[name] = absolute(reverse(route, args=[value]))
    return links


def event_payload(event) -> dict:
    from events.api.serializers import EventSerializer

    data = dict(EventSerializer(event).data)
    data["links"] = event_links(event)
    return {"type": event.kind, "timestamp": data["time"], "data": data}


def test_payload(delivery) -> dict:
    webhook = delivery.webhook
    return {
        "type": TEST_KIND,
        "timestamp": delivery.created.isoformat().replace("+00:00", "Z"),
        "data": {
            "webhook_id": webhook.pk,
            "workspace_id": webhook.workspace_id,
            "project_id": webhook.project_id,
            "message": "A test message from Maisie: this webhook reaches you and its signature checks.",
        },
    }


def body(delivery) -> bytes:
    payload = test_payload(delivery) if delivery.event_id is None else event_payload(delivery.event)
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()
