"""Upload sessions on S3, against moto's server over HTTP (as test_s3.py runs it): parts are
objects of their own, the blob is assembled into its key by UploadPartCopy only once verified."""

import hashlib
import os

import pytest

from registry import blobs, upload_sessions
from registry.models import MLModel, UploadSession
from registry.tests.test_s3 import Bucket, bucket, moto  # noqa: F401 - the fixtures
from registry.tests.test_upload_sessions import URL, opening, part_url, sha

MiB = 1024 * 1024
PART = 5 * MiB  # S3's smallest part


@pytest.fixture(autouse=True)
def _s3_parts(settings, tmp_path):
    settings.MAISIE_UPLOAD_PART_BYTES = PART
    temp_dir = tmp_path / "upload-tmp"
    temp_dir.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = temp_dir


BIG = os.urandom(PART + 1000)  # two parts
SMALL = b"config"


def put(client, session_id, data, number):
    chunk = data[number * PART : (number + 1) * PART]
    return client.put(part_url(session_id, sha(data), number), chunk, content_type="application/octet-stream")


def part_objects(store: Bucket, session_id) -> list[str]:
    names = store.keys()
    return [name for name in names if name.startswith(f"uploads/{session_id}/")]


def in_progress(store: Bucket) -> list:
    return store.s3.list_multipart_uploads(Bucket=store.name).get("Uploads", [])


def test_a_folder_goes_to_s3_in_parts_and_is_assembled_once_verified(api, project, bob, bucket):  # noqa: F811
    client = api.as_user(bob)
    opened = client.post(URL, opening(project, {"w.bin": BIG, "c.json": SMALL}), format="json").json()["data"]
    assert bucket.keys() == []

    assert put(client, opened["id"], BIG, 0).status_code == 200
    assert put(client, opened["id"], BIG, 1).status_code == 200
    assert put(client, opened["id"], SMALL, 0).status_code == 200

    # Received, verified, and not yet under a blob key: the parts are objects of the session.
    assert len(part_objects(bucket, opened["id"])) == 3
    names = bucket.keys()
    assert not [name for name in names if name.startswith("blobs/")]
    done = client.post(opened["_links"]["complete"])

    assert done.status_code == 201, done.content
    model = MLModel.objects.get(pk=done.json()["data"]["id"])
    assert bucket.keys() == sorted([blobs.blob_key(sha(BIG)), blobs.blob_key(sha(SMALL))])
    assert bucket.body(blobs.blob_key(sha(BIG))).read() == BIG
    assert bucket.body(blobs.blob_key(sha(SMALL))).read() == SMALL
    assert sorted(model.entries.values_list("path", flat=True)) == ["c.json", "w.bin"]
    assert in_progress(bucket) == []
    assert not UploadSession.objects.exists()


def test_a_part_on_another_worker_rebuilds_the_hash_from_the_part_objects(api, project, bob, bucket):  # noqa: F811
    client = api.as_user(bob)
    opened = client.post(URL, opening(project, {"w.bin": BIG}), format="json").json()["data"]
    assert put(client, opened["id"], BIG, 0).status_code == 200
    upload_sessions._HASHES.clear()  # as on a worker that never saw part 0

    last = put(client, opened["id"], BIG, 1)

    assert last.status_code == 200 and last.json()["data"]["complete"] is True
    assert client.post(opened["_links"]["complete"]).status_code == 201
    assert hashlib.sha256(bucket.body(blobs.blob_key(sha(BIG))).read()).hexdigest() == sha(BIG)


def test_wrong_bytes_are_discarded_and_never_reach_the_blob_key(api, project, bob, bucket):  # noqa: F811
    client = api.as_user(bob)
    opened = client.post(URL, opening(project, {"w.bin": BIG}), format="json").json()["data"]
    wrong = bytes(len(BIG))
    assert (
        client.put(
            part_url(opened["id"], sha(BIG), 0), wrong[:PART], content_type="application/octet-stream"
        ).status_code
        == 200
    )

    last = client.put(part_url(opened["id"], sha(BIG), 1), wrong[PART:], content_type="application/octet-stream")

    assert last.status_code == 400 and last.json()["code"] == "sha256_mismatch"
    assert bucket.keys() == []
    assert in_progress(bucket) == []


def test_a_stored_blob_is_kept_not_overwritten(api, project, alice, bob, bucket, eve):  # noqa: F811
    key = blobs.blob_key(sha(BIG))
    bucket.put(key, BIG)
    before = bucket.head(key)
    client = api.as_user(bob)
    opened = client.post(URL, opening(project, {"w.bin": BIG}), format="json").json()["data"]
    assert opened["blobs"][0]["sha256"] == sha(BIG)  # Bob reads no version of it: he sends it
    put(client, opened["id"], BIG, 0)
    put(client, opened["id"], BIG, 1)

    assert client.post(opened["_links"]["complete"]).status_code == 201

    assert bucket.head(key)["ETag"] == before["ETag"] and bucket.head(key)["LastModified"] == before["LastModified"]
    assert bucket.keys() == [key]


def test_abort_and_expiry_remove_the_part_objects(api, project, bob, bucket):  # noqa: F811
    client = api.as_user(bob)
    first = client.post(URL, opening(project, {"w.bin": BIG}), format="json").json()["data"]
    put(client, first["id"], BIG, 0)
    second = client.post(URL, opening(project, {"w.bin": BIG}, name="again"), format="json").json()["data"]
    put(client, second["id"], BIG, 0)
    assert len(bucket.keys()) == 2

    assert client.delete(f"{URL}{first['id']}/").status_code == 200
    assert part_objects(bucket, first["id"]) == [] and len(bucket.keys()) == 1
    UploadSession.objects.update(expires="2000-01-01T00:00:00Z")
    assert upload_sessions.expire() == [second["id"]]
    assert bucket.keys() == []
