"""`maisie_fsck` on blobs, manifests and references (issue 16); the older file checks are in
test_commands.py, S3 in test_fsck_s3.py."""

import hashlib
import io
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from registry import blobs, manifests
from registry.models import Blob, ManifestEntry, MLModel
from registry.tests.factories import upload


def fsck(*args) -> str:
    out = io.StringIO()
    call_command("maisie_fsck", *args, stdout=out)
    return out.getvalue()


def failing_fsck(*args, match: str) -> str:
    out = io.StringIO()
    with pytest.raises(CommandError, match=match):
        call_command("maisie_fsck", *args, stdout=out)
    return out.getvalue()


def path_of(key: str) -> str:
    return blobs.storage().path(key)


def folder_version(user, project, files: dict[str, bytes]) -> MLModel:
    """A version of several files, as the upload sessions write one: blobs, entries, digest, no `file`."""
    first = next(iter(files.values()))
    version = upload(user, project, name="folder", content=first)
    version.entries.all().delete()
    for path, content in files.items():
        sha = hashlib.sha256(content).hexdigest()
        key = blobs.put(ContentFile(content), sha)
        blob, _ = Blob.objects.get_or_create(sha256=sha, defaults={"size": len(content), "key": key})
        ManifestEntry.objects.create(model=version, path=path, blob=blob)
    manifest = manifests.manifest_of(
        (path, len(content), hashlib.sha256(content).hexdigest()) for path, content in files.items()
    )
    MLModel.objects.filter(pk=version.pk).update(file="", file_sha256="", digest=manifests.digest(manifest))
    return MLModel.objects.get(pk=version.pk)


def test_fsck_is_quiet_on_one_file_and_folder_versions(project, bob):
    upload(bob, project, content=b"one file")
    folder_version(bob, project, {"a/config.json": b"{}", "a/weights.bin": b"w" * 100})
    report = fsck("--verify")
    assert "0 missing or of the wrong size" in report and "0 inconsistent" in report
    assert "verified 3 files: 0 corrupt." in report


def test_verify_finds_a_corrupted_blob_of_a_folder_version(project, bob):
    version = folder_version(bob, project, {"config.json": b"{}", "weights.bin": b"original weights"})
    blob = version.entries.get(path="weights.bin").blob
    with open(path_of(blob.key), "r+b") as stored:  # one changed byte, the size unchanged: bit rot
        stored.write(b"O")

    assert "corrupt" not in fsck()  # the size is right: only reading the bytes tells
    report = failing_fsck("--verify", match="1 stored files do not match their rows")
    assert f"corrupt blob: sha256:{blob.sha256} {blob.key} has SHA-256 " in report
    assert f"used by models [{version.pk}]" in report
    failing_fsck("--verify", "--fix", match="1 stored files do not match")  # nothing to repair it from


def test_a_truncated_blob_is_found_without_reading_it(project, bob):
    model = upload(bob, project, content=b"twenty bytes of data")
    blob = model.entries.get().blob
    with open(path_of(blob.key), "r+b") as stored:
        stored.truncate(5)
    report = failing_fsck(match="inconsistencies found")
    assert f"wrong size: sha256:{blob.sha256} {blob.key} holds 5 bytes, its row 20" in report
    failing_fsck("--fix", match="1 problems --fix cannot repair")


def test_a_folder_versions_missing_blob_is_reported_and_not_fixable(project, bob):
    version = folder_version(bob, project, {"config.json": b"{}", "weights.bin": b"w"})
    blob = version.entries.get(path="weights.bin").blob
    os.unlink(path_of(blob.key))
    report = failing_fsck(match="inconsistencies found")
    assert f"missing blob: sha256:{blob.sha256} {blob.key}, used by models [{version.pk}]" in report
    failing_fsck("--fix", match="problems --fix cannot repair")
    assert MLModel.objects.filter(pk=version.pk).exists()  # kept for a restore


def test_fix_recomputes_a_wrong_digest_from_the_entries(project, bob):
    model = upload(bob, project, content=b"weights")
    right = model.digest
    MLModel.objects.filter(pk=model.pk).update(digest="0" * 64)
    report = failing_fsck(match="inconsistencies found")
    assert f"wrong digest: model {model.pk} has {'0' * 64}, its files give {right}" in report
    fsck("--fix")
    assert MLModel.objects.get(pk=model.pk).digest == right
    assert "0 inconsistent" in fsck()


def test_fix_points_a_one_file_version_back_at_its_blob(project, bob):
    model = upload(bob, project, content=b"weights")
    key = model.entries.get().blob.key
    MLModel.objects.filter(pk=model.pk).update(file="blobs/sha256/00/elsewhere")
    blobs.storage().save("blobs/sha256/00/elsewhere", ContentFile(b"weights"))
    report = failing_fsck(match="inconsistencies found")
    assert f"wrong file: model {model.pk} points at blobs/sha256/00/elsewhere, its blob is {key}" in report
    fsck("--fix")
    assert MLModel.objects.get(pk=model.pk).file.name == key


def test_a_one_file_versions_hash_that_differs_from_its_entry_is_reported(project, bob):
    model = upload(bob, project, content=b"weights")
    MLModel.objects.filter(pk=model.pk).update(file_sha256="f" * 64)
    report = failing_fsck(match="inconsistencies found")
    assert f"one-file mismatch: model {model.pk} says {'f' * 64}" in report


def test_a_version_without_a_manifest_is_reported(project, bob):
    model = upload(bob, project, content=b"weights")
    model.entries.all().delete()
    assert f"no manifest: model {model.pk}" in failing_fsck(match="inconsistencies found")


def test_fix_removes_an_old_rowless_blob_file_and_the_row_of_a_blob_gone_and_unused(project, bob):
    upload(bob, project, content=b"kept")
    orphan = blobs.put(
        ContentFile(b"stored, then the upload failed"), hashlib.sha256(b"stored, then the upload failed").hexdigest()
    )
    past = time.time() - 7200
    os.utime(path_of(orphan), (past, past))
    gone = Blob.objects.create(sha256="e" * 64, size=3, key=blobs.blob_key("e" * 64))

    report = failing_fsck(match="inconsistencies found")
    assert f"orphan file: {orphan}" in report
    assert f"missing blob: sha256:{gone.sha256} {gone.key}, used by no version" in report
    fsck("--fix")
    assert not blobs.storage().exists(orphan) and not Blob.objects.filter(pk=gone.pk).exists()
    assert "0 orphan files" in fsck() and "0 missing" in fsck()


def test_unused_blobs_are_counted_for_gc_and_are_not_an_error(project, bob):
    blobs.put(ContentFile(b"unused"), hashlib.sha256(b"unused").hexdigest())
    Blob.objects.create(
        sha256=hashlib.sha256(b"unused").hexdigest(), size=6, key=blobs.blob_key(hashlib.sha256(b"unused").hexdigest())
    )
    assert "1 blobs (6 bytes) used by nothing: maisie_gc deletes them." in fsck()


def test_a_copy_under_the_content_key_of_a_blob_not_yet_relocated_is_not_an_orphan(project, bob):
    model = upload(bob, project, content=b"old weights")
    blob = model.entries.get().blob
    legacy = blobs.storage().save("models/ab/0123456789abcdef", ContentFile(b"old weights"))
    Blob.objects.filter(pk=blob.pk).update(key=legacy)  # as migration 0011 left it
    MLModel.objects.filter(pk=model.pk).update(file=legacy)
    past = time.time() - 7200
    os.utime(path_of(blob.key), (past, past))  # the copy an upload of the same bytes stored

    assert "0 orphan files and 0 rows with a missing file found." in fsck()
