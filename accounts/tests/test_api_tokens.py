"""Personal API tokens: `GET/POST /api/v1/auth/tokens/`, `DELETE /api/v1/auth/tokens/<id>/`, and
signing requests with them as `Authorization: Bearer mai_...`."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken

TOKENS_URL = "/api/v1/auth/tokens/"
ME_URL = "/api/v1/users/me/"


def token_url(token_id) -> str:
    return f"{TOKENS_URL}{token_id}/"


def create_token(client, **body) -> dict:
    response = client.post(TOKENS_URL, {"name": "ci", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def signed_with(secret: str, scheme: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {secret}")
    return client


# --- Creating ----------------------------------------------------------------------------------


def test_it_creates_a_token_and_shows_its_secret_once(api, alice):
    data = create_token(api.as_user(alice), name="laptop")

    assert data["token"].startswith("mai_")
    assert data["name"] == "laptop"
    assert data["read_only"] is False
    assert data["expires"] is None
    assert data["last_used"] is None
    assert data["token"].startswith(f"mai_{data['prefix']}_")
    assert ApiToken.objects.get(pk=data["id"]).user == alice


def test_it_creates_a_read_only_token_with_an_expiry(api, alice):
    expires = timezone.now() + timedelta(days=30)

    data = create_token(api.as_user(alice), read_only=True, expires=expires.isoformat())

    token = ApiToken.objects.get(pk=data["id"])
    assert token.read_only is True
    assert abs(token.expires - expires) < timedelta(seconds=1)


def test_it_stores_only_the_prefix_and_a_sha256_of_the_secret(api, alice):
    data = create_token(api.as_user(alice))
    secret = data["token"]

    row = ApiToken.objects.filter(pk=data["id"]).values().get()

    assert row["hashed_secret"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["prefix"] == data["prefix"]
    random_part = secret.rsplit("_", 1)[1]
    assert not [column for column, value in row.items() if random_part in str(value)]


def test_it_never_shows_the_secret_again_in_the_list(api, alice):
    client = api.as_user(alice)
    secret = create_token(client)["token"]

    response = client.get(TOKENS_URL)

    assert response.status_code == 200
    assert "token" not in response.json()["data"][0]
    assert secret not in response.content.decode()


def test_two_tokens_never_share_a_secret_or_prefix(api, alice):
    client = api.as_user(alice)
    first, second = create_token(client), create_token(client)

    assert first["token"] != second["token"]
    assert first["prefix"] != second["prefix"]


def test_it_asks_for_a_name(api, alice):
    response = api.as_user(alice).post(TOKENS_URL, {"read_only": True}, format="json")

    assert response.status_code == 400
    assert "data" not in response.json()
    assert "name" in response.json()["errors"]


def test_it_ignores_a_prefix_or_owner_in_the_body(api, alice, bob):
    data = create_token(api.as_user(alice), prefix="chosen", user=bob.id, user_id=bob.id)

    assert data["prefix"] != "chosen"
    assert ApiToken.objects.get(pk=data["id"]).user == alice


def test_anonymous_callers_cannot_create_or_list_tokens(api, db):
    assert api.post(TOKENS_URL, {"name": "x"}, format="json").status_code == 401
    assert api.get(TOKENS_URL).status_code == 401
    assert not ApiToken.objects.exists()


# --- Listing -------------------------------------------------------------------------------------


def test_users_see_only_their_own_tokens(api, alice, bob):
    mine = create_token(api.as_user(alice), name="alice's")
    create_token(api.as_user(bob), name="bob's")

    response = api.as_user(alice).get(TOKENS_URL)

    assert [token["id"] for token in response.json()["data"]] == [mine["id"]]


def test_staff_see_only_their_own_tokens_too(api, alice, staff):
    create_token(api.as_user(alice))

    assert api.as_user(staff).get(TOKENS_URL).json()["data"] == []


def test_the_list_is_paged_in_the_envelope(api, alice):
    client = api.as_user(alice)
    for number in range(3):
        create_token(client, name=f"t{number}")

    body = client.get(TOKENS_URL, {"per_page": 2}).json()

    assert len(body["data"]) == 2
    assert body["pagination"]["total_items"] == 3
    assert body["pagination"]["has_next"] is True


@pytest.mark.parametrize("count", [1, 5])
def test_the_list_takes_a_fixed_number_of_queries(api, alice, count, django_assert_num_queries):
    client = api.as_user(alice)
    for number in range(count):
        create_token(client, name=f"t{number}")

    # The JWT's user, the page count, the page.
    with django_assert_num_queries(3):
        response = client.get(TOKENS_URL)

    assert len(response.json()["data"]) == count


# --- Signing requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Bearer:"])
def test_a_token_signs_requests_as_its_owner(api, alice, scheme):
    secret = create_token(api.as_user(alice))["token"]

    response = signed_with(secret, scheme).get(ME_URL)

    assert response.status_code == 200
    assert response.json()["data"]["id"] == alice.id


def test_using_a_token_records_when_it_was_last_used(api, alice):
    data = create_token(api.as_user(alice))

    signed_with(data["token"]).get(ME_URL)

    assert ApiToken.objects.get(pk=data["id"]).last_used is not None


def test_a_token_with_a_future_expiry_works(api, alice):
    secret = create_token(api.as_user(alice), expires=(timezone.now() + timedelta(hours=1)).isoformat())["token"]

    assert signed_with(secret).get(ME_URL).status_code == 200


@pytest.mark.parametrize("ago", [timedelta(seconds=1), timedelta(days=365)])
def test_an_expiry_in_the_past_is_refused_and_no_token_is_made(api, alice, ago):
    response = api.as_user(alice).post(
        TOKENS_URL, {"name": "ci", "expires": (timezone.now() - ago).isoformat()}, format="json"
    )

    assert response.status_code == 400
    assert "expires" in response.json()["errors"]
    assert not ApiToken.objects.exists()


def test_an_expired_token_is_refused_with_401(api, alice):
    data = create_token(api.as_user(alice), expires=(timezone.now() + timedelta(hours=1)).isoformat())
    ApiToken.objects.filter(pk=data["id"]).update(expires=timezone.now() - timedelta(seconds=1))

    response = signed_with(data["token"]).get(ME_URL)

    assert response.status_code == 401
    assert "data" not in response.json()


def test_a_secret_with_a_known_prefix_but_a_wrong_tail_is_refused(api, alice):
    secret = create_token(api.as_user(alice))["token"]
    prefix_part, tail = secret.rsplit("_", 1)
    tampered = f"{prefix_part}_{'A' if tail[0] != 'A' else 'B'}{tail[1:]}"

    assert signed_with(tampered).get(ME_URL).status_code == 401


@pytest.mark.parametrize("secret", ["mai_", "mai_deadbeef_nothing", "mai_deadbeef", "mai__"])
def test_an_unknown_token_is_refused(db, secret):
    assert signed_with(secret).get(ME_URL).status_code == 401


def test_a_deactivated_users_token_stops_working_at_once(api, alice):
    secret = create_token(api.as_user(alice))["token"]
    assert signed_with(secret).get(ME_URL).status_code == 200

    alice.is_active = False
    alice.save()

    assert signed_with(secret).get(ME_URL).status_code == 401


# --- Read-only tokens ----------------------------------------------------------------------------


@pytest.fixture
def read_only_client(api, alice):
    return signed_with(create_token(api.as_user(alice), read_only=True)["token"])


@pytest.mark.parametrize("url", [ME_URL, TOKENS_URL, "/api/v1/users/", "/api/v1/workspaces/"])
def test_a_read_only_token_can_read(read_only_client, url):
    assert read_only_client.get(url).status_code == 200


def test_a_read_only_token_cannot_create(read_only_client, alice):
    assert read_only_client.post("/api/v1/workspaces/", {"name": "new"}, format="json").status_code == 403
    assert read_only_client.post(TOKENS_URL, {"name": "escalate"}, format="json").status_code == 403
    assert ApiToken.objects.filter(user=alice).count() == 1


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_read_only_token_cannot_change(read_only_client, alice, method):
    response = getattr(read_only_client, method)(f"/api/v1/users/{alice.id}/", {"full_name": "Mallory"}, format="json")

    assert response.status_code == 403
    assert "data" not in response.json()
    alice.refresh_from_db()
    assert alice.full_name == "Alice"


def test_a_read_only_token_cannot_delete(read_only_client, alice):
    token = ApiToken.objects.get(user=alice)

    assert read_only_client.delete(token_url(token.id)).status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_a_read_only_token_of_staff_cannot_delete_users(api, staff, bob):
    client = signed_with(create_token(api.as_user(staff), read_only=True)["token"])

    assert client.delete(f"/api/v1/users/{bob.id}/").status_code == 403
    bob.refresh_from_db()
    assert bob.is_active


# --- Revoking ------------------------------------------------------------------------------------


def test_revoking_a_token_deletes_it_and_refuses_it_afterwards(api, alice):
    client = api.as_user(alice)
    data = create_token(client)
    assert signed_with(data["token"]).get(ME_URL).status_code == 200

    response = client.delete(token_url(data["id"]))

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert not ApiToken.objects.filter(pk=data["id"]).exists()
    assert signed_with(data["token"]).get(ME_URL).status_code == 401


def test_a_token_can_revoke_itself(api, alice):
    data = create_token(api.as_user(alice))
    client = signed_with(data["token"])

    assert client.delete(token_url(data["id"])).status_code == 200
    assert client.get(ME_URL).status_code == 401


def test_users_cannot_revoke_another_users_token(api, alice, bob):
    bobs = create_token(api.as_user(bob))

    response = api.as_user(alice).delete(token_url(bobs["id"]))

    assert response.status_code == 404
    assert "data" not in response.json()
    assert signed_with(bobs["token"]).get(ME_URL).status_code == 200


def test_staff_cannot_revoke_another_users_token_through_the_api(api, alice, staff):
    alices = create_token(api.as_user(alice))

    assert api.as_user(staff).delete(token_url(alices["id"])).status_code == 404
    assert ApiToken.objects.filter(pk=alices["id"]).exists()


def test_revoking_a_missing_token_answers_404(api, alice):
    assert api.as_user(alice).delete(token_url(999999)).status_code == 404


def test_anonymous_callers_cannot_revoke_tokens(api, alice):
    data = create_token(api.as_user(alice))
    api.as_user(None)

    assert api.delete(token_url(data["id"])).status_code == 401
    assert ApiToken.objects.filter(pk=data["id"]).exists()
