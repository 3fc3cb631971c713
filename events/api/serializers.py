"""An event as the API shows it: who, what, where, and the changed values."""

from rest_framework import serializers

from events.models import Event


class EventActorSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="actor_id", allow_null=True)
    login = serializers.CharField(source="actor_login")


class EventSubjectSerializer(serializers.Serializer):
    type = serializers.CharField(source="subject_type")
    id = serializers.IntegerField(source="subject_id", allow_null=True)
    name = serializers.CharField(source="subject_name")


class EventSerializer(serializers.ModelSerializer):
    actor = EventActorSerializer(source="*", read_only=True)
    subject = EventSubjectSerializer(source="*", read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "time",
            "kind",
            "actor",
            "api_token_id",
            "request_id",
            "subject",
            "workspace_id",
            "project_id",
            "registered_model_id",
            "model_id",
            "before",
            "after",
        ]
        read_only_fields = fields
