"""`POST /api/v1/auth/login/` and `GET /api/v1/auth/token/`: JWTs, the published client's quirks,
deactivation and login throttling, all through the real request stack."""

import hashlib
from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.api.throttles import LoginIPThrottle, LoginNameThrottle
from conftest import PASSWORD, make_user

LOGIN_URL = "/api/v1/auth/login/"
REFRESH_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/users/me/"


def log_in(caller, login, password=PASSWORD, address="127.0.0.1"):
    return caller.post(LOGIN_URL, {"login": login, "password": password}, format="json", REMOTE_ADDR=address)


def bearer(caller, token, scheme="Bearer"):
    caller.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")
    return caller


@pytest.fixture
def caller():
    """An API client with no credentials yet."""
    return APIClient()


@pytest.fixture
def login_rates(settings):
    """Low login limits, set where production sets them: REST_FRAMEWORK's DEFAULT_THROTTLE_RATES.

    The throttles read their rates from the current settings, so the override reaches them;
    the throttles themselves, their keys and the cache are real.
    """
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login_user": "3/min",
            "login_ip": "5/min",
        },
    }
    return {"per_login": 3, "per_address": 5}


# --- Logging in --------------------------------------------------------------------------------


def test_it_gives_a_jwt_and_the_user_for_a_json_login(caller, alice):
    response = log_in(caller, "alice")

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert set(data) == {"access_token", "valid_for", "user"}
    assert data["valid_for"] == int(django_settings.JWT_LIFETIME.total_seconds())
    assert data["user"] == {"id": alice.id, "login": "alice", "full_name": "Alice", "email": "alice@example.com"}


def test_it_accepts_urlencoded_form_fields_as_the_published_client_sends_them(caller, alice):
    body = urlencode({"login": "alice", "password": PASSWORD})

    response = caller.post(LOGIN_URL, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["user"]["id"] == alice.id


def test_it_accepts_multipart_form_fields(caller, alice):
    response = caller.post(LOGIN_URL, {"login": "alice", "password": PASSWORD}, format="multipart")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["user"]["login"] == "alice"


def test_the_jwt_it_gives_signs_requests_as_that_user(caller, alice, bob):
    token = log_in(caller, "alice").json()["data"]["access_token"]

    response = bearer(caller, token).get(ME_URL)

    assert response.status_code == 200
    assert response.json()["data"]["id"] == alice.id


def test_the_jwt_lives_as_long_as_valid_for_says(caller, alice):
    data = log_in(caller, "alice").json()["data"]

    payload = AccessToken(data["access_token"]).payload

    assert payload["exp"] - payload["iat"] == data["valid_for"]
    assert str(payload["user_id"]) == str(alice.id)


def test_it_refuses_a_wrong_password_with_401_and_no_data(caller, alice):
    response = log_in(caller, "alice", password="not-the-password")

    assert response.status_code == 401
    assert "data" not in response.json()
    assert response.json()["status"] == "error"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_it_answers_an_unknown_login_exactly_as_a_wrong_password(caller, alice):
    wrong_password = log_in(caller, "alice", password="not-the-password")
    unknown_login = log_in(caller, "nobody")

    assert unknown_login.status_code == wrong_password.status_code == 401
    assert unknown_login.json() == wrong_password.json()


def test_it_refuses_a_deactivated_user_with_the_right_password(caller, alice):
    alice.is_active = False
    alice.save()

    response = log_in(caller, "alice")

    assert response.status_code == 401
    assert "data" not in response.json()


@pytest.mark.parametrize("missing", ["login", "password"])
def test_it_asks_for_both_login_and_password(caller, alice, missing):
    body = {"login": "alice", "password": PASSWORD}
    del body[missing]

    response = caller.post(LOGIN_URL, body, format="json")

    assert response.status_code == 400
    assert "data" not in response.json()
    assert missing in response.json()["errors"]


def test_it_logs_in_despite_a_stale_token_left_in_the_authorization_header(caller, alice):
    """A client that retries with an old token still in its headers must be able to log in again."""
    bearer(caller, "expired.or.garbage")

    response = log_in(caller, "alice")

    assert response.status_code == 200


# --- Refreshing a JWT --------------------------------------------------------------------------


def short_lived_token(user, issued_ago=timedelta(0), lifetime=timedelta(minutes=2)) -> str:
    """A real JWT for `user`, as the login endpoint would sign it, with a chosen expiry."""
    token = AccessToken.for_user(user)
    issued = timezone.now() - issued_ago
    token.set_iat(at_time=issued)
    token.set_exp(from_time=issued, lifetime=lifetime)
    return str(token)


@pytest.mark.parametrize("scheme", ["Bearer", "Bearer:"], ids=["bearer", "published-client-bearer-colon"])
def test_refresh_gives_a_new_working_token_with_a_later_expiry(caller, alice, scheme):
    old = short_lived_token(alice)

    response = bearer(caller, old, scheme).get(REFRESH_URL)

    assert response.status_code == 200, response.content
    new = response.json()["data"]["access_token"]
    assert new != old
    assert AccessToken(new)["exp"] > AccessToken(old)["exp"]
    me = bearer(APIClient(), new).get(ME_URL)
    assert me.status_code == 200
    assert me.json()["data"]["id"] == alice.id


def test_refresh_keeps_the_identity_of_the_token_it_refreshes(caller, alice, bob):
    response = bearer(caller, short_lived_token(bob)).get(REFRESH_URL)

    assert str(AccessToken(response.json()["data"]["access_token"])["user_id"]) == str(bob.id)


def test_refresh_refuses_anonymous_callers_with_401(caller):
    response = caller.get(REFRESH_URL)

    assert response.status_code == 401
    assert "data" not in response.json()


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_refresh_refuses_a_token_that_is_not_a_jwt_of_ours(caller, token):
    response = bearer(caller, token).get(REFRESH_URL)

    assert response.status_code == 401
    assert "data" not in response.json()


def test_refresh_refuses_a_jwt_signed_with_another_key(caller, alice):
    payload = AccessToken.for_user(alice).payload
    forged = jwt.encode(payload, "someone-elses-signing-key-of-good-length", algorithm="HS256")

    response = bearer(caller, forged).get(REFRESH_URL)

    assert response.status_code == 401


def test_refresh_refuses_an_expired_jwt(caller, alice):
    expired = short_lived_token(alice, issued_ago=timedelta(hours=2), lifetime=timedelta(hours=1))

    response = bearer(caller, expired).get(REFRESH_URL)

    assert response.status_code == 401


@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "read-write"])
def test_refresh_does_not_trade_a_personal_api_token_for_a_jwt(api, alice, read_only):
    """A JWT would outlive the API token's expiry and revocation, and carry no read-only flag."""
    created = api.as_user(alice).post("/api/v1/auth/tokens/", {"name": "ci", "read_only": read_only}, format="json")
    secret = created.json()["data"]["token"]

    response = bearer(APIClient(), secret).get(REFRESH_URL)

    assert response.status_code == 403
    assert "data" not in response.json()


# --- Deactivation --------------------------------------------------------------------------------


def test_a_deactivated_users_jwt_stops_working_at_once(caller, alice):
    token = log_in(caller, "alice").json()["data"]["access_token"]
    assert bearer(caller, token).get(ME_URL).status_code == 200

    alice.is_active = False
    alice.save()

    assert bearer(caller, token).get(ME_URL).status_code == 401
    assert bearer(caller, token).get(REFRESH_URL).status_code == 401


def test_a_user_deleted_through_the_api_loses_their_jwt_at_once(api, caller, alice, staff):
    token = log_in(caller, "alice").json()["data"]["access_token"]

    assert api.as_user(staff).delete(f"/api/v1/users/{alice.id}/").status_code == 200

    assert bearer(caller, token).get(ME_URL).status_code == 401
    assert bearer(caller, token).get(REFRESH_URL).status_code == 401


# --- Password changes ----------------------------------------------------------------------------

NEW_PASSWORD = "a-brand-new-passphrase-42"


def test_changing_the_password_cuts_off_the_jwts_issued_before(caller, alice):
    token = log_in(caller, "alice").json()["data"]["access_token"]
    other_session = log_in(APIClient(), "alice").json()["data"]["access_token"]

    response = bearer(caller, token).patch(
        f"/api/v1/users/{alice.id}/", {"password": NEW_PASSWORD, "old_password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content

    for old in (token, other_session):
        assert bearer(caller, old).get(ME_URL).status_code == 401
        assert bearer(caller, old).get(REFRESH_URL).status_code == 401
    fresh = log_in(caller, "alice", NEW_PASSWORD).json()["data"]["access_token"]
    assert bearer(caller, fresh).get(ME_URL).status_code == 200


def test_a_staff_reset_of_a_password_cuts_off_that_users_jwts_only(api, caller, alice, bob, staff):
    alices = log_in(caller, "alice").json()["data"]["access_token"]
    bobs = log_in(APIClient(), "bob").json()["data"]["access_token"]

    assert api.as_user(staff).patch(f"/api/v1/users/{alice.id}/", {"password": NEW_PASSWORD}).status_code == 200

    assert bearer(caller, alices).get(ME_URL).status_code == 401
    assert bearer(caller, bobs).get(ME_URL).status_code == 200


def test_a_refreshed_token_keeps_working_while_the_password_stays(caller, alice):
    token = log_in(caller, "alice").json()["data"]["access_token"]
    fresh = bearer(caller, token).get(REFRESH_URL).json()["data"]["access_token"]

    assert bearer(caller, fresh).get(ME_URL).status_code == 200


# --- Throttling ----------------------------------------------------------------------------------


def test_it_throttles_repeated_attempts_for_one_login_from_any_address(caller, alice, login_rates):
    for attempt in range(login_rates["per_login"]):
        assert log_in(caller, "alice", "guess", address=f"10.0.0.{attempt}").status_code == 401

    response = log_in(caller, "alice", address="10.0.0.99")

    assert response.status_code == 429
    assert "data" not in response.json()
    assert int(response.headers["Retry-After"]) > 0


def test_a_throttled_login_refuses_even_the_right_password(caller, alice, login_rates):
    for attempt in range(login_rates["per_login"]):
        log_in(caller, "alice", "guess", address=f"10.0.0.{attempt}")

    assert log_in(caller, "alice", address="10.0.1.1").status_code == 429


def test_a_throttled_login_does_not_lock_out_other_logins(caller, alice, bob, login_rates):
    for attempt in range(login_rates["per_login"]):
        log_in(caller, "alice", "guess", address=f"10.0.0.{attempt}")

    assert log_in(caller, "bob", address="10.0.2.1").status_code == 200


def test_it_counts_one_login_whatever_its_case_and_surrounding_spaces(caller, alice, login_rates):
    spellings = ["alice", "ALICE", " Alice ", "aLiCe"]
    for attempt in range(login_rates["per_login"]):
        log_in(caller, spellings[attempt % len(spellings)], "guess", address=f"10.0.0.{attempt}")

    assert log_in(caller, "alice", address="10.0.3.1").status_code == 429


def test_successful_logins_do_not_count_toward_the_per_login_limit(caller, alice, login_rates):
    # A sweep of jobs signing in as one user at once; each from its own address here, so the
    # per-address limit (which counts every attempt) stays out of the way.
    for attempt in range(login_rates["per_login"] * 3):
        assert log_in(caller, "alice", address=f"10.0.4.{attempt}").status_code == 200

    for attempt in range(login_rates["per_login"]):
        assert log_in(caller, "alice", "guess", address=f"10.0.5.{attempt}").status_code == 401
    assert log_in(caller, "alice", address="10.0.6.1").status_code == 429


def test_a_missing_password_is_not_counted_as_a_guess(caller, alice, login_rates):
    for attempt in range(login_rates["per_login"] * 2):
        response = caller.post(LOGIN_URL, {"login": "alice"}, format="json", REMOTE_ADDR=f"10.0.7.{attempt}")
        assert response.status_code == 400

    assert log_in(caller, "alice", address="10.0.8.1").status_code == 200


def test_it_throttles_one_address_trying_many_logins(caller, alice, login_rates):
    for attempt in range(login_rates["per_address"]):
        assert log_in(caller, f"user{attempt}", "guess", address="10.9.9.9").status_code == 401

    response = log_in(caller, "alice", address="10.9.9.9")

    assert response.status_code == 429
    assert "data" not in response.json()


def test_a_throttled_address_does_not_block_other_addresses(caller, alice, login_rates):
    for attempt in range(login_rates["per_address"]):
        log_in(caller, f"user{attempt}", "guess", address="10.9.9.9")

    assert log_in(caller, "alice", address="10.9.9.10").status_code == 200


def test_a_forged_x_forwarded_for_header_does_not_escape_the_address_limit(caller, alice, login_rates):
    for attempt in range(login_rates["per_address"]):
        caller.post(
            LOGIN_URL,
            {"login": f"user{attempt}", "password": "guess"},
            format="json",
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}",
        )

    response = caller.post(
        LOGIN_URL,
        {"login": "alice", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )

    assert response.status_code == 429


def test_the_configured_default_rate_per_login_is_enforced(caller, db):
    """No override here: the rate is the one settings.py reads from the environment."""
    allowed, _ = LoginNameThrottle().parse_rate(LoginNameThrottle().get_rate())
    make_user("alice")

    for attempt in range(allowed):
        assert log_in(caller, "alice", "guess", address=f"10.0.0.{attempt}").status_code == 401

    assert log_in(caller, "alice", address="10.0.1.1").status_code == 429


def test_the_configured_default_rate_per_address_is_enforced(caller, db):
    allowed, _ = LoginIPThrottle().parse_rate(LoginIPThrottle().get_rate())
    make_user("alice")

    for attempt in range(allowed):
        assert log_in(caller, f"user{attempt}", "guess", address="10.9.9.9").status_code == 401

    assert log_in(caller, "alice", address="10.9.9.9").status_code == 429


# --- How the limits count over time ---------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """The throttles' clock, at the start of a period and moved by hand: `clock.now += 30`."""
    from accounts.api import throttles

    class Clock:
        now = 6_000_000.0  # a multiple of the 60 s period: the start of a window

    monkeypatch.setattr(throttles.CountingThrottle, "timer", lambda self: Clock.now)
    return Clock


def test_failures_of_the_last_period_still_weigh_as_it_slides_past(caller, alice, login_rates, clock):
    for _ in range(3):
        assert log_in(caller, "alice", "guess").status_code == 401
    clock.now += 60  # the next window: the three failures count in full at its start...
    assert log_in(caller, "alice").status_code == 429
    clock.now += 20  # ...and by two thirds a third of the way in: 2 + this one is the limit
    assert log_in(caller, "alice", "guess").status_code == 401
    assert log_in(caller, "alice").status_code == 429
    clock.now += 100  # two periods after the first failures
    assert log_in(caller, "alice").status_code == 200


def test_retry_after_says_when_an_attempt_will_be_allowed(caller, alice, login_rates, clock):
    for _ in range(3):
        log_in(caller, "alice", "guess")
    clock.now += 15

    refused = log_in(caller, "alice")
    assert refused.status_code == 429
    # Three failures this window: the count falls to two 20 s into the next one, 65 s from now.
    assert int(refused.headers["Retry-After"]) == 65
    clock.now += 64
    assert log_in(caller, "alice").status_code == 429
    clock.now += 1
    assert log_in(caller, "alice").status_code == 200


def test_refused_attempts_do_not_count_so_a_lock_ends_on_time(caller, alice, login_rates, clock):
    for _ in range(3):
        log_in(caller, "alice", "guess")
    for attempt in range(19):  # hammering the locked login (from many addresses) into the next window
        clock.now += 4
        assert log_in(caller, "alice", "guess", address=f"10.1.1.{attempt}").status_code == 429
    clock.now += 4  # 80 s in, when the three failures weigh two: the lock ends as if no one had tried
    assert log_in(caller, "alice").status_code == 200


def test_the_counters_are_kept_per_window_in_the_shared_cache(caller, alice, login_rates, clock):
    from django.core.cache import caches

    cache = caches["throttle"]

    log_in(caller, "alice", "guess")
    login_key = LoginNameThrottle().cache_format % {
        "scope": "login_user",
        "ident": hashlib.sha256(b"alice").hexdigest(),
    }
    assert cache.get(f"{login_key}:{int(clock.now // 60)}") == 1
    log_in(caller, "alice")  # a success gives its place back
    assert cache.get(f"{login_key}:{int(clock.now // 60)}") == 1


@pytest.mark.parametrize("path", [LOGIN_URL, "/api/v1/auth/ssh/challenge/", "/api/v1/auth/ssh/login/"])
@pytest.mark.parametrize("body", ["[]", '"x"', "1", "null", '[{"login": "alice"}]'])
def test_a_json_body_that_is_not_an_object_is_a_400(caller, alice, path, body):
    response = caller.post(path, body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()["status"] == "error" and "data" not in response.json()
