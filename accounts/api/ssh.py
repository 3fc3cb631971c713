"""SSH-key sign-in over the API: registering public keys, challenges, and answering them.

1. `POST /auth/ssh/challenge/` with `login` gives a random `challenge`, open for a minute.
2. The client signs `accounts.ssh.signed_message(login, challenge)` with its private key.
3. `POST /auth/ssh/login/` with `login`, `challenge` and the base64 `signature` gives a JWT,
   the same answer as `POST /auth/login/`.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import ssh
from accounts.api.serializers import LoginResponseSerializer
from accounts.api.throttles import LoginIPThrottle, LoginNameThrottle
from accounts.api.views import _token_payload
from accounts.models import SshChallenge, SshPublicKey, User
from maisie_site.api import deleted

# An RSA key of MAX_RSA_BITS is under 3 kB in OpenSSH form; refuse anything far larger unread.
MAX_KEY_LINE = 16 * 1024


class SshPublicKeySerializer(serializers.ModelSerializer):
    public_key = serializers.CharField(write_only=True, max_length=MAX_KEY_LINE, trim_whitespace=True)

    class Meta:
        model = SshPublicKey
        fields = ["id", "name", "public_key", "fingerprint", "key_type", "created", "last_used"]
        read_only_fields = ["id", "fingerprint", "key_type", "created", "last_used"]

    def create(self, validated_data):
        key = SshPublicKey(user=self.context["request"].user, **validated_data)
        key.full_clean()  # parses the key and refuses one this user already has
        try:
            with transaction.atomic():
                key.save()
        except IntegrityError as exc:  # the same key sent twice at once; full_clean saw neither
            raise serializers.ValidationError({"public_key": "You have already registered this key."}) from exc
        return key


class SshPublicKeyViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Public keys the signed-in user may sign in with."""

    serializer_class = SshPublicKeySerializer
    queryset = SshPublicKey.objects.all()

    def get_queryset(self):
        return self.queryset.filter(user=self.request.user)

    def destroy(self, request, *args, **kwargs):
        self.get_object().delete()
        return deleted()


class SshChallengeRequestSerializer(serializers.Serializer):
    login = serializers.CharField(max_length=150)


class SshChallengeSerializer(serializers.ModelSerializer):
    class Meta:
        model = SshChallenge
        fields = ["challenge", "expires"]


class SshLoginSerializer(serializers.Serializer):
    login = serializers.CharField(max_length=150)
    challenge = serializers.CharField(max_length=64)
    signature = serializers.CharField(max_length=4096, help_text="Base64 of the raw signature.")


def ssh_sign_in(*, login: str, challenge: str, signature: str) -> User:
    """The user whose registered key signed `challenge`, which is used up; or AuthenticationFailed."""
    now = timezone.now()
    issued = SshChallenge.objects.filter(login=login, challenge=challenge).first()
    if issued is None:
        raise exceptions.AuthenticationFailed("Unknown challenge for this login; ask for a new one.")
    if issued.used is not None:
        raise exceptions.AuthenticationFailed("This challenge has already been used; ask for a new one.")
    if issued.expires <= now:
        raise exceptions.AuthenticationFailed("This challenge has expired; ask for a new one.")

    raw = ssh.decode_signature(signature)
    if raw is None:
        raise exceptions.AuthenticationFailed("The signature is not valid base64.")
    user = User.objects.filter(login=login).first()
    message = ssh.signed_message(login, challenge)
    key = next((key for key in user.ssh_keys.all() if key.verifies(raw, message)), None) if user else None
    if key is None:
        # Unknown logins land here too, so this answer tells nobody whether the login exists.
        raise exceptions.AuthenticationFailed("The signature matches none of this user's SSH keys.")
    # Said only to whoever holds the private key.
    if not user.is_active:
        raise exceptions.AuthenticationFailed("This account is deactivated.")
    if not issued.consume():
        raise exceptions.AuthenticationFailed("This challenge has already been used or has expired; ask for a new one.")
    SshPublicKey.objects.filter(pk=key.pk).update(last_used=now)
    return user


class SshChallengeView(APIView):
    """`POST /auth/ssh/challenge/` with `login`: a challenge to sign, whether or not the login exists."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [LoginIPThrottle, LoginNameThrottle]

    @extend_schema(request=SshChallengeRequestSerializer, responses=SshChallengeSerializer)
    def post(self, request):
        serializer = SshChallengeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        challenge = SshChallenge.objects.issue(serializer.validated_data["login"])
        return Response(SshChallengeSerializer(challenge).data)


class SshLoginView(APIView):
    """`POST /auth/ssh/login/` with `login`, `challenge` and `signature` gives a JWT."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [LoginIPThrottle, LoginNameThrottle]

    def get_authenticate_header(self, request):
        # With no authentication classes DRF would turn a refusal into a 403; it is a 401.
        return "Bearer"

    @extend_schema(request=SshLoginSerializer, responses=LoginResponseSerializer)
    def post(self, request):
        serializer = SshLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = ssh_sign_in(**serializer.validated_data)
        profile = {"id": user.id, "login": user.login, "full_name": user.full_name, "email": user.email}
        return Response({**_token_payload(user), "user": profile})
