"""Uploads through gunicorn itself, where the parser reads the body straight from the socket.

These run on any database: the server gets its own SQLite file, set up through manage.py.
"""

import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys

import pytest
import requests

from maisie_site.live_servers import REPO, app_env, start_gunicorn

SETUP = """
from accounts import services as accounts
from accounts.models import User
from registry import services
user = User.objects.create_user("uploader", "not-used-here-1")
workspace = services.workspace_create(user=user, name="w")
project = services.project_create(user=user, workspace=workspace, name="p")
_, token = accounts.api_token_create(user=user, name="t")
print(project.pk, token)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("gunicorn-data")
    env = app_env(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'db.sqlite3'}",
        secret_key=secrets.token_urlsafe(50),
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=REPO, env=env, check=True, capture_output=True)
    out = subprocess.run(
        [*manage, "shell", "-c", SETUP], cwd=REPO, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    project_id, token = out[-2], out[-1]
    process = start_gunicorn("gunicorn-uploads", env, data_dir, workers=1)
    try:
        yield process, project_id, {"Authorization": f"Bearer {token}"}, data_dir
    finally:
        process.stop()


def test_a_multi_mib_upload_arrives_whole_and_hashed(server):
    process, project_id, headers, _ = server
    content = os.urandom(5 * 1024 * 1024 + 123)
    digest = hashlib.sha256(content).hexdigest()
    response = requests.post(
        f"{process.url}/api/v1/models/",
        headers=headers,
        data={"name": "big", "project_id": project_id, "sha256": digest, "metrics": json.dumps({"acc": 1})},
        files={"file": ("big.bin", content)},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["file"] == {"name": "big.bin", "size": len(content), "sha256": digest}
    assert data["metrics"] == {"acc": 1}
    download = requests.get(data["_links"]["download"], headers=headers, timeout=60)
    assert download.content == content


def test_consecutive_uploads_each_read_their_own_body(server):
    process, project_id, headers, _ = server
    versions = []
    for size in (0, 1, 70_000, 2_000_000):
        content = os.urandom(size)
        response = requests.post(
            f"{process.url}/api/v1/models/",
            headers=headers,
            data={"name": "series", "project_id": project_id, "sha256": hashlib.sha256(content).hexdigest()},
            files={"file": ("s.bin", content)},
            timeout=60,
        )
        assert response.status_code == 201, response.text
        versions.append(response.json()["data"]["version"])
    assert versions == [1, 2, 3, 4]


def test_a_body_cut_short_stores_nothing_and_the_server_carries_on(server):
    process, project_id, headers, data_dir = server
    before = requests.get(f"{process.url}/api/v1/models/", headers=headers, timeout=30).json()["pagination"]
    boundary = "cutshort"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\ncut\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="project_id"\r\n\r\n{project_id}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.bin"\r\n\r\n'
    ).encode() + b"x" * 100_000
    head = (
        f"POST /api/v1/models/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {headers['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(part) + 500_000}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", process.port), timeout=30) as sock:
        sock.sendall(head + part)
        sock.shutdown(socket.SHUT_WR)  # the client gives up half way
        sock.recv(65536)
    after = requests.get(f"{process.url}/api/v1/models/", headers=headers, timeout=30).json()["pagination"]
    assert after["total_items"] == before["total_items"]
    assert list((data_dir / "tmp").iterdir()) == []  # the half-received spool file is gone
