"""accounts/authentication.py and the ApiToken model: how a Bearer credential becomes a user."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services
from accounts.authentication import bearer_credential
from accounts.models import ApiToken, User
from conftest import PASSWORD

ME_URL = "/api/v1/users/me/"


def signed_with(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


# --- Reading the Authorization header --------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "credential"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("Bearer: abc", "abc"),  # the published 0.1.6 client's refresh call
        ("Bearer   abc  ", "abc"),
        ("Token abc", None),
        ("Basic YWxpY2U6cHc=", None),
        ("Bearer", None),
        ("Bearer a b", None),
        ("Bearer:abc", None),
        ("", None),
    ],
)
def test_bearer_credential_reads_only_a_bearer_scheme_and_one_credential(header, credential):
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=header)

    assert bearer_credential(request) == credential


@pytest.mark.parametrize("header", ["Token abc", "Basic YWxpY2U6cHc=", "Bearer", "Bearer a b", "Bearer garbage"])
def test_a_request_without_a_usable_bearer_credential_is_refused_with_401(db, header):
    response = signed_with(header).get(ME_URL)

    assert response.status_code == 401
    assert "data" not in response.json()


def test_a_401_tells_the_client_to_use_bearer(db):
    response = APIClient().get(ME_URL)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- JWTs ----------------------------------------------------------------------------------------


def test_a_jwt_of_a_user_who_no_longer_exists_is_refused(alice):
    token = str(AccessToken.for_user(alice))
    User.objects.filter(pk=alice.pk).delete()

    assert signed_with(f"Bearer {token}").get(ME_URL).status_code == 401


def test_a_reactivated_users_jwt_works_again(alice):
    """Deactivation is checked on every request, not baked into the token."""
    token = str(AccessToken.for_user(alice))
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert signed_with(f"Bearer {token}").get(ME_URL).status_code == 401

    User.objects.filter(pk=alice.pk).update(is_active=True)

    assert signed_with(f"Bearer {token}").get(ME_URL).status_code == 200


def test_a_jwt_and_an_api_token_both_sign_requests_as_bearer(alice):
    _, secret = services.api_token_create(user=alice, name="ci")
    jwt = str(AccessToken.for_user(alice))

    assert signed_with(f"Bearer {jwt}").get(ME_URL).status_code == 200
    assert signed_with(f"Bearer {secret}").get(ME_URL).status_code == 200


def test_an_api_token_stripped_of_its_scheme_is_refused(alice):
    _, secret = services.api_token_create(user=alice, name="ci")

    assert signed_with(f"Bearer {secret.removeprefix(ApiToken.SCHEME)}").get(ME_URL).status_code == 401


# --- Browser sessions ------------------------------------------------------------------------


def test_a_browser_session_signs_api_reads(alice):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(login="alice", password=PASSWORD)

    response = client.get(ME_URL)

    assert response.status_code == 200
    assert response.json()["data"]["id"] == alice.id


def test_a_browser_session_cannot_write_without_a_csrf_token(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.login(login="alice", password=PASSWORD)

    response = client.post("/api/v1/auth/tokens/", {"name": "from a forged form"}, format="json")

    assert response.status_code == 403
    assert not ApiToken.objects.exists()


# --- The ApiToken model --------------------------------------------------------------------------


def test_generate_gives_a_prefixed_secret_that_embeds_its_prefix():
    prefix, secret = ApiToken.generate()

    assert len(prefix) == 8
    assert secret.startswith(f"mai_{prefix}_")
    assert len(secret) > 40


def test_matches_compares_against_the_stored_hash_only(alice):
    token, secret = services.api_token_create(user=alice, name="ci")

    assert token.hashed_secret == hashlib.sha256(secret.encode()).hexdigest()
    assert token.matches(secret)
    assert not token.matches(secret + "x")
    assert not token.matches(token.hashed_secret)


@pytest.mark.parametrize(
    ("expires_in", "expired"),
    [(None, False), (timedelta(minutes=1), False), (timedelta(seconds=-1), True)],
    ids=["never", "future", "past"],
)
def test_is_expired_follows_the_expiry(alice, expires_in, expired):
    token, _ = services.api_token_create(user=alice, name="ci")
    token.expires = None if expires_in is None else timezone.now() + expires_in  # as time passes

    assert token.is_expired is expired


def test_usable_leaves_out_expired_tokens_and_those_of_deactivated_users(alice, bob, carol):
    now = timezone.now()
    good, _ = services.api_token_create(user=alice, name="no expiry")
    later, _ = services.api_token_create(user=alice, name="later", expires=now + timedelta(days=1))
    gone, _ = services.api_token_create(user=alice, name="gone", expires=now + timedelta(seconds=1))
    ApiToken.objects.filter(pk=gone.pk).update(expires=now - timedelta(seconds=1))  # its time passed
    services.api_token_create(user=bob, name="inactive owner")
    User.objects.filter(pk=bob.pk).update(is_active=False)

    assert set(ApiToken.objects.usable()) == {good, later}


def test_str_shows_the_prefix_never_the_secret(alice):
    token, secret = services.api_token_create(user=alice, name="ci")

    assert str(token) == f"ci (mai_{token.prefix}…)"
    assert secret not in str(token)


# --- last_used ---------------------------------------------------------------------------------


def test_last_used_is_written_at_most_once_a_minute(alice):
    token, secret = services.api_token_create(user=alice, name="ci")
    client = signed_with(f"Bearer {secret}")

    client.get(ME_URL)
    token.refresh_from_db()
    first = token.last_used
    assert first is not None

    client.get(ME_URL)
    token.refresh_from_db()
    assert token.last_used == first

    ApiToken.objects.filter(pk=token.pk).update(last_used=first - timedelta(minutes=2))
    client.get(ME_URL)
    token.refresh_from_db()
    assert token.last_used > first - timedelta(minutes=2)


def test_a_refused_token_does_not_touch_last_used(alice):
    token, secret = services.api_token_create(user=alice, name="ci", expires=timezone.now() + timedelta(hours=1))
    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(seconds=1))

    assert signed_with(f"Bearer {secret}").get(ME_URL).status_code == 401

    token.refresh_from_db()
    assert token.last_used is None
