"""Upload sessions over HTTP through gunicorn with two workers: each part on a connection of its
own, so parts of one blob land on either worker and the running hash is rebuilt where it is
missing; a body cut short by the client is dropped; an upload resumes from `received`.

The server gets its own SQLite file, set up through manage.py (as test_gunicorn_uploads.py)."""

import base64
import hashlib
import os
import secrets
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import requests

from maisie_site.live_servers import REPO, app_env, start_gunicorn
from registry.tests.test_gunicorn_uploads import SETUP

MiB = 1024 * 1024
PART = 5 * MiB


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("sessions-data")
    env = app_env(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'db.sqlite3'}",
        secret_key=secrets.token_urlsafe(50),
        MAISIE_UPLOAD_PART_BYTES=str(PART),
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=REPO, env=env, check=True, capture_output=True)
    out = subprocess.run(
        [*manage, "shell", "-c", SETUP], cwd=REPO, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    project_id, token = int(out[-2]), out[-1]
    process = start_gunicorn("gunicorn-sessions", env, data_dir, workers=2)
    try:
        yield process, project_id, {"Authorization": f"Bearer {token}"}, data_dir
    finally:
        process.stop()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_session(server, files: dict[str, bytes], name: str) -> dict:
    process, project_id, headers, _ = server
    manifest = [{"path": path, "size": len(data), "sha256": sha(data)} for path, data in files.items()]
    response = requests.post(
        f"{process.url}/api/v1/uploads/",
        json={"project_id": project_id, "name": name, "files": manifest},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


def send_part(server, session: dict, data: bytes, number: int) -> requests.Response:
    process, _, headers, _ = server
    chunk = data[number * PART : (number + 1) * PART]
    digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
    # A new connection each time (no requests.Session): either worker may take it.
    return requests.put(
        f"{process.url}/api/v1/uploads/{session['id']}/blobs/{sha(data)}/parts/{number}",
        data=chunk,
        headers={**headers, "Content-Type": "application/octet-stream", "Content-Digest": f"sha-256=:{digest}:"},
        timeout=60,
    )


def received(server, session: dict, data: bytes) -> int:
    process, _, headers, _ = server
    state = requests.get(f"{process.url}/api/v1/uploads/{session['id']}/", headers=headers, timeout=30).json()
    return next(blob["received"] for blob in state["data"]["blobs"] if blob["sha256"] == sha(data))


def test_a_folder_uploads_over_http_with_parts_on_either_worker(server):
    _, _, headers, data_dir = server
    big, small = os.urandom(3 * PART + 17), b"{}"
    session = open_session(server, {"weights.bin": big, "config.json": small}, "live")

    for number in range(4):
        response = send_part(server, session, big, number)
        assert response.status_code == 200, response.text
    assert send_part(server, session, small, 0).status_code == 200
    done = requests.post(session["_links"]["complete"], headers=headers, timeout=60)

    assert done.status_code == 201, done.text
    version = done.json()["data"]
    assert version["digest"] == session["digest"]
    stored = data_dir / "media" / "blobs" / "sha256" / sha(big)[:2] / sha(big)
    assert stored.read_bytes() == big
    assert not (data_dir / "uploads" / session["id"]).exists()


def test_a_part_cut_short_by_the_client_is_dropped_and_the_upload_resumes(server):
    process, _, headers, data_dir = server
    blob = os.urandom(2 * PART + 5)
    session = open_session(server, {"w.bin": blob}, "resumed")
    assert send_part(server, session, blob, 0).status_code == 200

    # The client dies half-way through part 1: the connection closes after half its bytes.
    url = urlsplit(process.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        head = (
            f"PUT /api/v1/uploads/{session['id']}/blobs/{sha(blob)}/parts/1 HTTP/1.1\r\n"
            f"Host: {url.hostname}:{url.port}\r\nAuthorization: {headers['Authorization']}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {PART}\r\n\r\n"
        )
        sock.sendall(head.encode() + blob[PART : PART + PART // 2])
        sock.shutdown(socket.SHUT_WR)
        sock.recv(65536)  # the server's answer (or nothing): it has seen the end

    # Acknowledged: part 0 only; the half part is not in the part file.
    assert received(server, session, blob) == PART
    assert (data_dir / "uploads" / session["id"] / sha(blob)).stat().st_size == PART
    for number in range(received(server, session, blob) // PART, 3):
        assert send_part(server, session, blob, number).status_code == 200
    done = requests.post(session["_links"]["complete"], headers=headers, timeout=60)
    assert done.status_code == 201, done.text
