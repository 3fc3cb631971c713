"""Backward-compatibility job: the published Maisie 0.1.6 client, unchanged, against this
checkout's server, started as deployed (gunicorn with gunicorn.conf.py, production settings) by
maisie_site/live_servers.py, the one place test servers come from.

    .venv/bin/python ci/compat.py       (what `bash ci/compat.sh` runs)

Env: COMPAT_VENV=DIR reuses (or creates and keeps) the old client's venv there, to save the
install on repeated local runs; by default it lives in the temporary folder and goes with it.
Exit 2: the job could not be set up (no venv, pip, migrate or a server that does not start).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from maisie_site.live_servers import ServerError, app_env, start_gunicorn  # noqa: E402

CLIENT_VERSION = "0.1.6"
TEST_LOGIN = "compat"
CLIENT_SECONDS = 300  # the old client sets no timeouts on its requests


class SetupError(RuntimeError):
    """The job could not be prepared; not a compatibility failure."""


def run(command: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise SetupError(f"compat: {what} failed:\n{done.stdout}{done.stderr}")
    return done


def old_client(work: Path) -> str:
    """The python of a venv holding the published client, installed when missing."""
    venv = Path(os.environ.get("COMPAT_VENV") or work / "client-venv")
    python = venv / "bin" / "python"
    if not python.exists() or subprocess.run([python, "-c", "import maisie"], capture_output=True).returncode:
        print(f"compat: installing Maisie=={CLIENT_VERSION} into {venv}", file=sys.stderr)
        run(["python3", "-m", "venv", str(venv)], "python3 -m venv")
        # 0.1.6 imports pkg_resources, which setuptools 81+ no longer ships.
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run([*pip, f"Maisie=={CLIENT_VERSION}", "setuptools<81"], "pip install")
    return str(python)


def prepare_database(env: dict[str, str], password: str) -> None:
    django = [sys.executable, "-m", "django"]
    run([*django, "migrate", "--noinput"], "migrate", cwd=REPO, env=env)
    # An admin first, so the test user's id is not 1: the old client sends user_id=1 with every
    # upload and the server must ignore it in favour of the authenticated user.
    admin = ["createsuperuser", "--noinput", "--login", "admin", "--email", "admin@example.invalid"]
    run([*django, *admin], "createsuperuser", cwd=REPO, env={**env, "DJANGO_SUPERUSER_PASSWORD": password})
    create = (
        "import os; from django.contrib.auth import get_user_model; get_user_model().objects.create_user("
        "os.environ['COMPAT_LOGIN'], os.environ['COMPAT_PASSWORD'], email='compat@example.invalid')"
    )
    run(
        [*django, "shell", "-c", create],
        "creating the test user",
        cwd=REPO,
        env={**env, "COMPAT_LOGIN": TEST_LOGIN, "COMPAT_PASSWORD": password},
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="maisie-compat.") as folder:
        work = Path(folder)
        password = secrets.token_urlsafe(18)
        env = app_env(
            data_dir=work / "data",
            database_url=f"sqlite:///{work / 'data' / 'db.sqlite3'}",
            secret_key=f"compat-{secrets.token_hex(24)}",
            DJANGO_SECURE_COOKIES="false",
        )
        try:
            client_python = old_client(work)
            prepare_database(env, password)
            server = start_gunicorn("compat", env, work, workers=2)
        except (SetupError, ServerError) as exc:
            print(exc, file=sys.stderr)
            return 2
        try:
            version = run([client_python, "-m", "pip", "show", "Maisie"], "pip show").stdout
            shown = next((line.split(": ", 1)[1] for line in version.splitlines() if line.startswith("Version:")), "?")
            print(f"compat: server on 127.0.0.1:{server.port}, client {shown}", file=sys.stderr)
            script = str(REPO / "ci" / "compat_client.py")
            account = ["--login", TEST_LOGIN, "--password", password]
            done = subprocess.run(
                [client_python, script, "--api-url", f"{server.url}/api/v1", *account, "--workdir", str(work)],
                cwd=work,
                env={**os.environ, "MAISIE_LOGGING_LEVEL": "ERROR"},
                timeout=CLIENT_SECONDS,
                check=False,
            )
            if done.returncode != 0:
                print(f"---- server log (last 60 lines) ----\n{server.log_tail(60)}", file=sys.stderr)
            return done.returncode
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
