"""Two app servers (gunicorn, production settings) on one PostgreSQL database, one storage folder
and one Redis, as behind a load balancer: what one does, the other sees.

The servers are separate processes, so the data they read must be committed: these tests use
`transactional_db`. SQLite is a single-host database, so they run on PostgreSQL only.
"""

import hashlib
import os
import secrets
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.db import connection

from accounts import services as account_services
from maisie_site.live_servers import app_env, start_gunicorn
from registry import services
from registry.models import MLModel, Role

pytestmark = [
    pytest.mark.skipif(
        django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="several app servers share one database server: run with DATABASE_URL=postgres://...",
    ),
    pytest.mark.django_db(transaction=True),
]

REDIS_URL = os.environ.get("MAISIE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
LOGIN_RATE = "3/min"
TIMEOUT = 60
DEFAULT_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",  # conftest's fast hasher, for the other users
]


def database_url() -> str:
    """The test database (already created by pytest-django) as a DATABASE_URL for the servers."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


def redis_db() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis does not answer at {REDIS_URL} ({exc}); start it or set MAISIE_TEST_REDIS_URL")
    return client


@pytest.fixture(scope="module")
def servers(django_db_setup, tmp_path_factory):
    """Servers A and B: one database, one data folder (MAISIE_DATA_DIR), one secret key, one Redis."""
    data_dir = tmp_path_factory.mktemp("shared-data")
    cache = redis_db()
    cache.flushdb()
    env = app_env(
        data_dir=data_dir,
        database_url=database_url(),
        secret_key=secrets.token_urlsafe(50),
        MAISIE_REDIS_URL=REDIS_URL,
        MAISIE_LOGIN_RATE_PER_LOGIN=LOGIN_RATE,
    )
    started = []
    try:
        for name in ("server-a", "server-b"):
            started.append(start_gunicorn(name, env, data_dir, workers=2))
        yield started[0], started[1], data_dir
    finally:
        for server in started:
            server.stop()
        cache.flushdb()


@pytest.fixture
def shared(servers, settings, _media_and_cache):
    """The two servers, with this process's storage pointed at the same media folder as theirs."""
    server_a, server_b, data_dir = servers
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": data_dir / "media"},
        },
    }
    settings.MEDIA_ROOT = data_dir / "media"
    return server_a, server_b


@pytest.fixture
def token(project, bob) -> dict[str, str]:
    """Bob (a member of the project's workspace) with a personal API token: no password hashing."""
    _, secret = account_services.api_token_create(user=bob, name="multi-server")
    return {"Authorization": f"Bearer {secret}"}


def upload(server, project, headers, name: str, content: bytes) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/models/",
        headers=headers,
        data={"name": name, "project_id": str(project.pk), "sha256": hashlib.sha256(content).hexdigest()},
        files={"file": (f"{name}.pt", content, "application/octet-stream")},
        timeout=TIMEOUT,
    )


def test_what_one_server_stores_the_other_reads_lists_downloads_and_deletes(shared, project, settings):
    server_a, server_b = shared
    settings.PASSWORD_HASHERS = DEFAULT_HASHERS  # the servers run the production hashers
    login = f"dana{uuid.uuid4().hex[:8]}"
    dana = account_services.user_create(login=login, password="a-Long-pass-phrase-91", email=f"{login}@example.com")
    services.membership_set(workspace=project.workspace, actor=project.created_by, user=dana, role=Role.MEMBER)
    credentials = {"login": login, "password": "a-Long-pass-phrase-91"}
    signed_in = requests.post(f"{server_a.url}/api/v1/auth/login/", json=credentials, timeout=TIMEOUT)
    assert signed_in.status_code == 200, signed_in.text
    # A JWT from A works on B: the servers share the signing key.
    headers = {"Authorization": f"Bearer {signed_in.json()['data']['access_token']}"}
    content = os.urandom(256 * 1024)

    created = upload(server_a, project, headers, "shared-resnet", content)
    assert created.status_code == 201, created.text
    model = created.json()["data"]

    detail = requests.get(f"{server_b.url}/api/v1/models/{model['id']}/", headers=headers, timeout=TIMEOUT)
    listed = requests.get(
        f"{server_b.url}/api/v1/models/", params={"name": "shared-resnet"}, headers=headers, timeout=TIMEOUT
    )
    downloaded = requests.get(f"{server_b.url}/api/v1/models/{model['id']}/download/", headers=headers, timeout=TIMEOUT)
    assert detail.status_code == 200
    assert detail.json()["data"]["file"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert [m["id"] for m in listed.json()["data"]] == [model["id"]]
    assert downloaded.status_code == 200
    assert downloaded.content == content
    stored = MLModel.objects.get(pk=model["id"]).file
    assert stored.storage.exists(stored.name)  # in the media folder the servers and this process share

    deleted = requests.delete(f"{server_b.url}/api/v1/models/{model['id']}/", headers=headers, timeout=TIMEOUT)
    assert deleted.status_code == 200
    gone = requests.get(f"{server_a.url}/api/v1/models/{model['id']}/", headers=headers, timeout=TIMEOUT)
    assert gone.status_code == 404
    assert not stored.storage.exists(stored.name)


def test_concurrent_uploads_of_one_name_through_both_servers_each_get_their_own_version(shared, project, token):
    server_a, server_b = shared
    per_server = 8
    jobs = [(server, f"{server.port}-{n}".encode() * 512) for n in range(per_server) for server in (server_a, server_b)]
    start = threading.Barrier(len(jobs))

    def send(job):
        server, content = job
        start.wait(timeout=TIMEOUT)  # all at once, to contend for the version numbers
        return upload(server, project, token, "contended", content), content

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(send, jobs))

    failures = [f"{r.status_code} {r.text}" for r, _ in results if r.status_code != 201]
    assert not failures, failures
    versions = sorted(r.json()["data"]["version"] for r, _ in results)
    assert versions == list(range(1, len(jobs) + 1))  # none lost, none repeated
    rows = MLModel.objects.filter(project=project, name="contended")
    assert sorted(rows.values_list("version", flat=True)) == versions
    by_id = {row.pk: row for row in rows}
    for response, content in results:
        row = by_id[response.json()["data"]["id"]]
        assert row.file_sha256 == hashlib.sha256(content).hexdigest()
        with row.file.open("rb") as stored:
            assert stored.read() == content


def test_failed_logins_spread_over_both_servers_share_one_throttle(shared):
    server_a, server_b = shared
    login = f"mallory{uuid.uuid4().hex[:8]}"  # a name of its own: its counter starts at zero

    def attempt(server, who=login):
        return requests.post(
            f"{server.url}/api/v1/auth/login/", json={"login": who, "password": "guess"}, timeout=TIMEOUT
        ).status_code

    statuses = [attempt(server) for server in (server_a, server_b, server_a, server_b, server_a)]

    assert statuses == [401, 401, 401, 429, 429]  # 3/min per login name, counted in Redis
    assert any(b"throttle_login_user_" in key for key in redis_db().scan_iter())
    assert attempt(server_b, who=f"{login}x") == 401  # the limit is per login name


def test_parallel_failed_logins_on_both_servers_get_no_more_tries_than_the_limit(shared):
    server_a, server_b = shared
    login = f"trudy{uuid.uuid4().hex[:8]}"
    attempts = 12
    start = threading.Barrier(attempts)

    def attempt(server):
        start.wait(timeout=TIMEOUT)  # all at once: each password check takes a while
        return requests.post(
            f"{server.url}/api/v1/auth/login/", json={"login": login, "password": "guess"}, timeout=TIMEOUT
        ).status_code

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        statuses = list(pool.map(attempt, [server_a, server_b] * (attempts // 2)))

    # 3/min per login name, however the attempts overlap: the rest are refused unchecked.
    assert sorted(statuses) == [401] * 3 + [429] * (attempts - 3)
