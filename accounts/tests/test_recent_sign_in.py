"""Short-lived credentials cannot mint long-lived ones: creating an API token or registering an
SSH key needs a password or SSH sign-in within MAISIE_RECENT_SIGN_IN_SECONDS, never an API
token, over the API and in the web UI (accounts/recent.py)."""

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken, SshPublicKey
from accounts.tests.test_api_ssh import openssh, sign_in
from conftest import PASSWORD

TOKENS = "/api/v1/auth/tokens/"
KEYS = "/api/v1/auth/ssh-keys/"
REFRESH = "/api/v1/auth/token/"


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def password_jwt(login: str) -> str:
    response = APIClient().post("/api/v1/auth/login/", {"login": login, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]["access_token"]


def new_key_line() -> str:
    return openssh(ed25519.Ed25519PrivateKey.generate())


@pytest.fixture
def later(monkeypatch, settings):
    """Moves the clock the recent-sign-in rule reads: `later(seconds)`."""
    from accounts import recent

    def move(seconds: int) -> None:
        start = time.time() + seconds
        monkeypatch.setattr(recent, "now", lambda: int(start))

    return move


# --- API ---------------------------------------------------------------------------------------


def test_a_fresh_password_sign_in_creates_a_token_and_a_key(alice):
    client = bearer(password_jwt("alice"))

    assert client.post(TOKENS, {"name": "ci"}, format="json").status_code == 201
    assert client.post(KEYS, {"name": "laptop", "public_key": new_key_line()}, format="json").status_code == 201
    assert list(ApiToken.objects.filter(user=alice).values_list("name", flat=True)) == ["ci"]
    assert list(SshPublicKey.objects.filter(user=alice).values_list("name", flat=True)) == ["laptop"]


def test_an_api_token_cannot_create_a_token_or_register_a_key(alice):
    """The attack: a token made to expire in 20 s made one that never expires, and a key."""
    _, short_lived = services.api_token_create(user=alice, name="20 seconds")
    client = bearer(short_lived)

    token = client.post(TOKENS, {"name": "forever"}, format="json")
    key = client.post(KEYS, {"name": "backdoor", "public_key": new_key_line()}, format="json")

    assert token.status_code == key.status_code == 403
    assert "API token cannot create" in token.json()["message"]
    assert ApiToken.objects.count() == 1 and not SshPublicKey.objects.exists()


def test_an_api_token_still_lists_and_revokes(alice):
    _, secret = services.api_token_create(user=alice, name="ci")
    client = bearer(secret)
    [listed] = client.get(TOKENS).json()["data"]

    assert client.delete(f"{TOKENS}{listed['id']}/").status_code in (200, 204)
    assert not ApiToken.objects.exists()


def test_a_jwt_from_an_old_sign_in_cannot_create_credentials(alice, settings, later):
    client = bearer(password_jwt("alice"))
    later(settings.MAISIE_RECENT_SIGN_IN_SECONDS + 1)

    response = client.post(TOKENS, {"name": "ci"}, format="json")

    assert response.status_code == 403
    assert "sign in again" in response.json()["message"]
    assert not ApiToken.objects.exists()


def test_refreshing_a_jwt_keeps_the_time_of_the_sign_in(alice, settings, later):
    """An hourly refresh must not keep a session "recent" for ever."""
    first = password_jwt("alice")
    later(settings.MAISIE_RECENT_SIGN_IN_SECONDS + 1)

    refreshed = bearer(first).get(REFRESH).json()["data"]["access_token"]
    response = bearer(refreshed).post(KEYS, {"name": "laptop", "public_key": new_key_line()}, format="json")

    assert response.status_code == 403
    assert not SshPublicKey.objects.exists()


def test_a_refreshed_jwt_of_a_recent_sign_in_may_create(alice):
    refreshed = bearer(password_jwt("alice")).get(REFRESH).json()["data"]["access_token"]

    assert bearer(refreshed).post(TOKENS, {"name": "ci"}, format="json").status_code == 201
    assert ApiToken.objects.filter(user=alice, name="ci").exists()


def test_a_jwt_without_a_sign_in_time_is_not_recent(alice):
    """Tokens issued before this rule carry no auth_time: they must sign in again."""
    from rest_framework_simplejwt.tokens import AccessToken

    response = bearer(str(AccessToken.for_user(alice))).post(TOKENS, {"name": "ci"}, format="json")

    assert response.status_code == 403


def test_an_ssh_sign_in_is_a_recent_sign_in(alice):
    private = ed25519.Ed25519PrivateKey.generate()
    services.ssh_key_add(user=alice, name="laptop", public_key=openssh(private))
    jwt = sign_in("alice", private).json()["data"]["access_token"]

    assert bearer(jwt).post(TOKENS, {"name": "ci"}, format="json").status_code == 201
    assert ApiToken.objects.filter(user=alice, name="ci").exists()


def test_a_browser_session_creates_through_the_api_only_after_a_recent_sign_in(alice, settings, later):
    client = APIClient(enforce_csrf_checks=False)
    assert client.login(login="alice", password=PASSWORD)

    assert client.post(TOKENS, {"name": "now"}, format="json").status_code == 201
    later(settings.MAISIE_RECENT_SIGN_IN_SECONDS + 1)
    assert client.post(TOKENS, {"name": "later"}, format="json").status_code == 403


# --- Web UI ------------------------------------------------------------------------------------


@pytest.fixture
def browser(alice):
    client = Client()
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_the_page_creates_a_token_right_after_signing_in(browser):
    response = browser.post("/account/tokens/", {"name": "ci"})

    assert response.status_code == 302
    assert ApiToken.objects.filter(name="ci").exists()


def test_an_old_sign_in_confirms_its_password_before_creating(browser, settings, later):
    later(settings.MAISIE_RECENT_SIGN_IN_SECONDS + 1)

    refused = browser.post("/account/tokens/", {"name": "ci"})
    refused_key = browser.post("/account/ssh-keys/", {"name": "laptop", "public_key": new_key_line()})

    assert refused.status_code == 302 and refused["Location"] == "/account/confirm/?next=/account/%23tokens"
    assert refused_key["Location"] == "/account/confirm/?next=/account/%23ssh-keys"
    assert not ApiToken.objects.exists() and not SshPublicKey.objects.exists()

    wrong = browser.post("/account/confirm/", {"password": "guess", "next": "/account/#tokens"})
    assert wrong.status_code == 400 and b"not your password" in wrong.content
    confirmed = browser.post("/account/confirm/", {"password": PASSWORD, "next": "/account/#tokens"})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/account/#tokens"
    assert browser.post("/account/tokens/", {"name": "ci"}).status_code == 302
    assert ApiToken.objects.filter(name="ci").exists()


def test_the_confirm_page_is_limited_like_a_sign_in(browser, settings, later):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_user": "3/min"},
    }
    later(settings.MAISIE_RECENT_SIGN_IN_SECONDS + 1)
    for _ in range(3):
        assert browser.post("/account/confirm/", {"password": "guess"}).status_code == 400

    locked = browser.post("/account/confirm/", {"password": PASSWORD})

    assert locked.status_code == 429
    assert browser.post("/account/tokens/", {"name": "ci"}).status_code == 302
    assert not ApiToken.objects.exists()


def test_the_confirm_page_never_sends_you_to_another_host(browser):
    response = browser.post("/account/confirm/", {"password": PASSWORD, "next": "https://evil.example/"})

    assert response["Location"] == "/account/"
