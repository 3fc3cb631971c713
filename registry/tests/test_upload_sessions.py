"""Upload sessions through the API (docs/storage.md, "Upload sessions"): every rule, on the
file-system storage of the test's own folder, which the tests list to prove what was stored."""

import base64
import gc
import hashlib
import weakref
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from maisie_site.transport import ReceiveBuffers
from registry import blobs, quotas, services, upload_sessions
from registry.models import Blob, MLModel, UploadSession, UploadSessionBlob
from registry.tests.factories import upload, upload_form

URL = "/api/v1/uploads/"
PART = 1024  # the part size these tests use, so a blob of a few KiB has several parts


@pytest.fixture(autouse=True)
def _small_parts(settings, tmp_path):
    settings.MAISIE_UPLOAD_PART_BYTES = PART
    temp_dir = tmp_path / "upload-tmp"
    temp_dir.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = temp_dir


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(files: dict[str, bytes]) -> list[dict]:
    return [{"path": path, "size": len(data), "sha256": sha(data)} for path, data in files.items()]


def opening(project, files: dict[str, bytes], name="checkpoint", **fields) -> dict:
    return {"project_id": project.pk, "name": name, "files": manifest(files), **fields}


def stored(settings) -> list[str]:
    """Every file under the data folder's media and uploads folders."""
    found = []
    for root in (Path(settings.MEDIA_ROOT), upload_sessions.uploads_root()):
        if root.exists():
            found += sorted(p.relative_to(root.parent).as_posix() for p in root.rglob("*") if p.is_file())
    return found


def part_url(session_id, sha256: str, number: int) -> str:
    return f"{URL}{session_id}/blobs/{sha256}/parts/{number}"


def put_part(client, session_id, data_of_blob: bytes, number: int, part=PART, **headers):
    chunk = data_of_blob[number * part : (number + 1) * part]
    return client.put(
        part_url(session_id, sha(data_of_blob), number), chunk, content_type="application/octet-stream", **headers
    )


def send_blob(client, session_id, data: bytes, part=PART) -> None:
    for number in range(max(1, -(-len(data) // part))):
        response = put_part(client, session_id, data, number, part)
        assert response.status_code == 200, response.content


def content_digest(data: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


FILES = {
    "config.json": b"{}",
    "weights/model-1.bin": bytes(range(256)) * 10,  # 2,560 bytes: three parts
    "weights/model-2.bin": b"x" * 1500,
}


def test_a_folder_is_uploaded_in_parts_and_becomes_one_version(api, project, bob, settings):
    client = api.as_user(bob)

    opened = client.post(URL, opening(project, FILES, tags=["cnn"], metrics={"acc": 0.9}), format="json")

    assert opened.status_code == 201, opened.content
    session = opened.json()["data"]
    assert session["state"] == "open"
    assert session["digest"] == services.manifests.digest(services.manifests.from_json(manifest(FILES)))
    assert session["files"] == sorted(manifest(FILES), key=lambda e: e["path"].encode())
    assert session["blobs"] == sorted(
        ({"sha256": sha(data), "size": len(data), "part_size": PART, "received": 0} for data in FILES.values()),
        key=lambda b: b["sha256"],
    )
    assert session["_links"]["complete"].endswith(f"/api/v1/uploads/{session['id']}/complete")
    assert stored(settings) == []  # nothing before the bytes

    for data in FILES.values():
        send_blob(client, session["id"], data)
    assert client.get(f"{URL}{session['id']}/").json()["data"]["blobs"][0]["received"] > 0
    done = client.post(session["_links"]["complete"])

    assert done.status_code == 201, done.content
    assert done.json()["created"] is True
    version = done.json()["data"]
    model = MLModel.objects.get(pk=version["id"])
    assert version["digest"] == model.digest == session["digest"]
    assert (model.file.name, model.file_name, model.file_sha256) == ("", "checkpoint.zip", "")
    assert model.file_size == sum(len(data) for data in FILES.values())
    assert sorted(model.tags.values_list("name", flat=True)) == ["cnn"] and model.metrics == {"acc": 0.9}
    entries = {entry.path: entry.blob for entry in model.entries.select_related("blob")}
    assert sorted(entries) == sorted(FILES)
    for path, data in FILES.items():
        assert entries[path].sha256 == sha(data)
        with blobs.open_blob(entries[path]) as handle:
            assert handle.read() == data
    # The session, its rows and its part files are gone; only the blobs are stored.
    assert not UploadSession.objects.exists() and not UploadSessionBlob.objects.exists()
    assert stored(settings) == sorted(f"media/{blobs.blob_key(sha(data))}" for data in FILES.values())
    assert client.get(f"{URL}{session['id']}/").status_code == 404


def test_a_one_file_session_makes_a_one_file_version(api, project, bob):
    client = api.as_user(bob)
    data = b"weights" * 300
    session = client.post(URL, opening(project, {"model.pt": data}), format="json").json()["data"]
    send_blob(client, session["id"], data)

    version = client.post(session["_links"]["complete"]).json()["data"]

    model = MLModel.objects.get(pk=version["id"])
    assert (model.file_name, model.file_size, model.file_sha256) == ("model.pt", len(data), sha(data))
    assert model.file.name == blobs.blob_key(sha(data))
    assert version["file"]["sha256"] == sha(data)


# ----------------------------------------------------------------------------- refused before any byte


def assert_nothing_stored(settings):
    assert not UploadSession.objects.exists()
    assert not MLModel.objects.exists()
    assert stored(settings) == []


def test_without_authentication_it_is_401(api, project, settings):
    response = api.as_user(None).post(URL, opening(project, FILES), format="json")
    assert response.status_code == 401
    assert_nothing_stored(settings)


def test_a_project_the_caller_cannot_see_is_404(api, project, eve, settings):
    response = api.as_user(eve).post(URL, opening(project, FILES), format="json")
    assert response.status_code == 404
    assert_nothing_stored(settings)


def test_a_viewer_is_refused_403(api, project, carol, settings):
    response = api.as_user(carol).post(URL, opening(project, FILES), format="json")
    assert response.status_code == 403
    assert_nothing_stored(settings)


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "n" * 201},
        {"hyperparameters": [1, 2]},
        {"tags": ["x" * 200]},
        {"git_dirty": "maybe"},
        {"project_id": "seven"},
        {"new_version": "perhaps"},
    ],
)
def test_bad_metadata_is_400(api, project, bob, settings, fields):
    response = api.as_user(bob).post(URL, {**opening(project, FILES), **fields}, format="json")
    assert response.status_code == 400, response.content
    assert_nothing_stored(settings)


@pytest.mark.parametrize(
    "path",
    ["../escape", "/etc/passwd", "a\\..\\b", "a/./b", "a//b", "tab\tname", "CON", "weights/aux.bin", "a:b", "dir/"],
)
def test_a_path_attack_is_refused_400_naming_files(api, project, bob, settings, path):
    body = opening(project, {"ok.bin": b"1"})
    body["files"].append({"path": path, "size": 1, "sha256": sha(b"2")})

    response = api.as_user(bob).post(URL, body, format="json")

    assert response.status_code == 400, response.content
    assert "files" in response.json()["errors"]
    assert_nothing_stored(settings)


@pytest.mark.parametrize(
    "files",
    [
        [],
        [{"path": "a", "size": "1", "sha256": "0" * 64}],
        [{"path": "a", "size": 1, "sha256": "XYZ"}],
        [{"path": "a", "size": 1, "sha256": "0" * 64, "mode": 644}],
        [{"path": "A.bin", "size": 1, "sha256": "0" * 64}, {"path": "a.bin", "size": 1, "sha256": "1" * 64}],
        [{"path": "a", "size": 1, "sha256": "0" * 64}, {"path": "b", "size": 2, "sha256": "0" * 64}],
        "not a list",
    ],
)
def test_a_bad_manifest_is_400(api, project, bob, settings, files):
    response = api.as_user(bob).post(URL, {"project_id": project.pk, "name": "m", "files": files}, format="json")
    assert response.status_code == 400, response.content
    assert_nothing_stored(settings)


def test_a_file_over_the_upload_limit_is_413(api, project, bob, settings):
    settings.MAISIE_MAX_UPLOAD_BYTES = 1000
    response = api.as_user(bob).post(URL, opening(project, FILES), format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert response.json()["path"] == "weights/model-1.bin"
    assert_nothing_stored(settings)


def test_over_the_quota_it_is_413_saying_used_and_allowed(api, project, bob, settings):
    upload(bob, project, content=b"a" * 1000)
    project.workspace.quota_bytes = 4000
    project.workspace.save()

    response = api.as_user(bob).post(URL, opening(project, FILES), format="json")

    assert response.status_code == 413
    body = response.json()
    assert (body["code"], body["used"], body["allowed"]) == ("quota_exceeded", 1000, 4000)
    assert body["needed"] == sum(len(data) for data in FILES.values())
    assert not UploadSession.objects.exists()


def test_the_env_default_quota_applies_and_open_sessions_count(api, project, bob, settings):
    settings.MAISIE_WORKSPACE_QUOTA_BYTES = 6000
    client = api.as_user(bob)
    assert client.post(URL, opening(project, FILES), format="json").status_code == 201  # 4,062 announced

    second = client.post(URL, opening(project, {"other.bin": b"o" * 2000}, name="other"), format="json")

    assert second.status_code == 413
    assert second.json()["used"] == 4062


# ----------------------------------------------------------------------------- parts


@pytest.fixture
def session(api, project, bob):
    client = api.as_user(bob)
    opened = client.post(URL, opening(project, FILES), format="json")
    assert opened.status_code == 201
    return client, opened.json()["data"]


BIG = FILES["weights/model-1.bin"]


def blob_state(client, session_id, data) -> dict:
    blobs_ = client.get(f"{URL}{session_id}/").json()["data"]["blobs"]
    return next(b for b in blobs_ if b["sha256"] == sha(data))


def test_a_part_out_of_order_is_409_with_received(session):
    client, opened = session
    assert put_part(client, opened["id"], BIG, 0).status_code == 200

    response = put_part(client, opened["id"], BIG, 2)

    assert response.status_code == 409
    assert (response.json()["code"], response.json()["received"]) == ("out_of_order", PART)
    assert blob_state(client, opened["id"], BIG)["received"] == PART


def test_an_acknowledged_part_sent_again_is_200_and_changes_nothing(session):
    client, opened = session
    put_part(client, opened["id"], BIG, 0)
    put_part(client, opened["id"], BIG, 1)
    part_file = upload_sessions.uploads_root() / opened["id"] / sha(BIG)
    before = part_file.read_bytes()

    again = put_part(client, opened["id"], BIG, 0)

    assert again.status_code == 200
    assert again.json()["data"] == {"sha256": sha(BIG), "size": len(BIG), "received": 2 * PART, "complete": False}
    assert part_file.read_bytes() == before == BIG[: 2 * PART]


def test_a_part_whose_content_digest_does_not_match_is_dropped_whole(session):
    client, opened = session
    put_part(client, opened["id"], BIG, 0)

    bad = put_part(client, opened["id"], BIG, 1, HTTP_CONTENT_DIGEST=content_digest(b"something else"))

    assert bad.status_code == 400
    assert bad.json()["code"] == "digest_mismatch"
    assert blob_state(client, opened["id"], BIG)["received"] == PART
    assert (upload_sessions.uploads_root() / opened["id"] / sha(BIG)).stat().st_size == PART
    good = put_part(client, opened["id"], BIG, 1, HTTP_CONTENT_DIGEST=content_digest(BIG[PART : 2 * PART]))
    assert good.status_code == 200 and good.json()["data"]["received"] == 2 * PART


def test_a_malformed_content_digest_is_400(session):
    client, opened = session
    response = put_part(client, opened["id"], BIG, 0, HTTP_CONTENT_DIGEST="md5=abc")
    assert response.status_code == 400
    assert blob_state(client, opened["id"], BIG)["received"] == 0


def test_a_content_length_other_than_the_parts_is_400_before_the_body(session):
    client, opened = session
    response = client.put(part_url(opened["id"], sha(BIG), 0), BIG[:100], content_type="application/octet-stream")
    assert response.status_code == 400
    assert "Content-Length" in response.json()["errors"]


def test_a_nul_in_a_path_is_400(api, project, bob, settings):
    body = opening(project, {"ok.bin": b"1"})
    body["files"].append({"path": "nul\x00byte", "size": 1, "sha256": sha(b"2")})
    assert api.as_user(bob).post(URL, body, format="json").status_code == 400
    assert_nothing_stored(settings)


def test_a_part_number_past_the_blob_or_a_blob_not_needed_is_refused(session):
    client, opened = session
    assert put_part(client, opened["id"], BIG, 3).status_code == 400
    stranger = b"not in the manifest"
    assert put_part(client, opened["id"], stranger, 0).status_code == 404


def test_a_blob_whose_sha256_does_not_match_is_refused_and_starts_again(api, project, bob, settings):
    client = api.as_user(bob)
    claimed = b"a" * 1500
    opened = client.post(URL, opening(project, {"m.bin": claimed}), format="json").json()["data"]
    lie = b"b" * 1500
    url = part_url(opened["id"], sha(claimed), 0)
    assert client.put(url, lie[:PART], content_type="application/octet-stream").status_code == 200

    last = client.put(part_url(opened["id"], sha(claimed), 1), lie[PART:], content_type="application/octet-stream")

    assert last.status_code == 400
    assert (last.json()["code"], last.json()["received"]) == ("sha256_mismatch", 0)
    assert blob_state(client, opened["id"], claimed) == {
        "sha256": sha(claimed),
        "size": 1500,
        "part_size": PART,
        "received": 0,
    }
    assert client.post(opened["_links"]["complete"]).status_code == 409
    assert not Blob.objects.filter(sha256=sha(claimed)).exists()


def test_a_resumed_upload_goes_on_from_received_on_another_worker(session):
    """A worker that did not take the earlier parts (here: this one, its running hashes dropped,
    as after a restart) rebuilds the hash from the bytes received."""
    client, opened = session
    put_part(client, opened["id"], BIG, 0)
    upload_sessions._HASHES.clear()

    received = blob_state(client, opened["id"], BIG)["received"]
    for number in range(received // PART, 3):
        assert put_part(client, opened["id"], BIG, number).status_code == 200
    for data in (FILES["config.json"], FILES["weights/model-2.bin"]):
        send_blob(client, opened["id"], data)

    assert client.post(opened["_links"]["complete"]).status_code == 201


def test_complete_with_a_blob_missing_is_409_naming_it(session):
    client, opened = session
    send_blob(client, opened["id"], FILES["config.json"])

    response = client.post(opened["_links"]["complete"])

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "blobs_missing"
    assert sorted(body["missing"]) == sorted(sha(FILES[p]) for p in ("weights/model-1.bin", "weights/model-2.bin"))
    assert not MLModel.objects.exists()


def test_another_user_cannot_use_a_session(session, api, alice):
    _, opened = session
    other = api.as_user(alice)
    assert other.get(f"{URL}{opened['id']}/").status_code == 404
    assert put_part(other, opened["id"], BIG, 0).status_code == 404
    assert other.post(opened["_links"]["complete"]).status_code == 404
    assert other.delete(f"{URL}{opened['id']}/").status_code == 404
    assert UploadSession.objects.filter(pk=opened["id"]).exists()


def test_delete_aborts_the_session_and_removes_its_parts(session, settings):
    client, opened = session
    put_part(client, opened["id"], BIG, 0)

    response = client.delete(f"{URL}{opened['id']}/")

    assert response.status_code == 200 and response.json() == {"status": "success"}
    assert not UploadSession.objects.exists() and not UploadSessionBlob.objects.exists()
    assert stored(settings) == []


# ----------------------------------------------------------------------------- same digest, dedupe


def complete_upload(client, project, files, **fields) -> dict:
    opened = client.post(URL, opening(project, files, **fields), format="json")
    assert opened.status_code == 201, opened.content
    session = opened.json()["data"]
    for needed in session["blobs"]:
        data = next(d for d in files.values() if sha(d) == needed["sha256"])
        send_blob(client, session["id"], data)
    done = client.post(session["_links"]["complete"])
    assert done.status_code == 201, done.content
    return done.json()["data"]


def test_the_same_digest_answers_200_with_the_existing_version(api, project, bob):
    client = api.as_user(bob)
    first = complete_upload(client, project, FILES)

    again = client.post(URL, opening(project, FILES), format="json")

    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["data"]["id"] == first["id"]
    assert MLModel.objects.count() == 1 and not UploadSession.objects.exists()


def test_new_version_true_makes_a_new_version_without_sending_the_bytes_again(api, project, bob):
    client = api.as_user(bob)
    first = complete_upload(client, project, FILES)

    opened = client.post(URL, opening(project, FILES, new_version=True), format="json")

    assert opened.status_code == 201
    assert opened.json()["data"]["blobs"] == []  # Bob can read a version holding every blob
    done = client.post(opened.json()["data"]["_links"]["complete"])
    assert done.status_code == 201
    assert done.json()["data"]["version"] == first["version"] + 1
    assert done.json()["data"]["digest"] == first["digest"]
    assert Blob.objects.count() == len(FILES)


def test_the_same_digest_rule_ignores_versions_the_caller_cannot_read(api, project, alice, bob):
    complete_upload(api.as_user(alice), project, FILES, private=True)

    opened = api.as_user(bob).post(URL, opening(project, FILES), format="json")

    assert opened.status_code == 201  # a session, as if Alice's private version did not exist
    assert len(opened.json()["data"]["blobs"]) == len(FILES)


@pytest.fixture
def eves_project(eve):
    workspace = services.workspace_create(user=eve, name="Speech")
    return services.project_create(user=eve, workspace=workspace, name="whisper")


def test_bob_cannot_skip_a_blob_only_eves_private_version_holds(api, project, bob, eve, eves_project, settings):
    secret = b"eve's weights " * 200
    complete_upload(api.as_user(eve), eves_project, {"secret.bin": secret}, private=True)
    blob_before = Blob.objects.get(sha256=sha(secret))
    client = api.as_user(bob)

    opened = client.post(URL, opening(project, {"guess.bin": secret}), format="json").json()["data"]

    # He must send the bytes: the answer is the same as if nobody held them.
    assert opened["blobs"] == [{"sha256": sha(secret), "size": len(secret), "part_size": PART, "received": 0}]
    assert client.post(opened["_links"]["complete"]).status_code == 409
    assert not MLModel.objects.filter(uploader=bob).exists()
    # Sending other bytes under the hash does not get him the blob either.
    wrong = b"x" * len(secret)
    for number in range(-(-len(secret) // PART)):
        chunk = wrong[number * PART : (number + 1) * PART]
        response = client.put(
            part_url(opened["id"], sha(secret), number), chunk, content_type="application/octet-stream"
        )
    assert response.status_code == 400 and response.json()["code"] == "sha256_mismatch"
    # With the real bytes he gets his version; the stored blob is the one kept.
    send_blob(client, opened["id"], secret)
    assert client.post(opened["_links"]["complete"]).status_code == 201
    assert Blob.objects.filter(sha256=sha(secret)).get() == blob_before
    assert Blob.objects.get(sha256=sha(secret)).key == blob_before.key
    assert stored(settings).count(f"media/{blobs.blob_key(sha(secret))}") == 1


def test_a_blob_the_caller_can_read_is_skipped(api, project, alice, bob):
    shared = b"shared weights" * 100
    complete_upload(api.as_user(alice), project, {"w.bin": shared})  # public in Bob's workspace

    opened = api.as_user(bob).post(URL, opening(project, {"w.bin": shared, "new.bin": b"new"}, name="b"), format="json")

    assert [b["sha256"] for b in opened.json()["data"]["blobs"]] == [sha(b"new")]


# ----------------------------------------------------------------------------- references, expiry, quotas


def test_an_open_sessions_blobs_count_as_references(api, project, alice, bob):
    shared = b"shared weights" * 100
    version = complete_upload(api.as_user(alice), project, {"w.bin": shared})
    opened = api.as_user(bob).post(URL, opening(project, {"w.bin": shared}, name="b"), format="json")
    assert opened.json()["data"]["blobs"] == []

    services.model_delete(model=MLModel.objects.get(pk=version["id"]), user=alice)

    assert blobs.referenced(sha(shared))
    assert Blob.objects.filter(sha256=sha(shared)).exists()  # kept for Bob's session
    done = api.as_user(bob).post(opened.json()["data"]["_links"]["complete"])
    assert done.status_code == 201
    with blobs.open_blob(Blob.objects.get(sha256=sha(shared))) as handle:
        assert handle.read() == shared


def test_expire_deletes_expired_sessions_and_their_parts(session, project, settings):
    client, opened = session
    put_part(client, opened["id"], BIG, 0)
    assert stored(settings) != []
    fresh = client.post(URL, opening(project, {"f.bin": b"f"}, name="fresh"), format="json")
    assert fresh.status_code == 201
    UploadSession.objects.filter(pk=opened["id"]).update(expires=timezone.now() - timedelta(seconds=1))

    assert client.get(f"{URL}{opened['id']}/").status_code == 404  # expired already, before the sweep
    gone = upload_sessions.expire()

    assert gone == [opened["id"]]
    assert list(UploadSession.objects.values_list("name", flat=True)) == ["fresh"]
    assert stored(settings) == []


def test_a_part_pushes_the_expiry_back(session, settings):
    client, opened = session
    settings.MAISIE_UPLOAD_SESSION_TTL = 3600
    UploadSession.objects.filter(pk=opened["id"]).update(expires=timezone.now() + timedelta(seconds=5))

    put_part(client, opened["id"], BIG, 0)

    expires = UploadSession.objects.get(pk=opened["id"]).expires
    assert expires > timezone.now() + timedelta(seconds=3000)


def test_the_quota_is_checked_again_at_complete(api, project, bob, settings):
    client = api.as_user(bob)
    opened = client.post(URL, opening(project, FILES), format="json").json()["data"]
    for data in FILES.values():
        send_blob(client, opened["id"], data)
    project.workspace.quota_bytes = 3000  # staff lowered it meanwhile
    project.workspace.save()

    response = client.post(opened["_links"]["complete"])

    assert response.status_code == 413 and response.json()["code"] == "quota_exceeded"
    assert not MLModel.objects.exists()
    assert UploadSession.objects.filter(pk=opened["id"]).exists()  # still open: room can be made
    project.workspace.quota_bytes = 5000
    project.workspace.save()
    assert client.post(opened["_links"]["complete"]).status_code == 201


def test_two_sessions_cannot_together_overrun_the_quota(api, project, bob, settings):
    project.workspace.quota_bytes = 5000
    project.workspace.save()
    client = api.as_user(bob)
    assert client.post(URL, opening(project, {"a.bin": b"a" * 3000}), format="json").status_code == 201

    second = client.post(URL, opening(project, {"b.bin": b"b" * 3000}, name="b"), format="json")

    assert second.status_code == 413 and second.json()["used"] == 3000


def test_usage_counts_logical_and_stored_bytes(api, project, bob):
    client = api.as_user(bob)
    complete_upload(client, project, FILES)
    complete_upload(client, project, FILES, new_version=True)

    usage = quotas.usage(project.workspace)

    total = sum(len(data) for data in FILES.values())
    assert (usage.logical, usage.stored, usage.announced) == (2 * total, total, 0)


def test_the_single_request_upload_is_refused_over_the_quota_before_its_body(api, project, bob, settings):
    project.workspace.quota_bytes = 10_000
    project.workspace.save()
    client = api.as_user(bob)
    form = upload_form(project, content=b"w" * (2 * 1024 * 1024))

    response = client.post("/api/v1/models/", form)

    assert response.status_code == 413
    assert response.json()["code"] == "quota_exceeded"
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []  # nothing spooled
    assert not MLModel.objects.exists()


def test_the_single_request_upload_checks_the_projects_quota_once_read(api, project, bob, settings):
    project.workspace.quota_bytes = 100
    project.workspace.save()

    response = api.as_user(bob).post("/api/v1/models/", upload_form(project, content=b"w" * 500))

    assert response.status_code == 413 and response.json()["code"] == "quota_exceeded"
    assert not MLModel.objects.exists() and not Blob.objects.exists()


def test_the_web_upload_form_shows_the_quota_refusal(client, project, bob, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(bob)
    project.workspace.quota_bytes = 100
    project.workspace.save()
    form = {"project": project.pk, "name": "resnet50", "file": SimpleUploadedFile("r.pt", b"r" * 500)}

    response = client.post("/models/upload/", form)

    assert response.status_code == 400
    assert "quota is 100 bytes" in response.content.decode()
    assert not MLModel.objects.exists() and not Blob.objects.exists()


def test_a_session_stops_when_its_uploader_may_no_longer_upload(session, project, alice, bob):
    client, opened = session
    services.membership_set(workspace=project.workspace, actor=alice, user=bob, role="viewer")

    assert client.get(f"{URL}{opened['id']}/").status_code == 403
    assert put_part(client, opened["id"], BIG, 0).status_code == 403
    assert client.post(opened["_links"]["complete"]).status_code == 403
    assert not MLModel.objects.exists()


def test_a_part_folder_that_cannot_be_written_is_the_servers_503_not_a_500(session):
    client, opened = session
    root = upload_sessions.uploads_root()
    root.mkdir(parents=True, exist_ok=True)
    (root / opened["id"]).write_bytes(b"a file where the session's folder should be")

    response = put_part(client, opened["id"], BIG, 0)

    assert response.status_code == 503
    assert blob_state(client, opened["id"], BIG)["received"] == 0


def test_a_requests_receive_buffers_are_freed_when_it_lets_go_of_them_without_a_garbage_collection():
    # Issue 16: a lease that held its pool strongly made a cycle, and every part's 1 MiB buffer
    # stayed in the worker until the next full collection.
    gc.disable()
    try:
        pool = ReceiveBuffers(size=1024, count=2)
        lease = pool.take()
        lease.release()
        freed = weakref.ref(lease)
        del lease, pool
        assert freed() is None
    finally:
        gc.enable()
