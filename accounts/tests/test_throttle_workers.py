"""The sign-in limit holds exactly across gunicorn workers in a default install: one server,
several workers, no Redis (the counters are a database table, accounts/counters.py).

With per-process counters, two workers let 19 wrong passwords through a limit of 10. The server
here is a real gunicorn with the repository's gunicorn.conf.py and production settings, over
real HTTP, on SQLite in its own data folder (the default), and on PostgreSQL when the suite runs
there.
"""

import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from accounts.models import User
from maisie_site.live_servers import REPO, app_env, start_gunicorn

LIMIT = 10  # the documented default of MAISIE_LOGIN_RATE_PER_LOGIN: 10/min
ATTEMPTS = 24  # under the per-address default (30/min): only the per-login limit refuses
PASSWORD = "a-Long-pass-phrase-91"
TIMEOUT = 60


def _postgres_url() -> str:
    from maisie_site.tests.test_multi_server import database_url

    return database_url()


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    data_dir = tmp_path / "data"
    env_extra = {}
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'maisie.sqlite3'}"
    else:
        if connection.vendor != "postgresql":
            pytest.skip("run with DATABASE_URL=postgres://... for the PostgreSQL server")
        url = _postgres_url()
    env = app_env(data_dir=data_dir, database_url=url, secret_key=secrets.token_urlsafe(50), **env_extra)
    assert "MAISIE_REDIS_URL" not in env
    if request.param == "sqlite":  # as `make run` does: migrate, then the first user
        create = f"from accounts.models import User; User.objects.create_user('mallory', {PASSWORD!r})"
        for command in (["migrate", "--noinput"], ["shell", "-c", create]):
            done = subprocess.run(
                [sys.executable, str(REPO / "manage.py"), *command], env=env, capture_output=True, timeout=300
            )
            assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    else:
        User.objects.create_user("mallory", PASSWORD)  # committed: transactional_db
    live = start_gunicorn(f"workers-{request.param}", env, tmp_path, workers=4)
    try:
        yield live
    finally:
        live.stop()


def log_in(server, password: str) -> int:
    answer = requests.post(
        f"{server.url}/api/v1/auth/login/", json={"login": "mallory", "password": password}, timeout=TIMEOUT
    )
    return answer.status_code


@pytest.mark.django_db(transaction=True)  # the PostgreSQL server reads the user this process commits
def test_parallel_wrong_passwords_over_four_workers_get_exactly_the_limit(server):
    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        statuses = list(pool.map(lambda n: log_in(server, f"guess-{n}"), range(ATTEMPTS)))

    assert sorted(statuses) == [401] * LIMIT + [429] * (ATTEMPTS - LIMIT)
    assert log_in(server, PASSWORD) == 429  # locked, even with the right password
