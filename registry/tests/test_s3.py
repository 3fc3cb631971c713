"""Model files in S3 (django-storages) against moto's standalone server, over real HTTP.

moto runs as its own process for the whole session (started and stopped here; nothing else
needs to run it); each test gets its own bucket and points STORAGES["default"] at it.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tracemalloc
import uuid
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from storages.backends.s3 import S3Storage

from maisie_site.live_servers import REPO, start_moto
from registry import services
from registry.models import MLModel
from registry.tests.factories import upload_form

MiB = 1024 * 1024
CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}
PRESIGNED_SECONDS = 120


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    server = start_moto(tmp_path_factory.mktemp("moto"))
    try:
        yield server.url
    finally:
        server.stop()


class Bucket:
    """One bucket on the moto server, read and written with boto3 behind Maisie's back."""

    def __init__(self, endpoint: str):
        self.name = f"maisie-{uuid.uuid4().hex[:12]}"
        self.endpoint = endpoint
        self.s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=CREDENTIALS["access_key"],
            aws_secret_access_key=CREDENTIALS["secret_key"],
            region_name=CREDENTIALS["region_name"],
        )
        self.s3.create_bucket(Bucket=self.name)

    def keys(self) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))

    def head(self, key: str) -> dict:
        return self.s3.head_object(Bucket=self.name, Key=key)

    def body(self, key: str):
        return self.s3.get_object(Bucket=self.name, Key=key)["Body"]

    def put(self, key: str, content: bytes) -> None:
        self.s3.put_object(Bucket=self.name, Key=key, Body=content)

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.name, Key=key)

    def remove(self) -> None:
        for key in self.keys():
            self.delete(key)
        self.s3.delete_bucket(Bucket=self.name)


@pytest.fixture
def bucket(moto, settings, _media_and_cache):
    """A fresh bucket, and the default storage pointed at it (after conftest's local-files override)."""
    bucket = Bucket(moto)
    # The options maisie_site/settings.py builds from MAISIE_S3_* (checked end to end at the bottom).
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket.name,
                "endpoint_url": moto,
                **CREDENTIALS,
                "default_acl": None,
                "file_overwrite": False,
                "querystring_expire": PRESIGNED_SECONDS,
                "signature_version": "s3v4",
            },
        },
    }
    settings.MAISIE_S3_BUCKET = bucket.name
    settings.MAISIE_S3_PRESIGNED_DOWNLOADS = True
    yield bucket
    bucket.remove()


def upload_through_api(client, project, content: bytes, **fields) -> dict:
    response = client.post("/api/v1/models/", upload_form(project, content=content, **fields))
    assert response.status_code == 201, response.content
    return response.json()["data"]


def presigned_seconds(url: str) -> int:
    """How long a presigned URL is valid; it must be signed with SigV4 (SigV2 has no such field)."""
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"], url
    return int(query["X-Amz-Expires"][0])


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


class TestUpload:
    def test_an_api_upload_lands_in_the_bucket_under_its_generated_key(self, api, project, bob, bucket):
        content = os.urandom(64 * 1024)

        created = upload_through_api(api.as_user(bob), project, content)

        model = MLModel.objects.get(pk=created["id"])
        assert isinstance(model.file.storage, S3Storage)
        assert bucket.keys() == [model.file.name]
        sha = hashlib.sha256(content).hexdigest()
        assert model.file.name == f"blobs/sha256/{sha[:2]}/{sha}"
        assert bucket.body(model.file.name).read() == content
        assert model.file_sha256 == created["file"]["sha256"] == hashlib.sha256(content).hexdigest()

    def test_a_large_file_streams_from_the_disk_spool_as_an_s3_multipart_upload(
        self, api, project, bob, bucket, monkeypatch, settings
    ):
        content = os.urandom(20 * MiB)
        spooled = []
        real_save = S3Storage._save

        def spy(storage, name, upload):
            spooled.append(upload.temporary_file_path())
            return real_save(storage, name, upload)

        monkeypatch.setattr(S3Storage, "_save", spy)

        created = upload_through_api(api.as_user(bob), project, content, sha256=hashlib.sha256(content).hexdigest())

        # The app server never holds the file: the request body went to a temporary file in the
        # data folder (hashed on the way), and boto3's managed transfer reads that file part by
        # part; s3transfer keeps at most max_in_memory_upload_chunks parts in memory, whatever
        # the file's size.
        assert len(spooled) == 1 and spooled[0].startswith(str(settings.FILE_UPLOAD_TEMP_DIR))
        model = MLModel.objects.get(pk=created["id"])
        head = bucket.head(model.file.name)
        parts = -(-len(content) // model.file.storage.transfer_config.multipart_chunksize)
        assert head["ETag"].strip('"').endswith(f"-{parts}")  # a multipart object's ETag counts its parts
        assert head["ContentLength"] == len(content)
        digest = hashlib.sha256()
        for chunk in bucket.body(model.file.name).iter_chunks(MiB):
            digest.update(chunk)
        assert digest.hexdigest() == model.file_sha256 == hashlib.sha256(content).hexdigest()

    def test_an_upload_whose_sha256_does_not_match_leaves_no_object(self, api, project, bob, bucket):
        response = api.as_user(bob).post("/api/v1/models/", upload_form(project, sha256="0" * 64))

        assert response.status_code == 400
        assert "sha256" in json.dumps(response.json())
        assert bucket.keys() == []
        assert not MLModel.objects.exists()

    def test_a_failure_after_the_object_is_stored_removes_it_again(self, project, bob, bucket, monkeypatch):
        def fail(*args):
            raise RuntimeError("the database went away")

        monkeypatch.setattr(services, "tags_get_or_create", fail)

        with pytest.raises(RuntimeError):
            services.model_upload(
                user=bob, project=project, name="resnet", file=SimpleUploadedFile("resnet.pt", b"weights")
            )

        assert bucket.keys() == []
        assert not MLModel.objects.exists()


class TestDownload:
    def test_it_redirects_to_a_short_lived_presigned_url_that_serves_the_bytes(self, api, project, bob, bucket):
        content = os.urandom(3 * MiB)
        created = upload_through_api(api.as_user(bob), project, content, name="résnet")

        response = api.as_user(bob).get(f"/api/v1/models/{created['id']}/download/")

        assert response.status_code == 302
        location = response["Location"]
        assert location.startswith(f"{bucket.endpoint}/{bucket.name}/blobs/sha256/")
        assert presigned_seconds(location) == PRESIGNED_SECONDS
        fetched = requests.get(location, timeout=30)
        assert fetched.status_code == 200
        assert fetched.content == content
        assert fetched.headers["Content-Disposition"] == "attachment; filename*=utf-8''r%C3%A9snet.pt"
        assert fetched.headers["Content-Type"] == "application/octet-stream"

    def test_an_outsider_gets_no_presigned_url(self, api, project, bob, eve, bucket):
        created = upload_through_api(api.as_user(bob), project, b"weights", private="True")

        response = api.as_user(eve).get(f"/api/v1/models/{created['id']}/download/")

        assert response.status_code == 404
        assert "Location" not in response

    def test_without_presigned_downloads_the_bytes_stream_through_django(self, api, project, bob, bucket, settings):
        settings.MAISIE_S3_PRESIGNED_DOWNLOADS = False
        content = os.urandom(MiB + 123)
        created = upload_through_api(api.as_user(bob), project, content)
        url = f"/api/v1/models/{created['id']}/download/"
        client = api.as_user(bob)

        whole = client.get(url)
        ranged = client.get(url, HTTP_RANGE="bytes=1000-1999")
        tail = client.get(url, HTTP_RANGE="bytes=-10")
        beyond = client.get(url, HTTP_RANGE=f"bytes={len(content)}-")

        assert whole.status_code == 200
        assert body(whole) == content
        assert whole["Content-Length"] == str(len(content))
        assert whole["Content-Disposition"] == 'attachment; filename="resnet.pt"'
        assert whole["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
        assert ranged.status_code == 206
        assert body(ranged) == content[1000:2000]
        assert ranged["Content-Range"] == f"bytes 1000-1999/{len(content)}"
        assert tail.status_code == 206
        assert body(tail) == content[-10:]
        assert beyond.status_code == 416

    def test_a_streamed_download_asks_s3_for_the_range_only(self, api, project, bob, bucket, settings):
        settings.MAISIE_S3_PRESIGNED_DOWNLOADS = False
        created = upload_through_api(api.as_user(bob), project, os.urandom(2 * MiB))
        storage = MLModel.objects.get(pk=created["id"]).file.storage
        asked = []
        storage.connection.meta.client.meta.events.register(
            "before-parameter-build.s3.GetObject", lambda params, **kwargs: asked.append(params.get("Range"))
        )

        response = api.as_user(bob).get(f"/api/v1/models/{created['id']}/download/", HTTP_RANGE="bytes=10-19")

        assert len(body(response)) == 10
        assert asked == ["bytes=10-19"]

    def test_a_streamed_download_does_not_hold_the_file_in_memory(self, api, project, bob, bucket, settings):
        settings.MAISIE_S3_PRESIGNED_DOWNLOADS = False
        content = os.urandom(24 * MiB)
        created = upload_through_api(api.as_user(bob), project, content)
        client = api.as_user(bob)

        tracemalloc.start()
        try:
            response = client.get(f"/api/v1/models/{created['id']}/download/")
            digest = hashlib.sha256()
            for chunk in response.streaming_content:
                digest.update(chunk)
            response.close()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert digest.hexdigest() == hashlib.sha256(content).hexdigest()
        assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB for a {len(content) // MiB} MiB file"

    def test_a_row_whose_object_is_gone_answers_404_naming_fsck(self, api, project, bob, bucket, settings):
        settings.MAISIE_S3_PRESIGNED_DOWNLOADS = False
        created = upload_through_api(api.as_user(bob), project, b"weights")
        bucket.delete(MLModel.objects.get(pk=created["id"]).file.name)

        response = api.as_user(bob).get(f"/api/v1/models/{created['id']}/download/")

        assert response.status_code == 404
        assert "maisie_fsck" in json.dumps(response.json())


class TestDelete:
    def test_deleting_a_model_removes_its_object_once_the_transaction_commits(
        self, api, project, bob, bucket, django_capture_on_commit_callbacks
    ):
        created = upload_through_api(api.as_user(bob), project, b"weights")
        key = MLModel.objects.get(pk=created["id"]).file.name

        with django_capture_on_commit_callbacks() as callbacks:
            response = api.as_user(bob).delete(f"/api/v1/models/{created['id']}/")
            assert response.status_code == 200
            assert bucket.keys() == [key]  # not before the commit: a rollback would keep the row
        for callback in callbacks:
            callback()

        assert bucket.keys() == []


def fsck(*args) -> str:
    out = io.StringIO()
    call_command("maisie_fsck", *args, stdout=out)
    return out.getvalue()


class TestFsck:
    def test_it_finds_an_orphan_object_and_a_row_whose_object_is_missing_and_fix_cleans_both(
        self, api, project, bob, bucket
    ):
        client = api.as_user(bob)
        kept = upload_through_api(client, project, b"kept")
        lost = upload_through_api(client, project, b"lost")
        lost_key = MLModel.objects.get(pk=lost["id"]).file.name
        bucket.delete(lost_key)
        orphan = "models/ab/" + uuid.uuid4().hex
        bucket.put(orphan, b"nobody's")

        with pytest.raises(CommandError):
            fsck("--grace-minutes", "0")
        report = fsck("--grace-minutes", "0", "--fix")

        assert f"orphan file: {orphan} (8 bytes)" in report
        assert f"missing file: model {lost['id']} expects {lost_key}" in report
        assert bucket.keys() == [MLModel.objects.get(pk=kept["id"]).file.name]
        assert list(MLModel.objects.values_list("pk", flat=True)) == [kept["id"]]
        assert "0 orphan files and 0 rows with a missing file found" in fsck("--grace-minutes", "0")

    def test_it_leaves_a_young_object_alone_because_its_upload_may_be_in_progress(self, db, bucket):
        young = "models/cd/" + uuid.uuid4().hex
        bucket.put(young, b"arriving")

        assert "0 orphan files" in fsck("--fix")
        assert bucket.keys() == [young]


def test_the_maisie_s3_settings_send_files_to_the_bucket(moto, bucket, tmp_path):
    """The real settings module, configured only from the environment, stores into the bucket."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAISIE_", "DJANGO_", "AWS_"))}
    env.update(
        MAISIE_DATA_DIR=str(tmp_path),
        MAISIE_S3_BUCKET=bucket.name,
        MAISIE_S3_ENDPOINT_URL=moto,
        MAISIE_S3_REGION=CREDENTIALS["region_name"],
        MAISIE_S3_ACCESS_KEY_ID=CREDENTIALS["access_key"],
        MAISIE_S3_SECRET_ACCESS_KEY=CREDENTIALS["secret_key"],
        MAISIE_S3_PRESIGNED_SECONDS="90",
        DJANGO_SETTINGS_MODULE="maisie_site.settings",
    )
    script = (
        "import django; django.setup()\n"
        "from django.core.files.base import ContentFile\n"
        "from registry.models import MLModel\n"
        "storage = MLModel._meta.get_field('file').storage\n"
        "name = storage.save('models/ef/probe', ContentFile(b'probe'))\n"
        "print(type(storage._wrapped).__name__, name)\n"
        "print(storage.url('models/ef/probe'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    first, url = result.stdout.split("\n")[:2]
    assert first == "S3Storage models/ef/probe"
    assert bucket.body("models/ef/probe").read() == b"probe"
    assert presigned_seconds(url) == 90  # SigV4, as AWS buckets made since 2020 require
