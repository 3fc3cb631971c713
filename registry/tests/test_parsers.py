"""The streaming multipart parser: fields, spooled files, and clean failure."""

import hashlib

import pytest

from registry.models import MLModel

BOUNDARY = "maisieboundary"


def multipart(*parts: tuple[str, bytes, str | None]) -> bytes:
    body = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def post(client, body: bytes):
    return client.generic("POST", "/api/v1/models/", body, content_type=f"multipart/form-data; boundary={BOUNDARY}")


@pytest.fixture
def spool_dir(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "spool"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    return settings.FILE_UPLOAD_TEMP_DIR


def test_it_streams_a_file_part_and_reads_every_field(api, project, bob, spool_dir):
    content = bytes(range(256)) * 5000  # crosses several 1 MiB read chunks
    body = multipart(
        ("name", "ünïcode-net".encode(), None),
        ("project_id", str(project.pk).encode(), None),
        ("metrics", b'{"acc": 0.5}', None),
        ("file", content, "weights.bin"),
    )
    response = post(api.as_user(bob), body)
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["name"] == "ünïcode-net"
    assert data["metrics"] == {"acc": 0.5}
    assert data["file"] == {"name": "weights.bin", "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
    assert list(spool_dir.iterdir()) == []  # the spool file became the stored file


def test_a_truncated_body_is_a_400_and_leaves_no_spool_file(api, project, bob, spool_dir):
    body = multipart(("name", b"m", None), ("project_id", str(project.pk).encode(), None), ("file", b"x" * 10, "a.bin"))
    response = post(api.as_user(bob), body[: len(body) // 2 + 40])
    assert response.status_code == 400
    assert "data" not in response.json()
    assert list(spool_dir.iterdir()) == []
    assert not MLModel.objects.exists()


def test_a_body_without_boundary_is_a_400(api, project, bob):
    response = api.as_user(bob).generic("POST", "/api/v1/models/", b"abc", content_type="multipart/form-data")
    assert response.status_code == 400


def test_a_file_over_the_limit_is_a_413_and_leaves_no_spool_file(api, project, bob, settings, spool_dir):
    settings.MAISIE_MAX_UPLOAD_BYTES = 1000
    body = multipart(("name", b"m", None), ("project_id", str(project.pk).encode(), None), ("file", b"x" * 1001, "a"))
    response = post(api.as_user(bob), body)
    assert response.status_code == 413
    assert list(spool_dir.iterdir()) == []


def test_an_oversized_text_field_is_refused(api, project, bob, settings, spool_dir):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = multipart(("name", b"m" * 101, None), ("file", b"x", "a"))
    response = post(api.as_user(bob), body)
    assert response.status_code == 400
    assert list(spool_dir.iterdir()) == []
