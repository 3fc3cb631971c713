"""Webhooks, deliveries and attempts as the API shows and takes them (docs/webhooks.md).

Writes go to webhooks.services, which validates the URL (webhooks/targets.py), the kinds and the
condition; its ValidationErrors answer 400 naming the field. A signing secret appears in one
answer only: the one that made it (create, rotate-secret).
"""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from maisie_site.storable import validate_text
from registry.api.serializers import UserBriefSerializer, VisibleWorkspaceField
from registry.links import links_for
from registry.models import Project
from registry.search.lexer import MAX_QUERY_LENGTH
from webhooks import services, targets
from webhooks.models import Delivery, DeliveryAttempt, Webhook


class VisibleProjectField(serializers.PrimaryKeyRelatedField):
    """A project id the caller can see; others read as "does not exist", like a 404."""

    def get_queryset(self):
        return Project.objects.visible_to(self.context["request"].user).select_related("workspace")


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class KindsField(serializers.Field):
    """Event kinds as a list (`["model.created", "alias.*"]`) or a comma-separated string;
    webhooks.matching checks each."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [part.strip() for part in data.split(",") if part.strip()]
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            raise serializers.ValidationError('Give a list of event kinds, e.g. ["model.created", "alias.*"].')
        for item in data:
            validate_text(item)
        return data

    def to_representation(self, value):
        return value


class WebhookSerializer(serializers.ModelSerializer):
    workspace_id = VisibleWorkspaceField(source="workspace", required=False)
    project_id = VisibleProjectField(source="project", required=False, allow_null=True)
    url = serializers.CharField(max_length=targets.MAX_URL_LENGTH, validators=[validate_text])
    description = serializers.CharField(allow_blank=True, required=False, max_length=200, validators=[validate_text])
    kinds = KindsField()
    condition = serializers.CharField(
        allow_blank=True,
        required=False,
        trim_whitespace=False,
        max_length=MAX_QUERY_LENGTH,
        validators=[validate_text],
        help_text='A query on the version an event concerns, e.g. alias = "production"; blank for none.',
    )
    active = serializers.BooleanField(required=False, help_text="false pauses it, true resumes it.")
    owner = UserBriefSerializer(read_only=True)
    secret = serializers.SerializerMethodField(help_text="The signing secret: only in the answer that made it.")
    _links = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = [
            "id",
            "workspace_id",
            "project_id",
            "url",
            "description",
            "kinds",
            "condition",
            "active",
            "paused_at",
            "paused_reason",
            "owner",
            "consecutive_failures",
            "last_success_at",
            "last_failure_at",
            "secret_rotated_at",
            "previous_secret_until",
            "secret",
            "created",
            "updated",
            "_links",
        ]
        read_only_fields = [
            "paused_at",
            "paused_reason",
            "consecutive_failures",
            "last_success_at",
            "last_failure_at",
            "secret_rotated_at",
            "previous_secret_until",
            "created",
            "updated",
        ]

    def get_secret(self, webhook) -> str | None:
        return getattr(webhook, "shown_secret", None)

    def get__links(self, webhook) -> dict:
        links = links_for(self.context)
        self_url = links.url("api:webhook-detail", webhook.pk)
        result = {
            "self": self_url,
            "deliveries": f"{self_url}deliveries/",
            "workspace": links.url("api:workspace-detail", webhook.workspace_id),
        }
        if webhook.project_id is not None:
            result["project"] = links.url("api:project-detail", webhook.project_id)
        return result

    def create(self, validated_data):
        workspace, project = validated_data.pop("workspace", None), validated_data.pop("project", None)
        if project is None and workspace is None:
            raise ValidationError({"workspace_id": "Give the workspace_id, or a project_id, the webhook belongs to."})
        if project is not None and workspace is not None and project.workspace_id != workspace.pk:
            raise ValidationError({"project_id": "That project is in another workspace."})
        validated_data.pop("active", None)  # a new webhook is active
        webhook, secret = services.webhook_create(
            user=self.context["request"].user, workspace=workspace, project=project, **validated_data
        )
        webhook.shown_secret = secret
        return webhook

    def update(self, instance, validated_data):
        for field, name in (("workspace", "workspace_id"), ("project", "project_id")):
            if field in validated_data and validated_data[field] != getattr(instance, field):
                raise ValidationError({name: "A webhook stays where it was made: make a new one instead."})
            validated_data.pop(field, None)
        return services.webhook_update(webhook=instance, user=self.context["request"].user, **validated_data)


class RotateSecretSerializer(serializers.Serializer):
    keep_previous = serializers.BooleanField(
        default=True,
        help_text="Keep signing with the previous secret too for 24 hours (false: it stops at once).",
    )


class ReplaySerializer(serializers.Serializer):
    since = serializers.DateTimeField(
        help_text="Queue again every event from this time on (ISO 8601; without an offset, UTC).",
        error_messages={"invalid": "Not a time: give an ISO 8601 time such as 2025-03-04T14:02:00Z."},
    )


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "status_code",
            "outcome",
            "error",
            "response_excerpt",
            "next_attempt_at",
            "worker_id",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.IntegerField(read_only=True)
    event_id = serializers.IntegerField(read_only=True, allow_null=True)
    redelivery_of_id = serializers.IntegerField(read_only=True, allow_null=True)
    next_attempt_at = serializers.SerializerMethodField()
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "webhook_id",
            "event_id",
            "kind",
            "message_id",
            "reason",
            "redelivery_of_id",
            "state",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created",
            "finished_at",
            "attempt_log",
        ]
        read_only_fields = fields

    def get_next_attempt_at(self, delivery) -> str | None:
        if delivery.state != Delivery.State.PENDING:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class ReplayedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="How many deliveries were queued.")
