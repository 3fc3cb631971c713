"""Uploads that fail part way: nothing left behind, the right status, and refusals before reading.

Issue 20: a file part that never ends leaked its spool file and two threads; a full disk was a 400;
the web form's over-limit upload was a 500; someone who may not upload anywhere could make the
server read and spool a body first.
"""

import errno
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import pytest
from django.core.files import uploadedfile

from registry.models import MLModel
from registry.uploads import spool_stale_seconds, stale_spool_files, sweep_stale_spools

BOUNDARY = "hardeningboundary"
SPOOL_THREADS = ("upload-write", "upload-sha256")


@pytest.fixture
def spool_dir(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "spool"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    return settings.FILE_UPLOAD_TEMP_DIR


def part(name: str, value: bytes, filename: str | None = None, headers: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{headers}\r\n".encode() + value + b"\r\n"


def fields(project) -> bytes:
    return part("name", b"m") + part("project_id", str(project.pk).encode()) + part("project", str(project.pk).encode())


def end() -> bytes:
    return f"--{BOUNDARY}--\r\n".encode()


def post(client, url: str, body: bytes, **extra):
    kind = f"multipart/form-data; boundary={BOUNDARY}"
    return client.generic("POST", url, body, content_type=kind, **{"CONTENT_TYPE": kind, **extra})


def spool_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name in SPOOL_THREADS]


class FillingDisk:
    """A spool file on a disk with `room` bytes left: writes past it fail with ENOSPC, as write(2)
    does on a full file system. Everything else is the real temporary file."""

    def __init__(self, room: int):
        self.room = room
        self.open = tempfile.NamedTemporaryFile

    def __call__(self, *args, **kwargs):
        real = self.open(*args, **kwargs)
        room = self.room
        write = real.file.write

        def limited(data):
            nonlocal room
            if len(data) > room:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            room -= len(data)
            return write(data)

        real.file.write = limited
        return real


@pytest.fixture
def full_disk(monkeypatch):
    """Every temporary file (upload spools, /healthz's probe) on a disk with 1,000 bytes left."""
    disk = FillingDisk(room=1000)
    monkeypatch.setattr(uploadedfile.tempfile, "NamedTemporaryFile", disk)  # Django's name for it
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", disk)


class Unread:
    """A request body that fails the test if anyone reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


class TestTheApi:
    URL = "/api/v1/models/"

    def test_a_file_part_that_never_ends_leaves_no_spool_file_and_no_thread(self, api, project, bob, spool_dir):
        body = fields(project) + part("file", b"x" * 300_000, "a.bin")[:-2]  # no closing boundary
        response = post(api.as_user(bob), self.URL, body)
        assert response.status_code == 400
        assert response.json()["message"] == "The multipart body ended before its closing boundary."
        assert list(spool_dir.iterdir()) == []
        assert spool_threads() == []
        assert not MLModel.objects.exists()

    def test_a_finished_file_before_an_unfinished_one_is_removed_too(self, api, project, bob, spool_dir):
        body = fields(project) + part("file", b"y" * 1000, "a.bin") + part("other", b"z" * 1000, "b.bin")[:-2]
        response = post(api.as_user(bob), self.URL, body)
        assert response.status_code == 400
        assert list(spool_dir.iterdir()) == []
        assert spool_threads() == []

    @pytest.mark.parametrize("who", ["carol", "eve"])
    def test_someone_who_may_not_upload_anywhere_is_refused_before_the_body_is_read(
        self, api, project, request, who, spool_dir
    ):
        client = api.as_user(request.getfixturevalue(who))
        response = post(client, self.URL, b"", **{"wsgi.input": Unread(), "CONTENT_LENGTH": "10000000"})
        assert response.status_code == 403
        assert "not an owner or member of any workspace" in response.json()["message"]
        assert list(spool_dir.iterdir()) == []

    def test_a_full_disk_is_a_507_that_is_logged_and_stores_nothing(
        self, api, project, bob, spool_dir, full_disk, caplog
    ):
        body = fields(project) + part("file", b"x" * (3 * 1024 * 1024), "a.bin") + end()
        with caplog.at_level(logging.ERROR, logger="registry.uploads"):
            response = post(api.as_user(bob), self.URL, body)
        assert response.status_code == 507
        assert "no room" in response.json()["message"] and "data" not in response.json()
        assert any("upload spool write failed" in r.getMessage() for r in caplog.records)
        assert list(spool_dir.iterdir()) == []
        assert spool_threads() == []
        assert not MLModel.objects.exists()


class TestTheWebForm:
    URL = "/models/upload/"

    def form(self, project, content: bytes) -> dict:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return {"project": project.pk, "name": "m", "file": SimpleUploadedFile("m.pt", content)}

    def test_a_file_over_the_limit_is_a_413_with_the_form_saying_why(self, client, bob, project, settings, spool_dir):
        settings.MAISIE_MAX_UPLOAD_BYTES = 100
        client.force_login(bob)
        response = client.post(self.URL, self.form(project, b"x" * 1000))
        assert response.status_code == 413
        assert "larger than this server accepts" in response.content.decode()
        assert list(spool_dir.iterdir()) == [] and spool_threads() == []
        assert not MLModel.objects.exists()

    def test_a_body_announced_over_the_limit_is_a_413(self, client, bob, project, settings, spool_dir):
        settings.MAISIE_MAX_UPLOAD_BYTES = 100
        client.force_login(bob)
        response = client.post(self.URL, self.form(project, b"x" * (2 * 1024 * 1024)))
        assert response.status_code == 413
        assert list(spool_dir.iterdir()) == []

    def test_a_full_disk_is_a_507(self, client, bob, project, spool_dir, full_disk):
        client.force_login(bob)
        response = client.post(self.URL, self.form(project, b"x" * (3 * 1024 * 1024)))
        assert response.status_code == 507
        assert "no room" in response.content.decode()
        assert list(spool_dir.iterdir()) == [] and spool_threads() == []
        assert not MLModel.objects.exists()

    def test_a_file_part_that_never_ends_leaves_no_spool_file(self, client, bob, project, spool_dir):
        client.force_login(bob)
        response = post(client, self.URL, fields(project) + part("file", b"x" * 300_000, "a.bin")[:-2])
        assert response.status_code == 400
        assert list(spool_dir.iterdir()) == [] and spool_threads() == []

    def test_a_part_django_cannot_decode_leaves_no_spool_file(self, client, bob, project, spool_dir):
        # Django's parser raises on bad base64 after the handler started the file's spool.
        client.force_login(bob)
        bad = part("file", b"QUJD" * 1000 + b"QU", "a.bin", headers="Content-Transfer-Encoding: base64\r\n")
        response = post(client, self.URL, fields(project) + bad + end())
        assert response.status_code == 400
        assert list(spool_dir.iterdir()) == [] and spool_threads() == []

    def test_a_viewer_is_refused_before_a_large_body_is_read(self, client, carol, project, spool_dir):
        client.force_login(carol)
        response = post(client, self.URL, b"", **{"wsgi.input": Unread(), "CONTENT_LENGTH": "10000000"})
        assert response.status_code == 403
        assert list(spool_dir.iterdir()) == []


class TestStaleSpools:
    def make(self, folder: Path, name: str, age: float) -> Path:
        path = folder / name
        path.write_bytes(b"x" * 10)
        then = time.time() - age
        os.utime(path, (then, then))
        return path

    def test_the_sweep_removes_spools_older_than_the_safe_age_and_nothing_else(self, spool_dir, settings):
        stale = self.make(spool_dir, "tmpabc123.upload.pt", spool_stale_seconds() + 60)
        live = self.make(spool_dir, "tmpdef456.upload.bin", spool_stale_seconds() - 60)
        other = self.make(spool_dir, "notes.txt", spool_stale_seconds() * 2)
        assert stale_spool_files() == [(str(stale), 10)]
        assert sweep_stale_spools() == [(str(stale), 10)]
        assert sorted(p.name for p in spool_dir.iterdir()) == sorted([live.name, other.name])

    def test_the_safe_age_outlasts_a_chunk_at_the_minimum_rate(self, settings):
        settings.MAISIE_BODY_MIN_RATE = 100  # a 1 MiB chunk takes ~3 hours
        settings.MAISIE_BODY_READ_TIMEOUT = 60
        assert spool_stale_seconds() > 2 * (1024 * 1024 / 100)

    def test_a_server_starting_sweeps_the_spool_folder(self, tmp_path):
        import subprocess
        import sys

        from maisie_site.live_servers import REPO, app_env

        data_dir = tmp_path / "data"
        (data_dir / "tmp").mkdir(parents=True)
        stale = self.make(data_dir / "tmp", "tmpzzz.upload.pt", 2 * 86400)
        env = app_env(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'db.sqlite3'}", secret_key="k" * 50)
        subprocess.run([sys.executable, "-c", "import maisie_site.wsgi"], cwd=REPO, env=env, check=True, timeout=60)
        assert not stale.exists()


class TestHealth:
    def test_healthz_is_503_naming_the_spool_when_the_disk_is_full(self, client, db, spool_dir, monkeypatch):
        real = os.statvfs

        def full(path):  # what statvfs(2) says of a full file system: no blocks available
            stats = real(path)
            return os.statvfs_result((stats.f_bsize, stats.f_frsize, stats.f_blocks, 0, 0, *stats[5:]))

        assert client.get("/healthz").status_code == 200
        monkeypatch.setattr(os, "statvfs", full)
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "reason": "the upload spool cannot be written"}

    @pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
    def test_healthz_is_503_when_the_spool_folder_refuses_writes(self, client, db, spool_dir):
        spool_dir.chmod(0o500)
        try:
            response = client.get("/healthz")
        finally:
            spool_dir.chmod(0o700)
        assert response.status_code == 503
        assert response.json()["reason"] == "the upload spool cannot be written"

    def test_healthz_is_503_when_a_write_to_the_spool_fails(self, client, db, spool_dir, full_disk):
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["reason"] == "the upload spool cannot be written"
        assert list(spool_dir.iterdir()) == []
