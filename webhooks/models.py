"""Webhooks (docs/webhooks.md): subscriptions, the outbox of deliveries, and every attempt.

A Webhook (a subscription) belongs to a workspace, or to one of its projects, and delivers the
events its owner may see. A Delivery is one message to one webhook: written in the transaction
of the event it carries (the outbox), then attempted by the workers until it succeeds or gives
up. Each attempt leaves a DeliveryAttempt row: the delivery log.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from webhooks.querysets import DeliveryQuerySet, WebhookQuerySet


class Webhook(models.Model):
    """A subscription: where to deliver which events of a workspace or project, signed with its secret."""

    workspace = models.ForeignKey("registry.Workspace", on_delete=models.CASCADE, related_name="webhooks")
    # Null: every event of the workspace; set: only the project's (its workspace is `workspace`).
    project = models.ForeignKey(
        "registry.Project", on_delete=models.CASCADE, null=True, blank=True, related_name="webhooks"
    )
    # Whose eyes the subscription has: it delivers only the events this user may read
    # (events/querysets.py), so a private model's events reach only its uploader's subscriptions.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    url = models.CharField(max_length=2000)
    # scheme://host:port of `url`: deliveries in flight are bounded per target (webhooks/delivery.py).
    target = models.CharField(max_length=300, editable=False, db_index=True)
    description = models.CharField(max_length=200, blank=True)
    kinds = models.JSONField(default=list)  # kinds, families (`alias.*`) or "*"; see webhooks/matching.py
    condition = models.TextField(blank=True)  # the search language, on the version an event concerns
    active = models.BooleanField(default=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.TextField(blank=True)  # why it was paused, for its owners; "" when by hand
    # Fernet tokens under a key derived from SECRET_KEY (webhooks/secrets.py), never the secret itself.
    secret_encrypted = models.TextField(editable=False)
    # After a rotation the previous secret signs too, for a while, so receivers can switch over.
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    secret_rotated_at = models.DateTimeField(default=timezone.now, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.description or self.url


class Delivery(models.Model):
    class Reason(models.TextChoices):
        EVENT = "event", "Event"
        REDELIVERY = "redelivery", "Redelivery"
        REPLAY = "replay", "Replay"
        TEST = "test", "Test"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its next attempt (next_attempt_at)
        DELIVERING = "delivering", "Delivering"  # an attempt is in flight until lease_until
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # refused for good, or out of retries

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    # Events are never deleted (events/append_only.py); no constraint, as events point at nothing either.
    event = models.ForeignKey(
        "events.Event", on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64)  # the `webhook-id` header: the same for every copy
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.EVENT)
    redelivery_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The attempt in flight: who claimed it (a fresh token per attempt) and until when the claim holds.
    claim = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    task_id = models.UUIDField(null=True, blank=True)  # the django-tasks result that will attempt it
    created = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["webhook", "id"], name="delivery_log"),
            models.Index(fields=["state", "lease_until"], name="delivery_in_flight"),
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self):
        return f"{self.kind} {self.message_id} to webhook {self.webhook_id}"


class DeliveryAttempt(models.Model):
    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        RETRYING = "retrying", "Failed, will retry"
        FAILED = "failed", "Failed, given up"
        INTERRUPTED = "interrupted", "Interrupted (the worker stopped)"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.IntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.TextField(blank=True)  # the first bytes of the answer's body
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    worker_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["delivery_id", "number"]
        # One row per attempt number: an attempt is claimed once (webhooks/delivery.py).
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="deliveryattempt_unique_number")]

    def __str__(self):
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.outcome}"
