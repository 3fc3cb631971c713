"""The shapes of a workspace's people in the API: adding a member (by `user_id` or `login`),
invitations (accounts/invitations.py), and the owners' user finder."""

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Invitation, User
from registry.api.serializers import UserBriefSerializer
from registry.models import Role


class MemberAddSerializer(serializers.Serializer):
    """POST /workspaces/<id>/members/: `user_id` (the documented field) or `login` names the user."""

    user_id = serializers.PrimaryKeyRelatedField(
        source="user", queryset=User.objects.filter(is_active=True), required=False
    )
    login = serializers.CharField(max_length=150, required=False, write_only=True)
    role = serializers.ChoiceField(choices=Role.choices)

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):  # a JSON number, list...: DRF's own 400 says what is expected
            return super().to_internal_value(data)
        # Without either, `user_id` is missing as it always was, reported beside any other field's error.
        missing = {} if "user_id" in data or "login" in data else {"user_id": ["This field is required."]}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**missing, **exc.detail}) from None
        if missing:
            raise serializers.ValidationError(missing)
        return value

    def validate(self, data):
        login = data.pop("login", None)
        if login is not None and "user" in data:
            raise serializers.ValidationError({"login": ["Give user_id or login, not both."]})
        if login is not None:
            # Logins are unique in any case, as at sign-in.
            data["user"] = User.objects.by_login(login.strip()).filter(is_active=True).first()
            if data["user"] is None:
                raise serializers.ValidationError({"login": ["There is no active user with this login."]})
        if "user" not in data:  # `user_id` sent empty (a form's blank field counts as not given)
            raise serializers.ValidationError({"user_id": ["This field is required."]})
        return data


class FoundUserSerializer(serializers.ModelSerializer):
    """What the finder tells an owner about a user: how to name them, nothing more."""

    class Meta:
        model = User
        fields = ["login", "full_name"]


class InvitationSerializer(serializers.ModelSerializer):
    """A pending (or past) invitation. Its link is in the answer to its creation only."""

    status = serializers.CharField(read_only=True)
    created_by = UserBriefSerializer(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "login", "role", "status", "expires", "created", "created_by"]


class InvitationCreateSerializer(serializers.Serializer):
    """POST /workspaces/<id>/invitations/: `email` or `login`, a role, and optionally its days."""

    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    login = serializers.CharField(max_length=150, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices)
    days = serializers.IntegerField(required=False, min_value=1, max_value=365)


class NewInvitationSerializer(InvitationSerializer):
    link = serializers.SerializerMethodField()

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "link"]

    @extend_schema_field(str)
    def get_link(self, invitation) -> str:
        return self.context["link"]
