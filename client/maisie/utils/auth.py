"""Signing in: API tokens, passwords and SSH keys, with tokens refreshed before they expire."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import requests

from maisie.errors import AuthenticationError, MaisieError, NotFound
from maisie.utils import http, ssh

logger = logging.getLogger(__name__)

#: the documented order in which sign-in channels are tried
DEFAULT_CHANNELS = ("ssh_key", "app_token", "password")


class AuthManager:
    """Gets and keeps a bearer token for one user of one server.

    Channels are tried in the order given to :meth:`perform_auth` (by default SSH key, then
    API token, then password); channels without credentials are skipped and a refused one
    falls through to the next. A JWT from a password or SSH-key sign-in is refreshed shortly
    before it expires, or signed in anew if refreshing fails; an API token is used as it is.

    :param api_url: the API root, e.g. ``https://maisie.example.com/api/v1``
    :param login: the user's login (needed for password and SSH-key sign-in)
    :param password: the user's password
    :param app_token: a personal API token (``mai_…``), as made by ``maisie login``
    :param ssh_key: path to an OpenSSH private key whose public key is registered on the server
    :param enforce_ssh: sign in with the SSH key only
    :param ssh_key_passphrase: the passphrase of an encrypted SSH key
    :param session: the HTTP session to use (one is made if not given)
    """

    def __init__(
        self,
        api_url: str,
        login: str | None,
        password: str | None = None,
        app_token: str | None = None,
        ssh_key: str | None = None,
        enforce_ssh: bool = False,
        *,
        ssh_key_passphrase: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.api_url = http.api_base(api_url)
        self.login = login
        self.password = password
        self.app_token = app_token
        self.ssh_key = ssh_key
        self.enforce_ssh = enforce_ssh
        self.ssh_key_passphrase = ssh_key_passphrase
        self.session = session or http.make_session()
        #: the channel that gave the current token: "ssh_key", "app_token" or "password"
        self.channel: str | None = None
        #: the signed-in user as the server describes it (`id`, `login`, ...)
        self.user: dict[str, Any] | None = None
        self.__access_token: str | None = None
        self.__expires_at: float | None = None  # time.monotonic() deadline; None for API tokens
        self.__lifetime: float = 0.0
        if not (password or app_token or ssh_key):
            raise AuthenticationError(
                "Not signed in: run `maisie login`, or set MAISIE_AUTH_APP_TOKEN "
                "(or MAISIE_AUTH_USER_LOGIN with MAISIE_AUTH_USER_PASSWORD or MAISIE_AUTH_SSH_KEY)."
            )

    # --- state -------------------------------------------------------------------------------

    @property
    def user_id(self) -> int | None:
        """The id of the signed-in user (signs in if needed)."""
        if self.user is None:
            self.retrieve_token()
        if self.user is None or "id" not in self.user:
            self.user = self._me(self.token)
        return self.user.get("id")

    @property
    def logged_in(self) -> bool:
        """Whether a token that is still valid is held."""
        return self.__access_token is not None and self.token_active

    @property
    def token_active(self) -> bool:
        """Whether the held token is far enough from its expiry to be used as it is."""
        if self.__access_token is None:
            return False
        if self.__expires_at is None:
            return True
        margin = max(5.0, min(60.0, self.__lifetime * 0.1))
        return time.monotonic() < self.__expires_at - margin

    @property
    def token(self) -> str:
        """A usable bearer token: signs in, or refreshes the JWT, when needed."""
        if self.__access_token is None:
            self.retrieve_token()
        elif not self.token_active:
            try:
                self.refresh_token(self.__access_token)
            except AuthenticationError:
                logger.debug("Refreshing the token failed; signing in again")
                self.invalidate()
                self.retrieve_token()
        assert self.__access_token is not None
        return self.__access_token

    def invalidate(self) -> None:
        """Forget the held token, e.g. after the server refused it; the next use signs in again."""
        self.__access_token = None
        self.__expires_at = None

    def _set_token(self, token: str, valid_for: float | None, channel: str | None = None) -> None:
        self.__access_token = token
        self.__lifetime = float(valid_for or 0)
        self.__expires_at = time.monotonic() + self.__lifetime if valid_for else None
        if channel:
            self.channel = channel

    # --- signing in --------------------------------------------------------------------------

    def perform_auth(self, channels: Sequence[str] = DEFAULT_CHANNELS) -> None:
        """Sign in through the first channel, in order, that has credentials and is accepted.

        :param channels: names among ``"ssh_key"``, ``"app_token"``, ``"password"``
        :raises AuthenticationError: when no channel succeeded; the message lists why each failed
        """
        if self.enforce_ssh:
            channels = ("ssh_key",)
        available = {"ssh_key": self.ssh_key, "app_token": self.app_token, "password": self.password}
        failures: list[str] = []
        for channel in channels:
            if channel not in available:
                raise ValueError(f"unknown sign-in channel {channel!r}")
            if not available[channel]:
                continue
            try:
                getattr(self, f"_auth_via_{channel}")()
            except (AuthenticationError, NotFound) as exc:
                # NotFound: a server without this sign-in method; try the next one.
                failures.append(f"{channel.replace('_', ' ')}: {exc.message}")
                logger.debug("Sign-in via %s failed: %s", channel, exc.message)
                continue
            logger.debug("Signed in via %s", channel)
            return
        if not failures:
            wanted = " or ".join(c.replace("_", " ") for c in channels)
            raise AuthenticationError(f"No credentials for signing in (needs {wanted}).")
        raise AuthenticationError("Sign-in failed. " + "; ".join(failures))

    def retrieve_token(self) -> None:
        """Get a token through the available sign-in channels."""
        self.perform_auth()

    def refresh_token(self, old_token: str) -> str:
        """Exchange a JWT that is still valid for a fresh one (``GET /auth/token/``).

        :param old_token: the current JWT
        :returns: the refreshed JWT, also kept as the current token
        :raises AuthenticationError: when the server refuses the old token
        """
        if self.channel == "app_token":
            return old_token
        response = http.send(
            self.session, "GET", f"{self.api_url}/auth/token/", headers={"Authorization": f"Bearer {old_token}"}
        )
        data = http.decode(response)
        self._set_token(data["access_token"], data.get("valid_for") or self.__lifetime)
        return data["access_token"]

    def _post(self, path: str, **kwargs: Any) -> Any:
        response = http.send(self.session, "POST", f"{self.api_url}/{path}", **kwargs)
        if response.status_code == 400:  # wrong or missing fields of a sign-in form mean "not signed in"
            try:
                body = response.json()
            except ValueError:
                body = {}
            message = body.get("message", "Invalid input.") if isinstance(body, dict) else "Invalid input."
            raise AuthenticationError(
                message, status=400, errors=body.get("errors") if isinstance(body, dict) else None
            )
        return http.decode(response, path)

    def _signed_in(self, data: dict, channel: str) -> None:
        self._set_token(data["access_token"], data.get("valid_for"), channel)
        self.user = data.get("user") or None

    def _auth_via_password(self) -> None:
        if not self.login:
            raise AuthenticationError("a login is needed with the password (MAISIE_AUTH_USER_LOGIN)")
        # JSON, not form fields: a password may hold characters form encoding would mangle.
        data = self._post("auth/login/", json={"login": self.login, "password": self.password})
        self._signed_in(data, "password")

    def _auth_via_app_token(self) -> None:
        self.user = self._me(self.app_token)
        self._set_token(self.app_token, None, "app_token")

    def _auth_via_ssh_key(self) -> None:
        if not self.login:
            raise AuthenticationError("a login is needed with the SSH key (MAISIE_AUTH_USER_LOGIN)")
        try:
            key = ssh.load_private_key(self.ssh_key, self.ssh_key_passphrase)
        except (OSError, ValueError) as exc:
            raise AuthenticationError(f"cannot use the key {self.ssh_key}: {exc}") from exc
        challenge = self._post("auth/ssh/challenge/", json={"login": self.login})["challenge"]
        signature = ssh.sign_challenge(key, self.login, challenge)
        data = self._post("auth/ssh/login/", json={"login": self.login, "challenge": challenge, "signature": signature})
        self._signed_in(data, "ssh_key")

    def _me(self, token: str) -> dict:
        """The user a token belongs to (``GET /users/me/``); checks that the token is accepted."""
        response = http.send(
            self.session, "GET", f"{self.api_url}/users/me/", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            return http.decode(response, "users/me")
        except MaisieError as exc:
            if exc.status == 401:
                raise AuthenticationError(exc.message, status=401) from exc
            raise
