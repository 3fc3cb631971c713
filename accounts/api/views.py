from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import Q
from django.db.models.functions import Lower
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from accounts import recent, services
from accounts.api.parsers import JSONObjectOrFormParser
from accounts.api.serializers import (
    ApiTokenSerializer,
    LoginResponseSerializer,
    LoginSerializer,
    UserSerializer,
    token_lifetime_seconds,
)
from accounts.api.throttles import LoginIPThrottle, LoginNameThrottle, RegistrationThrottle
from accounts.filtersets import UserFilterSet
from accounts.models import ApiToken, User
from accounts.permissions import ReadOnlyTokenPermission, RecentSignInToCreate
from maisie_site.api import JSONParser, deleted


def token_payload(user, auth_time: int | None) -> dict:
    """A JWT for `user`; `auth_time` is when its chain began with a password or SSH sign-in."""
    token = AccessToken.for_user(user)
    if auth_time is not None:
        token[recent.AUTH_TIME_CLAIM] = auth_time
    return {"access_token": str(token), "valid_for": token_lifetime_seconds()}


def signed_in_payload(user) -> dict:
    """What every sign-in answers (password or SSH key): a JWT and who it belongs to."""
    profile = {"id": user.id, "login": user.login, "full_name": user.full_name, "email": user.email}
    return {**token_payload(user, auth_time=recent.now()), "user": profile}


class LoginView(APIView):
    """`POST /auth/login/` with `login` and `password` (JSON or form fields) gives a JWT."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    # The documented `curl -d '{"login": …}'` sends JSON labelled as a form (accounts/api/parsers.py).
    parser_classes = [JSONParser, JSONObjectOrFormParser, MultiPartParser]
    throttle_classes = [LoginIPThrottle, LoginNameThrottle]

    def get_authenticate_header(self, request):
        # With no authentication classes DRF would turn a failed login into a 403; it is a 401.
        return "Bearer"

    @extend_schema(request=LoginSerializer, responses=LoginResponseSerializer)
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        if not serializer.is_valid():
            LoginNameThrottle.uncount(request)  # no password was checked
            raise exceptions.ValidationError(serializer.errors)
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            raise exceptions.AuthenticationFailed("Wrong login or password, or the account is deactivated.")
        LoginNameThrottle.uncount(request)
        return Response(signed_in_payload(user))


class TokenRefreshView(APIView):
    """`GET /auth/token/`: a fresh JWT for whoever the bearer token says you are."""

    @extend_schema(responses=LoginResponseSerializer)
    def get(self, request):
        if isinstance(request.auth, ApiToken):
            # A JWT would outlive the API token's expiry and revocation and drop its read-only flag.
            raise exceptions.PermissionDenied("A personal API token cannot be exchanged for a JWT.")
        # The new JWT is as recent a sign-in as the old one, not a fresh one (accounts/recent.py).
        return Response(token_payload(request.user, auth_time=recent.authenticated_at(request)))


class OpenRegistration(permissions.BasePermission):
    """Staff create users; anyone may sign up when MAISIE_OPEN_REGISTRATION is on."""

    def has_permission(self, request, view):
        if view.action == "create":
            return bool(request.user.is_staff or settings.MAISIE_OPEN_REGISTRATION)
        return bool(request.user and request.user.is_authenticated)


class UserViewSet(viewsets.ModelViewSet):
    serializer_class = UserSerializer
    filterset_class = UserFilterSet
    permission_classes = [OpenRegistration, ReadOnlyTokenPermission]
    throttle_classes = [RegistrationThrottle]
    # Deactivated users vanish from the API; staff reactivate them in the admin.
    queryset = User.objects.filter(is_active=True)

    def get_queryset(self):
        """Staff see everyone; others themselves and the people they share a workspace with, plus
        whoever `?login=` or `?email=` names exactly (to invite them), not the whole directory."""
        users, viewer = super().get_queryset(), self.request.user
        if viewer.is_staff:
            return users
        known = Q(pk=viewer.pk) | Q(memberships__workspace__memberships__user=viewer)
        login = self.request.query_params.get("login", "").strip()
        email = self.request.query_params.get("email", "").strip()
        if login:
            known |= Q(login_lower=login.lower())
        if email:
            known |= Q(email__iexact=email)
        return users.filter(pk__in=User.objects.alias(login_lower=Lower("login")).filter(known).values("pk"))

    def update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.user_deactivate(user=self.get_object(), actor=request.user)
        return deleted()

    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def me(self, request):
        return Response(self.get_serializer(request.user).data)


class ApiTokenViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Personal API tokens of the signed-in user."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.all()
    permission_classes = [permissions.IsAuthenticated, ReadOnlyTokenPermission, RecentSignInToCreate]
    parser_classes = LoginView.parser_classes  # `curl -d '{"name": …}'` as documented for sign-in

    def get_queryset(self):
        return self.queryset.filter(user=self.request.user)

    def destroy(self, request, *args, **kwargs):
        services.api_token_revoke(token=self.get_object(), user=request.user)
        return deleted()
