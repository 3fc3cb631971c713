"""Single sign-on (accounts/oidc.py) against a small OpenID Connect provider started on loopback.

The provider (http.server in a thread) serves discovery, authorize (a redirect back with a code),
token (an RS256 id_token), userinfo and JWKS. The flow runs through the live Django server with
`requests`, each redirect followed by hand, as a browser would.

Alice (alice@example.com) exists; the identity the provider asserts is set per test.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from accounts import oidc
from accounts.models import User
from conftest import PASSWORD
from registry.models import Membership, Role

CLIENT_ID = "maisie-test"
CLIENT_SECRET = "s3cret-for-tests"


class Provider:
    """An OpenID provider on 127.0.0.1 that asserts `identity` for whoever asks."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.identity: dict = {}
        self.audience = CLIENT_ID
        self.codes: dict[str, dict] = {}
        self.discoveries = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _json(self, body, status=200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    provider.discoveries += 1
                    return self._json(
                        {
                            "issuer": provider.issuer,
                            "authorization_endpoint": f"{provider.issuer}/authorize",
                            "token_endpoint": f"{provider.issuer}/token",
                            "userinfo_endpoint": f"{provider.issuer}/userinfo",
                            "jwks_uri": f"{provider.issuer}/jwks",
                        }
                    )
                if url.path == "/jwks":
                    return self._json(provider.jwks())
                if url.path == "/authorize":
                    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {
                        "nonce": query["nonce"],
                        "redirect_uri": query["redirect_uri"],
                        "challenge": query.get("code_challenge"),
                    }
                    self.send_response(302)
                    self.send_header(
                        "Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                    )
                    self.end_headers()
                    return None
                if url.path == "/userinfo":
                    if self.headers.get("Authorization") != "Bearer access-for-tests":
                        return self._json({"error": "invalid_token"}, 401)
                    return self._json(provider.identity)
                return self._json({"error": "not_found"}, 404)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                grant = provider.codes.pop(form.get("code"), None)
                if grant is None or form.get("client_secret") != CLIENT_SECRET:
                    return self._json({"error": "invalid_grant"}, 400)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
                if grant["challenge"] != challenge.decode() or form["redirect_uri"] != grant["redirect_uri"]:
                    return self._json({"error": "invalid_grant"}, 400)
                now = int(time.time())
                claims = {
                    "iss": provider.issuer,
                    "aud": provider.audience,
                    "iat": now,
                    "exp": now + 300,
                    "nonce": grant["nonce"],
                    **provider.identity,
                }
                id_token = jwt.encode(claims, provider.key, algorithm="RS256", headers={"kid": "k1"})
                return self._json({"access_token": "access-for-tests", "token_type": "Bearer", "id_token": id_token})

        return Handler


@pytest.fixture
def provider():
    provider = Provider()
    provider.thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


@pytest.fixture(scope="session")
def _no_media_url():
    """The live server wraps a media handler that needs a URL (Maisie has none: see tests/e2e)."""
    from django.conf import settings

    settings.MEDIA_URL = "http://media.invalid/"


@pytest.fixture
def sso(settings, provider, _no_media_url):
    settings.MAISIE_OIDC_ISSUER = provider.issuer
    settings.MAISIE_OIDC_CLIENT_ID = CLIENT_ID
    settings.MAISIE_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.MAISIE_OIDC_CREATE_USERS = False
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "accounts.oidc.OIDCBackend"]
    oidc._discovered.clear()
    yield provider
    oidc._discovered.clear()


def signed_in_user(session: requests.Session) -> User | None:
    key = session.cookies.get("sessionid")
    user_id = SessionStore(session_key=key).get("_auth_user_id") if key else None
    return User.objects.filter(pk=user_id).first() if user_id else None


def sign_in_with_sso(live_server, tamper_state: bool = False) -> tuple[requests.Session, requests.Response]:
    """Click "Sign in with SSO", let the provider answer, come back: the callback's response."""
    browser = requests.Session()
    start = browser.get(f"{live_server.url}/accounts/sso/", allow_redirects=False, timeout=10)
    assert start.status_code == 302, start.text
    authorize = browser.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert authorize.status_code == 302
    callback = authorize.headers["Location"]
    if tamper_state:
        callback = callback.replace("state=", "state=forged")
    return browser, browser.get(callback, allow_redirects=False, timeout=30)


# ----------------------------------------------------------------------------- the flow


def test_a_verified_email_signs_in_the_existing_user(transactional_db, sso, live_server, alice):
    sso.identity = {"sub": "1", "email": "ALICE@example.com", "email_verified": True}

    browser, response = sign_in_with_sso(live_server)

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert signed_in_user(browser) == alice
    home = browser.get(f"{live_server.url}/", timeout=10)
    assert home.status_code == 200 and "Hello, Alice" in home.text
    assert User.objects.count() == 1


def test_an_unverified_email_is_refused(transactional_db, settings, sso, live_server, alice):
    settings.MAISIE_OIDC_CREATE_USERS = True
    sso.identity = {"sub": "1", "email": "alice@example.com", "email_verified": False}

    browser, response = sign_in_with_sso(live_server)

    assert response.status_code == 302 and response.headers["Location"] == reverse("accounts:login")
    assert signed_in_user(browser) is None
    page = browser.get(live_server.url + response.headers["Location"], timeout=10)
    assert "must confirm your email address" in page.text
    assert User.objects.count() == 1


def test_a_missing_email_verified_claim_is_refused(transactional_db, sso, live_server, alice):
    sso.identity = {"sub": "1", "email": "alice@example.com"}
    browser, _ = sign_in_with_sso(live_server)
    assert signed_in_user(browser) is None


def test_no_account_is_made_unless_enabled(transactional_db, sso, live_server, alice):
    sso.identity = {"sub": "2", "email": "dora@example.com", "email_verified": True}
    browser, response = sign_in_with_sso(live_server)
    assert response.headers["Location"] == reverse("accounts:login")
    assert signed_in_user(browser) is None
    assert not User.objects.filter(email="dora@example.com").exists()


def test_a_first_sign_in_makes_the_account_and_joins_the_default_workspace(
    transactional_db, settings, sso, live_server, workspace
):
    settings.MAISIE_OIDC_CREATE_USERS = True
    settings.MAISIE_OIDC_DEFAULT_WORKSPACE = workspace.name
    settings.MAISIE_OIDC_DEFAULT_ROLE = Role.VIEWER
    sso.identity = {
        "sub": "2",
        "email": "dora@example.com",
        "email_verified": True,
        "preferred_username": "dora smith",
        "name": "Dora Smith",
    }

    browser, response = sign_in_with_sso(live_server)

    assert response.status_code == 302 and response.headers["Location"] == "/"
    dora = User.objects.get(email="dora@example.com")
    assert signed_in_user(browser) == dora
    assert dora.login == "dorasmith" and dora.full_name == "Dora Smith" and not dora.has_usable_password()
    assert Membership.objects.get(workspace=workspace, user=dora).role == Role.VIEWER
    # The second time, the same account: nothing new.
    again, _ = sign_in_with_sso(live_server)
    assert signed_in_user(again) == dora and User.objects.filter(email="dora@example.com").count() == 1


def test_a_new_login_never_takes_an_existing_one(transactional_db, settings, sso, live_server, alice):
    settings.MAISIE_OIDC_CREATE_USERS = True
    sso.identity = {"sub": "3", "email": "alice@elsewhere.org", "email_verified": True}
    browser, _ = sign_in_with_sso(live_server)
    assert signed_in_user(browser).login == "alice2"


def test_a_forged_state_is_refused(transactional_db, sso, live_server, alice):
    sso.identity = {"sub": "1", "email": "alice@example.com", "email_verified": True}

    browser, response = sign_in_with_sso(live_server, tamper_state=True)

    assert response.status_code == 400 and "Sign-in refused" in response.text
    assert signed_in_user(browser) is None


def test_a_token_for_another_application_is_refused(transactional_db, sso, live_server, alice):
    sso.identity = {"sub": "1", "email": "alice@example.com", "email_verified": True}
    sso.audience = "someone-else"
    browser, response = sign_in_with_sso(live_server)
    assert response.status_code == 400 and signed_in_user(browser) is None


def test_discovery_is_read_once_and_lazily(transactional_db, sso, live_server, alice):
    sso.identity = {"sub": "1", "email": "alice@example.com", "email_verified": True}
    assert sso.discoveries == 0
    sign_in_with_sso(live_server)
    sign_in_with_sso(live_server)
    assert sso.discoveries == 1


# ----------------------------------------------------------------------------- configured or not


def test_the_login_page_offers_sso_only_when_configured(client, settings, db):
    settings.MAISIE_OIDC_ISSUER = ""
    assert b"Sign in with SSO" not in client.get(reverse("accounts:login")).content
    assert client.get("/accounts/sso/").status_code == 404
    settings.MAISIE_OIDC_ISSUER = "https://id.example.com"
    settings.MAISIE_OIDC_CLIENT_ID = CLIENT_ID
    assert b"Sign in with SSO" in client.get(reverse("accounts:login")).content


def test_a_password_sign_in_never_waits_on_the_provider(client, settings, alice):
    settings.MAISIE_OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens there
    settings.MAISIE_OIDC_CLIENT_ID = CLIENT_ID
    settings.MAISIE_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "accounts.oidc.OIDCBackend"]
    oidc._discovered.clear()
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").context["user"] == alice


def test_an_unreachable_provider_is_a_message_not_a_500(client, settings, db):
    settings.MAISIE_OIDC_ISSUER = "http://127.0.0.1:9"
    settings.MAISIE_OIDC_CLIENT_ID = CLIENT_ID
    settings.MAISIE_OIDC_CLIENT_SECRET = CLIENT_SECRET
    oidc._discovered.clear()
    response = client.get("/accounts/sso/", follow=True)
    assert response.status_code == 200 and b"Single sign-on is unavailable" in response.content
