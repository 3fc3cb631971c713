"""SSH-key sign-in over the API: registering public keys, challenges, and answering them.

1. `POST /auth/ssh/challenge/` with `login` gives a random `challenge`, open for a minute.
2. The client signs `accounts.ssh.signed_message(login, challenge)` with its private key.
3. `POST /auth/ssh/login/` with `login`, `challenge` and the base64 `signature` gives a JWT,
   the same answer as `POST /auth/login/`.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api.serializers import LoginResponseSerializer
from accounts.api.throttles import ChallengeNameThrottle, LoginIPThrottle, LoginLockedThrottle, LoginNameThrottle
from accounts.api.views import LoginView, signed_in_payload
from accounts.models import SshChallenge, SshPublicKey
from accounts.permissions import ReadOnlyTokenPermission, RecentSignInToCreate
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
        return services.ssh_key_add(user=self.context["request"].user, **validated_data)


class SshPublicKeyViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Public keys the signed-in user may sign in with."""

    serializer_class = SshPublicKeySerializer
    queryset = SshPublicKey.objects.all()
    permission_classes = [permissions.IsAuthenticated, ReadOnlyTokenPermission, RecentSignInToCreate]

    def get_queryset(self):
        return self.queryset.filter(user=self.request.user)

    def destroy(self, request, *args, **kwargs):
        services.ssh_key_remove(key=self.get_object(), user=request.user)
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


class SshChallengeView(APIView):
    """`POST /auth/ssh/challenge/` with `login`: a challenge to sign, whether or not the login exists."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    # A login locked by failed sign-ins gets no challenge; asking is counted on its own.
    throttle_classes = [LoginIPThrottle, LoginLockedThrottle, ChallengeNameThrottle]
    parser_classes = LoginView.parser_classes  # `curl -d '{"login": …}'`, as for the password sign-in

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
    parser_classes = LoginView.parser_classes

    def get_authenticate_header(self, request):
        # With no authentication classes DRF would turn a refusal into a 403; it is a 401.
        return "Bearer"

    @extend_schema(request=SshLoginSerializer, responses=LoginResponseSerializer)
    def post(self, request):
        serializer = SshLoginSerializer(data=request.data)
        if not serializer.is_valid():
            LoginNameThrottle.uncount(request)  # no signature was checked
            raise exceptions.ValidationError(serializer.errors)
        try:
            user = services.ssh_sign_in(**serializer.validated_data)
        except services.SignInRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        LoginNameThrottle.uncount(request)
        return Response(signed_in_payload(user))
