from django.conf import settings
from rest_framework import exceptions, serializers

from accounts import services
from accounts.attempts import SignInAttempt, SignInLimited
from accounts.models import ApiToken, User


class UserSerializer(serializers.ModelSerializer):
    """The full user shape for the user themselves and staff; others see id, login, full_name."""

    password = serializers.CharField(write_only=True, required=True, style={"input_type": "password"})
    old_password = serializers.CharField(write_only=True, required=False)

    class Meta:
        model = User
        fields = [
            "id",
            "login",
            "full_name",
            "email",
            "is_staff",
            "is_superuser",
            "is_active",
            "updated",
            "created",
            "password",
            "old_password",
        ]
        read_only_fields = ["id", "updated", "created"]
        extra_kwargs = {"login": {"required": True}}

    PUBLIC_FIELDS = ("id", "login", "full_name")
    PRIVATE_FIELDS = ("email", "updated", "created")

    def to_representation(self, user):
        data = super().to_representation(user)
        viewer = self.context["request"].user
        if viewer.is_staff:
            return data
        if viewer.pk == user.pk:
            return {key: data[key] for key in self.PUBLIC_FIELDS + self.PRIVATE_FIELDS}
        return {key: data[key] for key in self.PUBLIC_FIELDS}

    def create(self, validated_data):
        validated_data.pop("old_password", None)
        if not self.context["request"].user.is_staff:
            for name in services.STAFF_ONLY_FIELDS:
                validated_data.pop(name, None)
        return services.user_create(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        if "login" in validated_data and validated_data["login"] != instance.login:
            raise serializers.ValidationError({"login": "A login cannot be changed."})
        validated_data.pop("login", None)
        request = self.context["request"]
        # The old password is checked like a sign-in of this login (accounts/attempts.py).
        attempt = SignInAttempt(request, instance.login)
        try:
            return services.user_update(user=instance, actor=request.user, attempt=attempt, **validated_data)
        except SignInLimited as exc:
            raise exceptions.Throttled(wait=exc.wait, detail=str(exc)) from None


class LoginSerializer(serializers.Serializer):
    login = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class LoginResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    valid_for = serializers.IntegerField()
    user = serializers.DictField()


def token_lifetime_seconds() -> int:
    return int(settings.JWT_LIFETIME.total_seconds())


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "read_only", "expires", "last_used", "created"]
        read_only_fields = ["id", "prefix", "last_used", "created"]

    def create(self, validated_data):
        token, secret = services.api_token_create(user=self.context["request"].user, **validated_data)
        token.secret = secret
        return token

    def to_representation(self, token):
        data = super().to_representation(token)
        if getattr(token, "secret", None):
            data["token"] = token.secret  # shown once, at creation
        return data
