"""The event log: one row per state change, written in the change's own transaction, never changed.

Everything an event points at is a plain column, not a foreign key: deleting a workspace, a
model or a user keeps the events about them (and their names, copied). The table refuses UPDATE
and DELETE (events/append_only.py, migration 0002).
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from events.querysets import EventQuerySet


class Event(models.Model):
    time = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=64)  # one of events.kinds.KINDS
    # Who: the user (id and login copied at the time), the API token used, the request.
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_login = models.CharField(max_length=150, blank=True)
    api_token_id = models.BigIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # What: the changed object, and its display name at the time.
    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField(null=True, blank=True)
    subject_name = models.CharField(max_length=255, blank=True)
    # Where, for filtering and for who may read it (events/querysets.py).
    workspace_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    project_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    registered_model_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    model_id = models.BigIntegerField(null=True, blank=True)  # indexed with the id, below
    # The user a membership or token event is about (the member, the token's owner).
    subject_user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # For an event about a model version: its uploader while the version is private as the event
    # leaves it (as it was, for a delete), else null. Once the version is gone, its latest
    # event's value decides who still reads its events.
    private_uploader_id = models.BigIntegerField(null=True, blank=True)
    # The version `model_id` names, while it exists: a relation for queries only, with no column
    # and no constraint (the event outlives the version). Who may read the event joins it
    # (events/querysets.py): a join is read row by row for a page, where a subquery was hashed
    # over every model first (bench/lifecycle.py).
    model_row = models.ForeignObject(
        "registry.MLModel",
        on_delete=models.DO_NOTHING,
        from_fields=["model_id"],
        to_fields=["id"],
        null=True,
        related_name="+",
    )
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [
            models.Index(fields=["time", "id"], name="event_time"),
            models.Index(fields=["kind", "time"], name="event_kind_time"),
            models.Index(fields=["model_id", "id"], name="event_model_latest"),
            # A registered model's events newest first (its timeline, an alias's history), read in
            # order rather than sorted (bench/lifecycle.py).
            models.Index(fields=["registered_model_id", "time", "id"], name="event_registered_model_time"),
            # registry/history.py: an alias's last event before a time, and each alias's (bench/lifecycle.py).
            models.Index(
                fields=["registered_model_id", "subject_name", "time", "id"],
                name="event_alias_history",
                condition=models.Q(subject_type="alias"),
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.subject_type} {self.subject_id} by {self.actor_login or '-'}"
