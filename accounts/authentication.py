"""How API callers prove who they are: personal API tokens and JWTs, both as Bearer tokens.

Every API request makes one of these lookups, so each is one prepared statement
(maisie_site/prepared.py; bench/floor.py measures the floor it sets): the token with its user
in one query, the JWT's user in one. What they check is what `ApiToken.objects.usable()` and
simplejwt's `get_user` check, in Python on the row read.
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import ApiToken, User
from maisie_site.prepared import STAND_IN_INT, STAND_IN_STR, Prepared
from maisie_site.request_id import current_api_token_id

# `prefix` is unique; the user comes in the same row.
token_by_prefix = Prepared(
    lambda prefix: ApiToken.objects.select_related("user").filter(prefix=prefix).order_by(), STAND_IN_STR
)
user_by_id = Prepared(lambda pk: User.objects.filter(pk=pk).order_by(), STAND_IN_INT)


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
        token = token_by_prefix.first(prefix)
        # As ApiToken.objects.usable(): an active user's token that has not expired.
        usable = token is not None and token.user.is_active and not token.is_expired
        if not usable or not token.matches(secret):
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

    def get_user(self, validated_token):
        """simplejwt's own checks, in its words, with the user read by a prepared statement."""
        try:
            user_id = int(validated_token[jwt_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = user_by_id.first(user_id)
        if user is None:
            raise exceptions.AuthenticationFailed(_("User not found"), code="user_not_found")
        if jwt_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise exceptions.AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if jwt_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            jwt_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise exceptions.AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user

    def get_raw_token(self, header):
        parts = header.split()
        if len(parts) == 2 and parts[0].rstrip(b":").lower() == b"bearer":
            return parts[1]
        return None
