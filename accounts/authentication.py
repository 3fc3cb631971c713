"""How API callers prove who they are: personal API tokens and JWTs, both as Bearer tokens."""

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.models import ApiToken
from maisie_site.request_id import current_api_token_id


def bearer_credential(request) -> str | None:
    """The credential after `Bearer`, also accepting the published 0.1.6 client's `Bearer:`."""
    header = authentication.get_authorization_header(request).decode("latin-1")
    parts = header.split()
    if len(parts) != 2 or parts[0].rstrip(":").lower() != "bearer":
        return None
    return parts[1]


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        secret = bearer_credential(request)
        if not secret or not secret.startswith(ApiToken.SCHEME):
            return None
        prefix = secret[len(ApiToken.SCHEME) :].split("_", 1)[0]
        token = ApiToken.objects.usable().select_related("user").filter(prefix=prefix).first()
        if token is None or not token.matches(secret):
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API token.")
        now = timezone.now()
        # Writing on every request would serialise readers on SQLite; a minute's precision is enough.
        if token.last_used is None or (now - token.last_used).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        current_api_token_id.set(token.pk)  # for the event log (events.services.record)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class BearerJWTAuthentication(JWTAuthentication):
    """simplejwt, tolerant of `Bearer:`; it already refuses tokens of deactivated users."""

    def get_raw_token(self, header):
        parts = header.split()
        if len(parts) == 2 and parts[0].rstrip(b":").lower() == b"bearer":
            return parts[1]
        return None
