"""A live Maisie server for the client's tests, over real HTTP, and the accounts and folders they use.

The server is started once per test session (see `liveserver.py`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.liveserver import Server, ServerError, free_port, start_server

PASSWORD = "user-Pass-7305"


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    """The live server, with a staff user `admin`."""
    try:
        live = start_server(tmp_path_factory.mktemp("server-data"))
    except ServerError as exc:
        pytest.fail(str(exc))
    try:
        yield live
    finally:
        live.stop()


_numbers = itertools.count(1)


@dataclass
class Account:
    """A user with a workspace, a project in it and a personal API token."""

    server: Server
    id: int
    login: str
    password: str
    token: str
    workspace_id: int
    project_id: int

    @property
    def settings(self) -> dict:
        """Client settings that sign in with the API token, with the project selected."""
        return {
            "api_url": self.server.api_url,
            "auth_user_login": self.login,
            "auth_app_token": self.token,
            "selected_project": self.project_id,
            "selected_workspace": self.workspace_id,
        }

    @property
    def env(self) -> dict:
        """Environment variables that sign the `maisie` command in as this account."""
        return {
            "MAISIE_API_URL": self.server.api_url,
            "MAISIE_AUTH_USER_LOGIN": self.login,
            "MAISIE_AUTH_APP_TOKEN": self.token,
        }

    @property
    def workspace_name(self) -> str:
        return f"{self.login} space"

    def ref(self, name: str, suffix: str = "") -> str:
        """A reference to model `name` in this account's project: `<ws>/resnets/<name><suffix>`."""
        return f"{self.workspace_name}/resnets/{name}{suffix}"

    @property
    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session


def make_account(server: Server, prefix: str = "user") -> Account:
    login = f"{prefix}{next(_numbers)}x{os.getpid()}"
    user = server.call(
        "POST",
        "users/",
        json={"login": login, "password": PASSWORD, "full_name": login.title(), "email": f"{login}@example.com"},
    )
    jwt = server.call("POST", "auth/login/", json={"login": login, "password": PASSWORD})["access_token"]
    as_user = requests.Session()
    as_user.headers["Authorization"] = f"Bearer {jwt}"
    token = server.call("POST", "auth/tokens/", session=as_user, json={"name": "tests"})["token"]
    workspace = server.call("POST", "workspaces/", session=as_user, json={"name": f"{login} space"})
    project = server.call(
        "POST",
        "projects/",
        session=as_user,
        json={"name": "resnets", "workspace_id": workspace["id"], "git_url": "https://example.com/r.git"},
    )
    return Account(server, user["id"], login, PASSWORD, token, workspace["id"], project["id"])


@pytest.fixture(scope="session")
def shared_account(server) -> Account:
    """One account for tests that only add their own objects."""
    return make_account(server, "shared")


@pytest.fixture
def account(server) -> Account:
    """A fresh account for one test."""
    return make_account(server)


@pytest.fixture
def signed_in(shared_account):
    """The user configuration of `shared_account`, as `maisie login` would leave it, plus a project."""
    from maisie.core import user_config_path, write_settings

    write_settings(
        user_config_path(),
        {
            "api_url": shared_account.server.api_url,
            "auth_user_login": shared_account.login,
            "auth_app_token": shared_account.token,
            "selected_project": shared_account.project_id,
            "selected_workspace": shared_account.workspace_id,
        },
    )
    return shared_account


@dataclass
class Team:
    """A workspace owner with a project of their own, and a member of that workspace."""

    owner: Account
    member: Account

    def rule(self, **fields) -> dict:
        """An alias rule of the owner's project, as the owner creates it."""
        return self.owner.server.call(
            "POST", f"projects/{self.owner.project_id}/alias-rules/", session=self.owner.session, json=fields
        )


@pytest.fixture
def team(server, account) -> Team:
    """A fresh owner with a project, and a fresh member of its workspace."""
    member = make_account(server, "member")
    server.call(
        "POST",
        f"workspaces/{account.workspace_id}/members/",
        session=account.session,
        json={"user_id": member.id, "role": "member"},
    )
    return Team(owner=account, member=member)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Path:
    """Each test runs in its own working folder, with its own user configuration folder and no
    MAISIE_* variables from outside; retries wait only briefly."""
    for key in list(os.environ):
        if key.startswith("MAISIE_") or key.startswith("_MAISIE"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.chdir(work)
    from maisie.core import Config
    from maisie.utils import http

    monkeypatch.setattr(http, "BACKOFF_SECONDS", 0.01)
    monkeypatch.setattr(Config, "_latest", None)
    return work


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def git_repo(tmp_path) -> Path:
    """A real repository on branch `experiment` with one commit and an `origin` whose URL holds credentials."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "experiment")
    git(repo, "config", "user.email", "ml@example.com")
    git(repo, "config", "user.name", "ML")
    (repo / "train.py").write_text("print('training')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "remote", "add", "origin", "https://bot:s3cret@git.example.com/acme/resnets.git")
    return repo


def maisie_script() -> str:
    """The installed `maisie` console script next to the running Python."""
    script = Path(sys.executable).parent / "maisie"
    return str(script) if script.exists() else (shutil.which("maisie") or "maisie")


def run_cli(*args: str, input: str | None = None, env: dict | None = None, script: str | None = None):
    """Run the installed `maisie` command; returns the CompletedProcess (text)."""
    return subprocess.run(
        [script or maisie_script(), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


class _Pipe(socketserver.BaseRequestHandler):
    """Relays one client connection to the upstream server, maybe cutting the answer short."""

    def handle(self):
        relay: Relay = self.server.relay
        relay.connections += 1
        with socket.create_connection(relay.upstream) as upstream:
            ends = [self.request, upstream]

            def close_both():
                for sock in ends:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

            def downstream():
                try:
                    while chunk := upstream.recv(65536):
                        if relay.cut_after is not None and not relay.cut_done:
                            relay.sent += len(chunk)
                            if relay.sent > relay.cut_after:
                                relay.cut_done = True
                                self.request.sendall(chunk[: max(len(chunk) - (relay.sent - relay.cut_after), 0)])
                                break
                        self.request.sendall(chunk)
                except OSError:
                    pass
                finally:
                    close_both()

            back = threading.Thread(target=downstream, daemon=True)
            back.start()
            try:
                while chunk := self.request.recv(65536):
                    relay.uploaded += len(chunk)
                    if relay.rate:
                        time.sleep(len(chunk) / relay.rate)
                    upstream.sendall(chunk)
            except OSError:
                pass
            finally:
                close_both()
            back.join(10)


class Relay:
    """A TCP relay in front of the live server, for failures that need a network in between.

    :param delay: seconds before it starts listening (a server that comes up late)
    :param cut_after: drop the connection once this many answer bytes have passed, once
    :param rate: pass the client's bytes on at most this fast (bytes per second)

    :attr:`uploaded` counts the bytes the client sent (requests and their bodies).
    """

    def __init__(
        self, upstream_url: str, delay: float = 0.0, cut_after: int | None = None, rate: float | None = None
    ) -> None:
        host, port = upstream_url.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cut_after, self.cut_done, self.sent = cut_after, False, 0
        self.connections = 0
        self.rate, self.uploaded = rate, 0
        self._server = None
        self._timer = threading.Timer(delay, self._start)

    def __enter__(self) -> Relay:
        if self._timer.interval:
            self._timer.start()
        else:
            self._start()
        return self

    def _start(self) -> None:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), _Pipe, bind_and_activate=False)
        server.allow_reuse_address = True
        server.daemon_threads = True
        server.server_bind()
        server.server_activate()
        server.relay = self
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
