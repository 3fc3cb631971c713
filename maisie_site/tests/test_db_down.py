"""While the database cannot be reached, the API answers 503 in its error envelope and the web UI
a plain 503 page, never a 500 (issue 20). The database is really unreachable in each test: the
connection points at a folder that does not exist (SQLite) or a port nobody listens on
(PostgreSQL), and a real gunicorn server is started against a PostgreSQL port that is closed.
"""

import http.client
import json
import secrets

import pytest
from django.db import connection

from maisie_site import live_servers

API_PATHS = ["/api/v1/models/", "/api/v1/workspaces/", "/api/v1/models/1/", "/api/v1/users/"]


@pytest.fixture
def database_down(django_db_blocker, tmp_path):
    """The default connection pointed at nothing, for this test; restored after.

    The open connection is set aside rather than closed: SQLite's in-memory test database lives
    only as long as a connection to it does."""
    with django_db_blocker.unblock():
        saved_settings, saved_connection = dict(connection.settings_dict), connection.connection
        connection.connection = None
        if connection.vendor == "sqlite":
            connection.settings_dict["NAME"] = str(tmp_path / "no-such-folder" / "db.sqlite3")
        else:
            connection.settings_dict.update(HOST="127.0.0.1", PORT=str(live_servers.free_port()))
        try:
            yield
        finally:
            if connection.connection is not None:
                connection.connection.close()
            connection.connection = saved_connection
            connection.settings_dict.clear()
            connection.settings_dict.update(saved_settings)


def assert_envelope_503(response):
    assert response.status_code == 503, response.content
    body = json.loads(response.content)
    assert body == {"status": "error", "message": "The database is unavailable; try again shortly."}
    assert response["Retry-After"]


@pytest.mark.parametrize("path", API_PATHS)
def test_the_api_answers_503_in_its_envelope_while_the_database_is_down(client, database_down, path):
    assert_envelope_503(client.get(path, HTTP_AUTHORIZATION="Bearer mai_not-a-real-token"))


def test_a_login_answers_503_while_the_database_is_down(client, database_down):
    response = client.post("/api/v1/auth/login/", {"login": "alice", "password": "x"}, content_type="application/json")
    assert_envelope_503(response)


@pytest.mark.parametrize("path", ["/accounts/login/", "/projects/1/", "/workspaces/"])
def test_the_web_ui_answers_a_plain_503_page_while_the_database_is_down(client, database_down, path):
    client.cookies["sessionid"] = "x" * 32  # a session the page must look up
    response = client.get(path)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"Service unavailable" in response.content


def test_a_live_server_answers_503_while_its_database_is_down(tmp_path):
    closed = f"postgres://postgres@127.0.0.1:{live_servers.free_port()}/maisie"
    env = live_servers.app_env(data_dir=tmp_path / "data", database_url=closed, secret_key=secrets.token_urlsafe(32))

    def prepare(port):
        command = [live_servers.sys.executable, "-m", "gunicorn", "-c", str(live_servers.REPO / "gunicorn.conf.py")]
        return [*command, "maisie_site.wsgi"], {**env, "GUNICORN_WORKERS": "1", "GUNICORN_BIND": f"127.0.0.1:{port}"}

    server = live_servers.launch("maisie-db-down", prepare, tmp_path / "gunicorn.log", "/api/v1/models/")
    try:
        for method, path, body in [
            ("GET", "/api/v1/models/", None),
            ("POST", "/api/v1/auth/login/", b'{"login": "a", "password": "b"}'),
            ("GET", "/projects/1/", None),
            ("GET", "/healthz", None),
        ]:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            headers = {"Content-Type": "application/json", "Authorization": "Bearer mai_not-a-real-token"}
            headers["Cookie"] = "sessionid=" + "x" * 32  # a session the page must look up
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
            conn.close()
            assert response.status == 503, (path, content)
            if path.startswith("/api/"):
                assert json.loads(content)["status"] == "error"
    finally:
        server.stop()
