"""Web UI: sign in and out, password change, and the account page (profile, API tokens, SSH keys)."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, SshPublicKey
from accounts.tests.test_api_ssh import openssh
from conftest import PASSWORD, make_user


def as_user(client, user):
    client.force_login(user)
    return client


class TestSignIn:
    def test_the_page_is_styled_and_carries_a_csrf_token(self, client):
        response = client.get("/accounts/login/")
        assert response.status_code == 200
        assert b"csrfmiddlewaretoken" in response.content and b"/static/maisie/app.css" in response.content

    def test_it_signs_in_and_goes_where_it_was_asked(self, client, alice):
        response = client.post(
            "/accounts/login/?next=/models/", {"username": "alice", "password": PASSWORD, "next": "/models/"}
        )
        assert response.status_code == 302 and response["Location"] == "/models/"
        assert client.get("/").status_code == 200

    def test_it_goes_to_the_dashboard_by_default(self, client, alice):
        response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert response["Location"] == "/"

    def test_it_never_redirects_to_another_host(self, client, alice):
        response = client.post(
            "/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"}
        )
        assert response["Location"] == "/"

    def test_a_wrong_password_is_refused(self, client, alice):
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200 and b"correct login and password" in response.content

    def test_a_deactivated_user_cannot_sign_in(self, client, db):
        make_user("gone", is_active=False)
        response = client.post("/accounts/login/", {"username": "gone", "password": PASSWORD})
        assert response.status_code == 200 and "_auth_user_id" not in client.session

    def test_attempts_are_limited_like_the_api_login(self, client, alice, settings):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_user": "3/min"},
        }
        for _ in range(3):
            client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert response.status_code == 429 and b"Too many sign-in attempts" in response.content
        assert "_auth_user_id" not in client.session

    def test_only_failed_attempts_count_toward_the_limit(self, client, alice, settings):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_user": "3/min"},
        }
        for _ in range(5):
            response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
            assert response.status_code == 302
            client.post("/accounts/logout/")
        for _ in range(3):
            assert client.post("/accounts/login/", {"username": "alice", "password": "wrong"}).status_code == 200
        assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 429

    def test_signing_out_takes_a_post(self, client, alice):
        as_user(client, alice)
        assert client.get("/accounts/logout/").status_code == 405
        response = client.post("/accounts/logout/")
        assert response.status_code == 302 and response["Location"] == "/accounts/login/"
        assert client.get("/").status_code == 302


class TestPasswordChange:
    def test_it_sends_anonymous_visitors_to_sign_in(self, client):
        assert client.get("/accounts/password_change/").status_code == 302

    def test_it_changes_the_password_and_keeps_the_session(self, client, alice):
        response = as_user(client, alice).post(
            "/accounts/password_change/",
            {"old_password": PASSWORD, "new_password1": "a-new-long-phrase", "new_password2": "a-new-long-phrase"},
        )
        assert response.status_code == 302 and response["Location"] == "/accounts/password_change/done/"
        alice.refresh_from_db()
        assert alice.check_password("a-new-long-phrase")
        assert client.get("/accounts/password_change/done/").status_code == 200

    def test_it_wants_the_old_password(self, client, alice):
        response = as_user(client, alice).post(
            "/accounts/password_change/",
            {"old_password": "nope", "new_password1": "a-new-long-phrase", "new_password2": "a-new-long-phrase"},
        )
        assert response.status_code == 200 and b"incorrectly" in response.content


class TestProfile:
    def test_it_sends_anonymous_visitors_to_sign_in(self, client):
        response = client.get("/account/")
        assert response.status_code == 302 and response["Location"] == f"{reverse('accounts:login')}?next=/account/"

    def test_it_shows_the_profile(self, client, alice):
        response = as_user(client, alice).get("/account/")
        assert response.status_code == 200 and b'value="alice@example.com"' in response.content

    def test_it_saves_the_profile_through_the_service(self, client, alice):
        response = as_user(client, alice).post("/account/", {"full_name": "Alice Liddell", "email": "a@example.org"})
        assert response.status_code == 302
        alice.refresh_from_db()
        assert (alice.full_name, alice.email) == ("Alice Liddell", "a@example.org")

    def test_a_bad_email_is_an_error(self, client, alice):
        response = as_user(client, alice).post("/account/", {"full_name": "A", "email": "nope"})
        assert response.status_code == 400 and b"Enter a valid email address." in response.content


class TestApiTokens:
    def test_a_new_token_is_shown_once_and_works_on_the_api(self, client, alice):
        as_user(client, alice)
        response = client.post("/account/tokens/", {"name": "CI", "read_only": "on", "expires_in": "30"})
        assert response.status_code == 302
        page = client.get("/account/").content.decode()
        secret = page.split('<code id="new-token">')[1].split("</code>")[0]
        assert secret.startswith("mai_")
        assert secret not in client.get("/account/").content.decode()
        token = ApiToken.objects.get(user=alice)
        assert token.read_only and token.expires is not None and token.matches(secret)
        api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert api.get("/api/v1/workspaces/").status_code == 200

    def test_a_token_needs_a_name(self, client, alice):
        response = as_user(client, alice).post("/account/tokens/", {"name": ""})
        assert response.status_code == 400 and not ApiToken.objects.exists()

    def test_the_owner_revokes_a_token(self, client, alice):
        as_user(client, alice).post("/account/tokens/", {"name": "CI"})
        token = ApiToken.objects.get()
        assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
        assert not ApiToken.objects.exists()

    def test_nobody_else_can_revoke_it(self, client, alice, eve):
        as_user(client, alice).post("/account/tokens/", {"name": "CI"})
        token = ApiToken.objects.get()
        assert as_user(client, eve).post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
        assert ApiToken.objects.exists()

    def test_the_list_shows_prefixes_only(self, client, alice):
        as_user(client, alice).post("/account/tokens/", {"name": "CI"})
        client.get("/account/")  # the one view that shows the secret
        token = ApiToken.objects.get()
        page = client.get("/account/").content.decode()
        assert f"mai_{token.prefix}_…" in page and token.hashed_secret not in page


@pytest.fixture(scope="module")
def key_line():
    return openssh(ed25519.Ed25519PrivateKey.generate())


class TestSshKeys:
    def test_a_key_is_added_with_its_fingerprint(self, client, alice, key_line):
        response = as_user(client, alice).post("/account/ssh-keys/", {"name": "laptop", "public_key": key_line})
        assert response.status_code == 302
        key = SshPublicKey.objects.get(user=alice)
        assert key.key_type == "ssh-ed25519" and key.fingerprint in client.get("/account/").content.decode()

    def test_the_same_key_twice_is_refused(self, client, alice, key_line):
        as_user(client, alice).post("/account/ssh-keys/", {"name": "laptop", "public_key": key_line})
        response = client.post("/account/ssh-keys/", {"name": "again", "public_key": key_line})
        assert response.status_code == 400 and b"already registered this key" in response.content

    def test_what_is_not_a_key_is_refused(self, client, alice):
        response = as_user(client, alice).post("/account/ssh-keys/", {"name": "x", "public_key": "ssh-ed25519 AAAA"})
        assert response.status_code == 400 and not SshPublicKey.objects.exists()

    def test_the_owner_removes_a_key_and_nobody_else_can(self, client, alice, eve, key_line):
        as_user(client, alice).post("/account/ssh-keys/", {"name": "laptop", "public_key": key_line})
        key = SshPublicKey.objects.get()
        assert as_user(client, eve).post(f"/account/ssh-keys/{key.pk}/remove/").status_code == 404
        assert as_user(client, alice).post(f"/account/ssh-keys/{key.pk}/remove/").status_code == 302
        assert not SshPublicKey.objects.exists()

    def test_anonymous_visitors_cannot_add_keys(self, client, db, key_line):
        assert client.post("/account/ssh-keys/", {"name": "x", "public_key": key_line}).status_code == 302
        assert not SshPublicKey.objects.exists()
