"""Signing in through each channel, in order; refreshing; retrying an unreachable server."""

import time

import pytest
import requests
from maisie import Config, Models, Users
from maisie.errors import AuthenticationError, ConnectionFailed
from maisie.utils import http
from maisie.utils.auth import AuthManager

from tests.conftest import Relay, free_port


def test_a_password_gives_a_token_and_the_user(server, shared_account):
    auth = AuthManager(server.api_url, shared_account.login, password=shared_account.password)
    assert not auth.logged_in
    token = auth.token
    assert token.count(".") == 2  # a JWT
    assert auth.logged_in
    assert auth.channel == "password"
    assert auth.user_id == shared_account.id


def test_a_wrong_password_is_refused_with_the_servers_message(server, shared_account):
    auth = AuthManager(server.api_url, shared_account.login, password="wrong")
    with pytest.raises(AuthenticationError, match="Wrong login or password"):
        auth.perform_auth()


def test_no_credentials_at_all_is_an_authentication_error(server):
    with pytest.raises(AuthenticationError, match="maisie login"):
        AuthManager(server.api_url, "someone")


def test_an_api_token_is_used_as_it_is(server, shared_account):
    auth = AuthManager(server.api_url, None, app_token=shared_account.token)
    assert auth.token == shared_account.token
    assert auth.channel == "app_token"
    assert auth.user_id == shared_account.id


def test_a_revoked_api_token_falls_through_to_the_password(server, account):
    tokens = server.call("GET", "auth/tokens/", session=account.session)
    server.call("DELETE", f"auth/tokens/{tokens[0]['id']}/", session=account.session)
    auth = AuthManager(server.api_url, account.login, password=account.password, app_token=account.token)
    assert auth.token != account.token
    assert auth.channel == "password"


def test_when_every_channel_fails_the_error_says_why_for_each(server, account):
    auth = AuthManager(server.api_url, account.login, password="nope", app_token="mai_dead_beef")
    with pytest.raises(AuthenticationError) as caught:
        auth.perform_auth()
    assert "app token: Invalid, expired or revoked API token" in str(caught.value)
    assert "password: Wrong login or password" in str(caught.value)


def test_an_expiring_token_is_refreshed_transparently(server, shared_account):
    config = Config(
        dictionary={**shared_account.settings, "auth_app_token": None, "auth_user_password": shared_account.password}
    )
    models = Models(config)
    models.get_all()
    auth = config.auth
    first = auth.token
    auth._AuthManager__expires_at = time.monotonic() - 1  # as if an hour had passed
    assert not auth.token_active
    models.get_all()
    assert auth.token != first
    assert auth.token_active
    assert auth.channel == "password"


def test_a_refused_token_is_replaced_and_the_request_repeated(server, shared_account):
    config = Config(
        dictionary={**shared_account.settings, "auth_app_token": None, "auth_user_password": shared_account.password}
    )
    users = Users(config)
    assert users.me()["login"] == shared_account.login
    config.auth._set_token("not-a-jwt", 3600)  # e.g. a server whose signing key changed
    assert users.me()["login"] == shared_account.login
    assert config.auth.token != "not-a-jwt"


def test_a_refresh_the_server_refuses_signs_in_again(server, shared_account):
    auth = AuthManager(server.api_url, shared_account.login, password=shared_account.password)
    assert auth.token
    auth._set_token("expired.jwt.token", 3600)
    auth._AuthManager__expires_at = time.monotonic() - 1
    fresh = auth.token
    assert fresh != "expired.jwt.token"
    assert requests.get(f"{server.api_url}/users/me/", headers={"Authorization": f"Bearer {fresh}"}).ok


def test_an_unreachable_server_is_retried_with_backoff_then_reported(monkeypatch):
    delays = []
    monkeypatch.setattr(time, "sleep", delays.append)
    closed = f"http://127.0.0.1:{free_port()}/api/v1"
    auth = AuthManager(closed, "x", password="y")
    with pytest.raises(ConnectionFailed, match="connection refused"):
        auth.perform_auth()
    assert len(delays) == http.ATTEMPTS - 1
    assert delays == sorted(delays) and delays[-1] > delays[0]  # growing waits


def test_a_server_that_comes_up_late_is_reached(server, shared_account, monkeypatch):
    """The first attempts find nothing listening; a later one reaches the server."""
    monkeypatch.setattr(http, "BACKOFF_SECONDS", 0.2)
    with Relay(server.url, delay=0.4) as relay:
        config = Config(dictionary={**shared_account.settings, "api_url": f"{relay.url}/api/v1"})
        assert Users(config).me()["login"] == shared_account.login
        assert relay.connections >= 1
