from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from maisie_site import storable


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.Field):
    """A JSON object given as an object (JSON bodies) or as a JSON string (multipart forms)."""

    default_error_messages = {
        "invalid_json": "Must be valid JSON: {error}.",
        "not_object": "Must be a JSON object (a dictionary), not {kind}.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            if not data.strip():
                return {}
            try:
                data = storable.loads(data)
            except ValueError as exc:
                self.fail("invalid_json", error=exc)
        if not isinstance(data, dict):
            self.fail("not_object", kind=type(data).__name__)
        # Refused here, before any write, as the model's own validation would (storable.py).
        if error := storable.json_error(data):
            raise serializers.ValidationError(error, code="unstorable")
        return data

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TagListField(serializers.Field):
    """Tags as "a, b" (the published client's form) or as a list of names."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.split(",")
        elif not (isinstance(data, list) and all(isinstance(item, str) for item in data)):
            raise serializers.ValidationError("Give tags as a comma-separated string or a list of names.")
        for name in data:
            if error := storable.text_error(name):
                raise serializers.ValidationError(f"Tag names: {error}", code="unstorable")
        return data

    def to_representation(self, value):
        return value
