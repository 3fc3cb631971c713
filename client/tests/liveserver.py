"""Starting this repository's Maisie server for the client's tests and benchmark.

The server's checkout is this repository (found relative to this file) unless
`$MAISIE_TEST_SERVER_ROOT` names another; its Python is `$MAISIE_TEST_SERVER_PYTHON`, else
the checkout's `.venv`, else the one running. Data goes to a temporary folder with SQLite, or
to the PostgreSQL database `$MAISIE_TEST_SERVER_DATABASE_URL` names, which must be new and empty:

    dropdb --if-exists -h 127.0.0.1 -U postgres maisie_client && createdb -h 127.0.0.1 -U postgres maisie_client
    MAISIE_TEST_SERVER_DATABASE_URL=postgres://postgres@127.0.0.1:5432/maisie_client .venv/bin/pytest client/tests
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
# Servers are started by the repository's one module for it (standard library only).
sys.path.append(str(REPO_ROOT))
from maisie_site.live_servers import ServerError, ServerProcess, free_port, launch  # noqa: E402, F401 (free_port: for conftest)

SERVER_ROOT = Path(os.environ.get("MAISIE_TEST_SERVER_ROOT") or REPO_ROOT)
# Read at import, before each test's `isolated` fixture removes the MAISIE_* variables.
DATABASE_URL = os.environ.get("MAISIE_TEST_SERVER_DATABASE_URL", "")
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin-Pass-4821"
STARTUP_SECONDS = 90

# Only a speed knob: password hashing at production strength costs seconds per sign-in here.
TEST_SETTINGS = """\
from maisie_site.settings import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
"""


def server_python() -> str:
    explicit = os.environ.get("MAISIE_TEST_SERVER_PYTHON")
    if explicit:
        return explicit
    for root in (SERVER_ROOT, REPO_ROOT):
        venv = root / ".venv" / "bin" / "python"
        if venv.exists():
            return str(venv)
    return sys.executable


@dataclass
class Server:
    """A running server and an admin session for setting things up."""

    url: str
    log: Path
    process: ServerProcess
    admin: requests.Session = field(default_factory=requests.Session)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    def call(self, method: str, path: str, session: requests.Session | None = None, **kwargs):
        """An API call as admin (or with `session`); returns the `data`, asserting success."""
        response = (session or self.admin).request(method, f"{self.api_url}/{path}", timeout=60, **kwargs)
        assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json().get("data")

    def stop(self) -> None:
        self.process.stop()


def server_env(data_dir: Path) -> dict[str, str]:
    settings_dir = data_dir / "settings"
    settings_dir.mkdir(parents=True, exist_ok=True)
    (settings_dir / "maisie_client_test_settings.py").write_text(TEST_SETTINGS)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAISIE_", "DJANGO_", "_MAISIE")) and key != "DATABASE_URL"
    }
    env.update(
        {
            "MAISIE_DATA_DIR": str(data_dir),
            "DJANGO_DEBUG": "true",
            "MAISIE_LOGIN_RATE_PER_IP": "100000/min",
            "MAISIE_LOGIN_RATE_PER_LOGIN": "100000/min",
            # Upload sessions cut blobs into parts of this size: the smallest allowed, so a test's
            # blob of a few MiB has several parts (a kill between them, a resume).
            "MAISIE_UPLOAD_PART_BYTES": str(5 * 1024 * 1024),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "maisie_client_test_settings",
            **({"DATABASE_URL": DATABASE_URL} if DATABASE_URL else {}),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(settings_dir), os.environ.get("PYTHONPATH")])),
        }
    )
    return env


def start_server(data_dir: Path) -> Server:
    """Migrate a fresh database, create the staff user `admin` and start the server on a free port."""
    env = server_env(data_dir)
    manage = [server_python(), "manage.py"]
    steps = [
        (["migrate", "--noinput", "-v", "0"], {}),
        (
            ["createsuperuser", "--noinput", "--login", ADMIN_LOGIN, "--email", "admin@example.com"],
            {"DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD},
        ),
    ]
    for args, extra in steps:
        done = subprocess.run(
            manage + args, cwd=SERVER_ROOT, env={**env, **extra}, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise ServerError(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")

    log = data_dir / "server.log"
    process = launch(
        "runserver",
        lambda port: ([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env),
        log,
        "/api/v1/",
        cwd=SERVER_ROOT,
        timeout=STARTUP_SECONDS,
    )
    url = process.url
    server = Server(url=url, log=log, process=process)
    token = server.call("POST", "auth/login/", json={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD})
    server.admin.headers["Authorization"] = f"Bearer {token['access_token']}"
    return server
