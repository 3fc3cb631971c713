"""`maisie_blobs_relocate` on a registry made by the code before blobs (issue 16), on the file
system and on S3 through moto's server: nothing lost, every download the same bytes.

As in test_migration_tags: back to registry 0010 with Django's migration executor, rows and
files written as the old code wrote them (a file under `models/ab/<uuid>`, then its row), forward
through 0011 (rows only), then the command.
"""

import contextlib
import hashlib
import io
import os
import uuid

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from conftest import make_user
from maisie_site.migrating import apps_at, migrate
from registry import blobs
from registry.models import Blob, MLModel
from registry.tests.test_s3 import bucket, moto  # noqa: F401 (fixtures)

BEFORE = ("registry", "0010_search_cover_indexes")
AFTER = ("registry", "0011_blobs")


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture(params=["file system", "s3"])
def where(request):
    if request.param == "s3":
        request.getfixturevalue("bucket")
    return request.param


@pytest.fixture
def old_apps(where):
    yield from apps_at(BEFORE)


class OldRegistry:
    """Rows and files as the code before blobs made them (services.model_upload of then)."""

    def __init__(self, apps, user):
        self.apps, self.user = apps, user
        workspace = self.model("Workspace").objects.create(name="Vision")
        self.model("Membership").objects.create(workspace=workspace, user_id=user.pk, role="owner")
        self.project = self.model("Project").objects.create(workspace=workspace, name="resnets")

    def model(self, name: str):
        return self.apps.get_model("registry", name)

    def version(self, name: str, content: bytes, recorded: bytes | None = None):
        """A version; `recorded` are the bytes its row describes when they are not what is stored."""
        recorded = content if recorded is None else recorded
        registered, _ = self.model("RegisteredModel").objects.get_or_create(project=self.project, name=name)
        registered.last_version += 1
        registered.save()
        key = uuid.uuid4().hex
        stored = blobs.storage().save(f"models/{key[:2]}/{key}", ContentFile(content))
        return self.model("MLModel").objects.create(
            project=self.project,
            registered_model=registered,
            uploader_id=self.user.pk,
            name=name,
            version=registered.last_version,
            file=stored,
            file_name=f"{name}.pt",
            file_size=len(recorded),
            file_sha256=sha(recorded),
        )


def relocate() -> str:
    out = io.StringIO()
    call_command("maisie_blobs_relocate", stdout=out)
    return out.getvalue()


def downloaded(client, pk: int) -> bytes:
    response = client.get(f"/api/v1/models/{pk}/download/")
    if response.status_code == 302:  # S3: a presigned URL
        return requests.get(response["Location"], timeout=10).content
    assert response.status_code == 200, response
    return b"".join(response.streaming_content) if response.streaming else response.content


def stored_names() -> set[str]:
    store = blobs.storage()
    if blobs.is_s3(store):
        return {obj.key for obj in store.bucket.objects.all()}
    root = store.path("")
    return {os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files}


@pytest.mark.django_db(transaction=True)
def test_relocate_moves_every_old_file_to_its_blob_key_with_nothing_lost(old_apps, where):
    user = make_user("alice")
    old = OldRegistry(old_apps, user)
    weights = b"resnet weights " * 70_000  # about 1 MB: more than one read block
    contents = {
        "first": weights,
        "same-bytes": weights,  # a second upload of the same file: its own copy under another name
        "other": b"other weights",
        "empty": b"",
    }
    pks = {name: old.version(name, content).pk for name, content in contents.items()}
    rotten = old.version("rotten", b"bits rotted", recorded=b"bits intact")  # same size, other bytes
    rotten_file = rotten.file
    before = stored_names()
    assert len(before) == 5 and all(name.startswith("models/") for name in before)

    migrate(AFTER)
    migrate("latest")
    client = APIClient()
    client.force_authenticate(user)
    assert {name: downloaded(client, pk) for name, pk in pks.items()} == contents  # 0011 moved nothing

    with pytest.raises(CommandError, match="1 files left under their old names"):
        relocate()

    for name, pk in pks.items():
        model = MLModel.objects.get(pk=pk)
        blob = model.entries.get().blob
        assert blob.key == blobs.blob_key(sha(contents[name])) == model.file.name
        assert downloaded(client, pk) == contents[name]
    assert Blob.objects.filter(key__startswith="models/").get().sha256 == sha(b"bits intact")
    assert MLModel.objects.get(pk=rotten.pk).file.name == rotten_file  # left as it was, for a restore
    after = stored_names()
    # one file per distinct content, plus the rotten one where it was: the duplicate went
    assert after == {blobs.blob_key(sha(c)) for c in contents.values()} | {rotten_file}

    # Idempotent: a second run finds only the rotten one again and changes nothing.
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("maisie_blobs_relocate", stdout=out)
    assert "0 blobs relocated, 1 left where they are." in out.getvalue()
    assert f"{rotten_file} holds SHA-256 {sha(b'bits rotted')}" in out.getvalue()
    assert stored_names() == after
    out = io.StringIO()
    with contextlib.suppress(CommandError):  # the old rows were written without their key counts
        call_command("maisie_fsck", "--grace-minutes", "0", stdout=out)
    report = out.getvalue()
    assert "0 orphan files and 0 rows with a missing file found." in report, report
    assert "0 missing or of the wrong size." in report and "5 manifests: 0 inconsistent." in report, report


@pytest.mark.django_db(transaction=True)
def test_a_run_stopped_after_the_copy_resumes_and_a_differing_duplicate_stays(old_apps, where):
    user = make_user("alice")
    old = OldRegistry(old_apps, user)
    first = old.version("first", b"the weights")
    copy = old.version("copy", b"THE weights", recorded=b"the weights")  # a duplicate that rotted
    migrate(AFTER)
    migrate("latest")
    key = blobs.blob_key(sha(b"the weights"))
    blobs.storage().save(key, ContentFile(b"the weights"))  # the earlier run got this far

    out = io.StringIO()
    with pytest.raises(CommandError, match="1 files left under their old names"):
        call_command("maisie_blobs_relocate", stdout=out)
    report = out.getvalue()

    assert f"left: a copy of sha256:{sha(b'the weights')}: {copy.file} holds SHA-256 {sha(b'THE weights')}" in report
    assert "1 blobs relocated, 0 left where they are; 1 copies differ from their blob." in report
    assert MLModel.objects.get(pk=first.pk).file.name == key
    assert MLModel.objects.get(pk=copy.pk).file.name == copy.file  # still its own (rotten) copy
    assert stored_names() == {key, copy.file}
    client = APIClient()
    client.force_authenticate(user)
    assert downloaded(client, first.pk) == b"the weights"
    out = io.StringIO()
    with pytest.raises(CommandError):  # again: the rotten copy is still reported, nothing moves
        call_command("maisie_blobs_relocate", stdout=out)
    assert "0 blobs relocated, 0 left where they are; 1 copies differ from their blob." in out.getvalue()
    assert stored_names() == {key, copy.file}
