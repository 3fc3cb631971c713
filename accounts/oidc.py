"""Single sign-on with OpenID Connect, through mozilla-django-oidc, configured from MAISIE_OIDC_*.

Off unless MAISIE_OIDC_ISSUER is set (settings.py then adds `OIDCBackend`; the login page shows
"Sign in with SSO"). The provider's endpoints come from its discovery document,
`<issuer>/.well-known/openid-configuration`, read at the first SSO sign-in and kept for the
process: the library's OIDC_OP_* settings are answered from it by `setting()`, the one place
that maps the library's names to ours.

An identity maps to a user by its email, and only a VERIFIED one (`email_verified` true): an
address anyone can type into their provider profile must not open someone else's account. With
MAISIE_OIDC_CREATE_USERS, a first sign-in makes an account (and joins
MAISIE_OIDC_DEFAULT_WORKSPACE with MAISIE_OIDC_DEFAULT_ROLE when set); otherwise only people
who already have an account with that email get in.
"""

import logging
import re
import threading

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from mozilla_django_oidc import views as oidc_views
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from accounts.models import User

logger = logging.getLogger(__name__)

DISCOVERY_TIMEOUT = 10  # seconds, for discovery and for each call the library makes
_discovered: dict[str, dict] = {}
_discovery_lock = threading.Lock()


def is_configured() -> bool:
    return bool(settings.MAISIE_OIDC_ISSUER and settings.MAISIE_OIDC_CLIENT_ID)


def provider() -> dict:
    """The issuer's discovery document, fetched once per process (and again if the issuer changes)."""
    issuer = settings.MAISIE_OIDC_ISSUER
    with _discovery_lock:
        if issuer not in _discovered:
            url = f"{issuer}/.well-known/openid-configuration"
            try:
                response = requests.get(url, timeout=DISCOVERY_TIMEOUT)
                response.raise_for_status()
                document = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise ImproperlyConfigured(f"MAISIE_OIDC_ISSUER: cannot read {url}: {exc}") from exc
            # The document must speak for the configured issuer (OpenID Connect Discovery 4.3).
            if str(document.get("issuer", "")).rstrip("/") != issuer:
                raise ImproperlyConfigured(f"MAISIE_OIDC_ISSUER: {url} names the issuer {document.get('issuer')!r}")
            missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)]
            if missing:
                raise ImproperlyConfigured(f"MAISIE_OIDC_ISSUER: {url} lacks {', '.join(missing)}")
            _discovered[issuer] = document
        return _discovered[issuer]


def setting(name: str, *default):
    """mozilla-django-oidc's settings, answered from MAISIE_OIDC_* and the discovery document."""
    ours = {
        "OIDC_RP_CLIENT_ID": lambda: settings.MAISIE_OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": lambda: settings.MAISIE_OIDC_CLIENT_SECRET,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": lambda: provider()["authorization_endpoint"],
        "OIDC_OP_TOKEN_ENDPOINT": lambda: provider()["token_endpoint"],
        "OIDC_OP_USER_ENDPOINT": lambda: provider().get("userinfo_endpoint"),
        "OIDC_OP_JWKS_ENDPOINT": lambda: provider()["jwks_uri"],
        "OIDC_RP_SIGN_ALGO": lambda: "RS256",
        "OIDC_RP_SCOPES": lambda: "openid email profile",
        "OIDC_USE_PKCE": lambda: True,
        "OIDC_TIMEOUT": lambda: DISCOVERY_TIMEOUT,
        "OIDC_CREATE_USER": lambda: settings.MAISIE_OIDC_CREATE_USERS,
        "OIDC_AUTHENTICATION_CALLBACK_URL": lambda: "accounts:oidc_callback",
        "LOGIN_REDIRECT_URL_FAILURE": lambda: reverse("accounts:login"),
    }
    if name in ours:
        return ours[name]()
    return import_from_settings(name, *default)


def _verified(value) -> bool:
    # Some providers send the claim as the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


class OIDCBackend(OIDCAuthenticationBackend):
    """Signs in the user whose email the provider has verified. Endpoints are read lazily: a
    password sign-in (which asks every backend) never waits on the provider."""

    get_settings = staticmethod(setting)

    def __init__(self, *args, **kwargs):
        self.UserModel = User  # the library's __init__ would read every endpoint now

    OIDC_RP_CLIENT_ID = property(lambda self: setting("OIDC_RP_CLIENT_ID"))
    OIDC_RP_CLIENT_SECRET = property(lambda self: setting("OIDC_RP_CLIENT_SECRET"))
    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: setting("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: setting("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: setting("OIDC_OP_JWKS_ENDPOINT"))
    OIDC_RP_SIGN_ALGO = property(lambda self: setting("OIDC_RP_SIGN_ALGO"))
    OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request, **kwargs):
        # Only the callback view passes a nonce: a password sign-in (or a stray ?code= on another
        # page) is not this backend's business.
        if "nonce" not in kwargs or not is_configured():
            return None
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload, key):
        # The library checks the signature and the nonce but neither the audience nor the issuer:
        # a token the provider minted for another application must not sign anyone in here.
        if jwt.get_unverified_header(payload).get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation("The id_token is not signed with the expected algorithm.")
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=provider()["issuer"],
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"The id_token was refused: {exc}") from exc

    def get_user(self, user_id):
        return ModelBackend.get_user(self, user_id)  # an inactive user's session ends, as with passwords

    def get_userinfo(self, access_token, id_token, payload):
        # The id_token's claims, completed by the userinfo endpoint when the provider has one.
        claims = dict(payload)
        if setting("OIDC_OP_USER_ENDPOINT"):
            claims.update(super().get_userinfo(access_token, id_token, payload))
        return claims

    def verify_claims(self, claims):
        return bool(claims.get("email")) and _verified(claims.get("email_verified"))

    def filter_users_by_claims(self, claims):
        return User.objects.filter(email__iexact=claims["email"], is_active=True)

    def create_user(self, claims):
        from accounts.invitations import workspace_join
        from registry.models import Workspace

        with transaction.atomic():
            user = User.objects.create_user(
                _free_login(claims), email=claims["email"], full_name=_printable(claims.get("name"))[:200]
            )  # no password: this person signs in through the provider
            name = settings.MAISIE_OIDC_DEFAULT_WORKSPACE
            workspace = Workspace.objects.filter(name=name).first() if name else None
            if workspace is not None:
                workspace_join(workspace=workspace, user=user, role=settings.MAISIE_OIDC_DEFAULT_ROLE)
            elif name:
                logger.warning("MAISIE_OIDC_DEFAULT_WORKSPACE: no workspace is named %r", name)
        return user


def _printable(value) -> str:
    # A provider's display name is stored as given, less what no database column takes (NUL).
    return str(value or "").replace("\x00", "")


def _free_login(claims) -> str:
    """A login for a new user: the provider's preferred_username, else the email's local part,
    reduced to the characters logins allow, with a number added until it is free."""
    wanted = str(claims.get("preferred_username") or claims["email"].split("@", 1)[0])
    base = re.sub(r"[^A-Za-z0-9_.@+-]", "", wanted)[:140] or "user"
    login, n = base, 1
    while User.objects.by_login(login).exists():
        n += 1
        login = f"{base}{n}"
    return login


class _ConfiguredOnly:
    def dispatch(self, request, *args, **kwargs):
        if not is_configured():
            raise Http404("Single sign-on is not configured.")
        return super().dispatch(request, *args, **kwargs)


class SignInView(_ConfiguredOnly, oidc_views.OIDCAuthenticationRequestView):
    """`/accounts/sso/`: off to the provider, with a state, a nonce and a PKCE challenge kept in the session."""

    get_settings = staticmethod(setting)

    def __init__(self, *args, **kwargs):
        super(oidc_views.OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        # Read here, not in __init__, so a URL reverse or an unconfigured site never asks the provider.
        try:
            self.OIDC_OP_AUTH_ENDPOINT = setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ImproperlyConfigured:
            logger.exception("OIDC discovery failed")
            messages.error(
                request, "Single sign-on is unavailable right now. Try again later, or sign in with a password."
            )
            return _to_login()
        self.OIDC_RP_CLIENT_ID = setting("OIDC_RP_CLIENT_ID")
        return super().get(request)


class CallbackView(_ConfiguredOnly, oidc_views.OIDCAuthenticationCallbackView):
    """`/accounts/sso/callback/`: the provider sends the browser back here with a code."""

    get_settings = staticmethod(setting)

    def get(self, request):
        try:
            return super().get(request)
        except SuspiciousOperation as exc:  # a state this browser never sent, a bad nonce or id_token
            logger.warning("OIDC callback refused: %s", exc)
            return render(request, "accounts/sso_refused.html", status=400)
        except (requests.RequestException, ImproperlyConfigured):
            logger.exception("OIDC provider unreachable")
            messages.error(request, "Single sign-on is unavailable right now. Try again later.")
            return _to_login()

    def login_failure(self):
        messages.error(
            self.request,
            "Single sign-on did not sign you in: your provider must confirm your email address, and"
            " an account with it must exist here (ask an administrator or a workspace owner).",
        )
        return _to_login()


def _to_login():
    return redirect("accounts:login")
