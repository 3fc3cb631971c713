"""Every webhook write: subscriptions, their secrets, pausing, and the deliveries people ask for,
plus `event_recorded`, the outbox: the one call events.services.record() makes into this app.

Each function runs in one transaction and records its event (events/kinds.py, `webhook.*`) in
it; deliveries and the tasks that will attempt them are rows written in the same transaction.
Only a workspace's owners (and staff) manage its webhooks: others get PermissionDenied for one
they can see, and never see one (webhooks/querysets.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from events.models import Event
from events.querysets import sees_recorded
from events.services import changes, record, snapshot
from maisie_site.storable import text_error
from registry import rules
from webhooks import matching, payloads, secrets, targets
from webhooks.models import Delivery, Webhook
from webhooks.tasks import enqueue_delivery

# What a webhook's events hold (never its secret).
WEBHOOK_FIELDS = ["url", "description", "kinds", "condition", "active", "project"]
# After a rotation the previous secret keeps signing this long, unless dropped at once.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_REPLAY = 1000


def _require_owner(user, workspace) -> None:
    if not rules.can_manage_workspace(user, workspace):
        raise PermissionDenied("Only the workspace's owners manage its webhooks.")


def clean_fields(fields: dict) -> dict:
    """Fields as they are saved (url with its target, kinds, condition, description), checked;
    raises a ValidationError naming the wrong one. The admin's form checks with it too."""
    cleaned = dict(fields)
    if "url" in cleaned:
        cleaned["target"] = targets.validate(cleaned["url"]).name
    if "kinds" in cleaned:
        cleaned["kinds"] = matching.clean_kinds(cleaned["kinds"])
    if "condition" in cleaned:
        cleaned["condition"] = matching.clean_condition(cleaned["condition"])
    if "description" in cleaned:
        description = cleaned["description"] or ""
        error = text_error(description) if isinstance(description, str) else "Give text."
        if error or len(description) > 200:
            raise ValidationError({"description": error or "At most 200 characters."})
        cleaned["description"] = description
    return cleaned


@transaction.atomic
def webhook_create(
    *, user, workspace=None, project=None, url: str, kinds, condition: str = "", description: str = ""
) -> tuple[Webhook, str]:
    """A new active webhook of `workspace`, or of `project` (in its workspace), owned by `user`.
    Returns it and its signing secret, which is shown this once."""
    if project is not None:
        workspace = project.workspace
    if workspace is None:
        raise ValidationError({"workspace_id": "Give the workspace, or a project, the webhook belongs to."})
    _require_owner(user, workspace)
    fields = clean_fields({"url": url, "kinds": kinds, "condition": condition, "description": description})
    secret = secrets.generate()
    webhook = Webhook.objects.create(
        workspace=workspace, project=project, owner=user, secret_encrypted=secrets.encrypt(secret), **fields
    )
    record(kind="webhook.created", actor=user, subject=webhook, after=snapshot(webhook, WEBHOOK_FIELDS))
    return webhook, secret


def _locked(webhook: Webhook) -> Webhook:
    locked = Webhook.objects.select_for_update().select_related("workspace").filter(pk=webhook.pk).first()
    if locked is None:
        raise Webhook.DoesNotExist("No such webhook.")
    return locked


@transaction.atomic
def webhook_update(*, webhook: Webhook, user, **fields) -> Webhook:
    """Change any of url, description, kinds, condition and active (pausing or resuming it)."""
    _require_owner(user, webhook.workspace)
    unknown = set(fields) - {"url", "description", "kinds", "condition", "active"}
    if unknown:
        raise TypeError(f"webhook_update() got unknown fields: {', '.join(sorted(unknown))}")
    webhook = _locked(webhook)
    active = fields.pop("active", None)
    cleaned = clean_fields(fields)
    before = snapshot(webhook, WEBHOOK_FIELDS)
    for name, value in cleaned.items():
        setattr(webhook, name, value)
    webhook.save()
    old, new = changes(before, snapshot(webhook, WEBHOOK_FIELDS))
    if new:
        record(kind="webhook.updated", actor=user, subject=webhook, before=old, after=new)
    if active is True and not webhook.active:
        webhook_resume(webhook=webhook, user=user)
    elif active is False and webhook.active:
        webhook_pause(webhook=webhook, user=user)
    webhook.refresh_from_db()
    return webhook


@transaction.atomic
def webhook_pause(*, webhook: Webhook, user, reason: str = "", now: datetime | None = None) -> Webhook:
    """Stop delivering: new events are not queued for it, pending deliveries wait. `user` None is
    the system pausing a webhook that keeps failing, with the `reason` its owners will read."""
    if user is not None:
        _require_owner(user, webhook.workspace)
    webhook = _locked(webhook)
    if not webhook.active:
        return webhook
    webhook.active = False
    webhook.paused_at = now or timezone.now()
    webhook.paused_reason = reason
    webhook.save(update_fields=["active", "paused_at", "paused_reason", "updated"])
    record(
        kind="webhook.paused",
        actor=user,
        subject=webhook,
        before={"active": True},
        after={"active": False, "reason": reason},
    )
    return webhook


@transaction.atomic
def webhook_resume(*, webhook: Webhook, user) -> Webhook:
    """Deliver again: the deliveries that waited are queued now, in the order they were made."""
    _require_owner(user, webhook.workspace)
    webhook = _locked(webhook)
    if webhook.active:
        return webhook
    before = {"active": False, "reason": webhook.paused_reason}
    webhook.active = True
    webhook.paused_at = None
    webhook.paused_reason = ""
    webhook.consecutive_failures = 0
    webhook.save(update_fields=["active", "paused_at", "paused_reason", "consecutive_failures", "updated"])
    now = timezone.now()
    waiting = list(webhook.deliveries.filter(state=Delivery.State.PENDING).order_by("pk"))
    for delivery in waiting:
        delivery.next_attempt_at = min(delivery.next_attempt_at, now)
        delivery.task_id = enqueue_delivery(delivery.pk)
    Delivery.objects.bulk_update(waiting, ["next_attempt_at", "task_id"])
    record(kind="webhook.resumed", actor=user, subject=webhook, before=before, after={"active": True})
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook, user) -> None:
    _require_owner(user, webhook.workspace)
    webhook = _locked(webhook)
    record(kind="webhook.deleted", actor=user, subject=webhook, before=snapshot(webhook, WEBHOOK_FIELDS))
    webhook.delete()


@transaction.atomic
def webhook_rotate_secret(*, webhook: Webhook, user, keep_previous: bool = True) -> tuple[Webhook, str]:
    """A new signing secret, shown this once. The previous one keeps signing beside it for
    ROTATION_OVERLAP (receivers accept either while they switch), or stops at once when
    `keep_previous` is false (it leaked)."""
    _require_owner(user, webhook.workspace)
    webhook = _locked(webhook)
    secret = secrets.generate()
    now = timezone.now()
    if keep_previous:
        webhook.previous_secret_encrypted = webhook.secret_encrypted
        webhook.previous_secret_until = now + ROTATION_OVERLAP
    else:
        webhook.previous_secret_encrypted = ""
        webhook.previous_secret_until = None
    webhook.secret_encrypted = secrets.encrypt(secret)
    webhook.secret_rotated_at = now
    webhook.save()
    until = webhook.previous_secret_until
    record(
        kind="webhook.secret_rotated",
        actor=user,
        subject=webhook,
        after={"previous_secret_until": until.isoformat() if until else None},
    )
    return webhook, secret


# --- Deliveries ------------------------------------------------------------------------------------


def _require_active(webhook: Webhook) -> None:
    if not webhook.active:
        raise ValidationError({"webhook": "The webhook is paused: resume it first."})


def _queue(deliveries: list[Delivery]) -> list[Delivery]:
    """Write deliveries and a task for each (in the caller's transaction)."""
    created = Delivery.objects.bulk_create(deliveries)
    for delivery in created:
        delivery.task_id = enqueue_delivery(delivery.pk)
    Delivery.objects.bulk_update(created, ["task_id"])
    return created


@transaction.atomic
def webhook_test(*, webhook: Webhook, user) -> Delivery:
    """Send a `webhook.test` message now (through the workers, logged like any delivery)."""
    _require_owner(user, webhook.workspace)
    _require_active(webhook)
    (delivery,) = _queue(
        [
            Delivery(
                webhook=webhook,
                kind=payloads.TEST_KIND,
                message_id=payloads.test_message_id(uuid.uuid4()),
                reason=Delivery.Reason.TEST,
            )
        ]
    )
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery, user) -> Delivery:
    """Send one delivery's message again as a new delivery (same `webhook-id` and body)."""
    webhook = delivery.webhook
    _require_owner(user, webhook.workspace)
    _require_active(webhook)
    if delivery.event_id is not None and not _readable(webhook.owner, delivery.event):
        raise ValidationError({"delivery": f"{webhook.owner.login}, its owner, may no longer read this event."})
    (copy,) = _queue(
        [
            Delivery(
                webhook=webhook,
                event_id=delivery.event_id,
                kind=delivery.kind,
                message_id=delivery.message_id,
                reason=Delivery.Reason.REDELIVERY,
                redelivery_of=delivery,
            )
        ]
    )
    return copy


def _kind_condition(kinds: list[str]) -> Q:
    if matching.EVERY_KIND in kinds:
        return Q()
    condition = Q(pk__in=[])
    for item in kinds:
        family = item.removesuffix(".*")
        condition |= Q(kind=item) if "." in item and not item.endswith(".*") else Q(kind__startswith=f"{family}.")
    return condition


def _scope(webhook: Webhook) -> Q:
    if webhook.project_id is not None:
        return Q(project_id=webhook.project_id)
    return Q(workspace_id=webhook.workspace_id)


@transaction.atomic
def deliveries_replay(*, webhook: Webhook, user, since: datetime) -> list[Delivery]:
    """Queue again every event since `since` that the webhook would get now (its kinds, scope and
    condition, what its owner may see now), oldest first, at most MAX_REPLAY."""
    _require_owner(user, webhook.workspace)
    _require_active(webhook)
    if not webhook.owner.is_active:
        raise ValidationError({"webhook": f"Its owner {webhook.owner.login} is deactivated: make a new webhook."})
    if since > timezone.now():
        raise ValidationError({"since": "That time is in the future."})
    events = (
        Event.objects.visible_to(webhook.owner)
        .filter(_scope(webhook), _kind_condition(webhook.kinds), time__gte=since)
        .order_by("time", "id")
    )
    found = list(events[: MAX_REPLAY + 1])
    if len(found) > MAX_REPLAY:
        raise ValidationError(
            {"since": f"More than {MAX_REPLAY} events since then: replay a shorter period (a later time)."}
        )
    found = [event for event in found if matching.condition_holds(webhook.condition, event.model_id)]
    return _queue([_for_event(webhook, event, Delivery.Reason.REPLAY) for event in found])


def _for_event(webhook: Webhook, event: Event, reason: str) -> Delivery:
    return Delivery(
        webhook=webhook,
        event=event,
        kind=event.kind,
        message_id=payloads.message_id(event.pk),
        reason=reason,
    )


def _readable(owner, event: Event) -> bool:
    """Whether a webhook's owner may read the event now (events/querysets.py): what it may carry."""
    return owner.is_active and sees_recorded(owner, event)


def _about_itself(webhook: Webhook, event: Event) -> bool:
    """A webhook is not sent the events about itself (its creation, its resumption): its owners
    made them; other webhooks of the workspace get them."""
    return event.subject_type == "webhook" and event.subject_id == webhook.pk


def event_recorded(event: Event) -> None:
    """The outbox: called by events.services.record() in the change's transaction, right after
    the event's row. Queues a delivery for each active webhook of the event's workspace or project
    that wants its kind, whose condition holds, and whose owner may read the event now (so a
    private model's events go only to its uploader's webhooks). Nothing for an event that
    belongs to no workspace (a token's), and one indexed query when no webhook wants it."""
    if event.workspace_id is None:
        return
    webhooks = [
        webhook
        for webhook in Webhook.objects.filter(active=True, workspace_id=event.workspace_id)
        .filter(Q(project__isnull=True) | Q(project_id=event.project_id))
        .select_related("owner")
        if matching.wants_kind(webhook.kinds, event.kind) and not _about_itself(webhook, event)
    ]
    if not webhooks:
        return
    readers = {owner.pk: _readable(owner, event) for owner in {w.owner_id: w.owner for w in webhooks}.values()}
    wanted = [
        webhook
        for webhook in webhooks
        if readers[webhook.owner_id] and matching.condition_holds(webhook.condition, event.model_id)
    ]
    if wanted:
        _queue([_for_event(webhook, event, Delivery.Reason.EVENT) for webhook in wanted])
