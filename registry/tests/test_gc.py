"""`manage.py maisie_gc`: blobs nothing uses go (after the grace period), the rest stay; and its
daily task. The race against an upload in flight is test_gc_races_pg.py."""

import hashlib
import io
import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from registry import blobs, tasks
from registry.models import Blob, UploadSession, UploadSessionBlob
from registry.tests.factories import upload
from registry.tests.test_s3 import bucket, moto  # noqa: F401 (fixtures)


def gc(*args) -> str:
    out = io.StringIO()
    call_command("maisie_gc", *args, stdout=out)
    return out.getvalue()


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def unused_blob(content: bytes, hours_old: float = 48) -> Blob:
    """A blob stored and then left without a reference (its version deleted, an upload abandoned)."""
    key = blobs.put(ContentFile(content), sha(content))
    blob = Blob.objects.create(sha256=sha(content), size=len(content), key=key)
    Blob.objects.filter(pk=blob.pk).update(created=timezone.now() - timedelta(hours=hours_old))
    return blob


def rowless_file(content: bytes, hours_old: float = 48) -> str:
    """Bytes an upload stored before its transaction failed: a blob file with no row."""
    key = blobs.put(ContentFile(content), sha(content))
    past = time.time() - hours_old * 3600
    os.utime(blobs.storage().path(key), (past, past))
    return key


def stored(key: str) -> bool:
    return blobs.storage().exists(key)


def test_gc_deletes_old_unused_blobs_and_rowless_files_and_keeps_everything_else(project, bob):
    used = upload(bob, project, content=b"weights in use")
    used_blob = used.entries.get().blob
    Blob.objects.filter(pk=used_blob.pk).update(created=timezone.now() - timedelta(days=30))
    old = unused_blob(b"old and unused")
    young = unused_blob(b"stored a minute ago", hours_old=0.01)
    orphan = rowless_file(b"failed upload")
    fresh_orphan = rowless_file(b"upload in flight", hours_old=0.01)
    not_a_blob = blobs.storage().save("blobs/sha256/zz/not-a-hash", ContentFile(b"?"))

    report = gc()

    assert f"deleted: sha256:{old.sha256} {old.key} (14 bytes)" in report
    assert f"deleted: sha256:{sha(b'failed upload')} {orphan} (13 bytes)" in report
    assert "2 blobs deleted, 27 bytes freed." in report
    assert not stored(old.key) and not Blob.objects.filter(pk=old.pk).exists()
    assert not stored(orphan)
    assert stored(used_blob.key) and Blob.objects.filter(pk=used_blob.pk).exists()
    assert stored(young.key) and Blob.objects.filter(pk=young.pk).exists()
    assert stored(fresh_orphan) and stored(not_a_blob)
    assert "0 blobs deleted, 0 bytes freed." in gc()  # nothing left to do


def test_dry_run_lists_what_would_go_and_the_bytes_freed_and_deletes_nothing(project, bob):
    upload(bob, project, content=b"kept")
    old = unused_blob(b"x" * 1000)
    orphan = rowless_file(b"y" * 24)

    report = gc("--dry-run")

    assert f"would delete: sha256:{old.sha256} {old.key} (1000 bytes)" in report
    assert f"would delete: sha256:{sha(b'y' * 24)} {orphan} (24 bytes)" in report
    assert "2 blobs would be deleted, 1024 bytes freed." in report
    assert stored(old.key) and stored(orphan) and Blob.objects.filter(pk=old.pk).exists()


def test_grace_hours_sets_what_counts_as_old(project, bob):
    blob = unused_blob(b"two hours old", hours_old=2)
    assert "0 blobs deleted" in gc("--grace-hours", "3")
    assert "1 blobs deleted" in gc("--grace-hours", "1")
    assert not stored(blob.key)
    with pytest.raises(CommandError, match="--grace-hours must be 0 or more"):
        gc("--grace-hours", "-1")


def test_a_deleted_versions_blob_shared_with_another_version_stays(project, bob):
    from registry import services

    first = upload(bob, project, name="a", content=b"same bytes")
    second = upload(bob, project, name="b", content=b"same bytes")
    blob = first.entries.get().blob
    with transaction.atomic():
        services.model_delete(model=first, user=bob)
    Blob.objects.filter(pk=blob.pk).update(created=timezone.now() - timedelta(days=30))
    assert "0 blobs deleted" in gc()
    assert stored(blob.key) and second.entries.get().blob_id == blob.pk


@pytest.mark.django_db(transaction=True)
def test_the_daily_task_runs_gc_and_queues_the_next_run(project, bob):
    old = unused_blob(b"collected by the task")
    assert tasks.schedule_gc(delay=0)
    assert not tasks.schedule_gc(delay=0)  # one queued already: a second worker queues none

    call_command("db_worker", "--batch", "--interval", "0", "--no-startup-delay", stdout=io.StringIO())

    runs = DBTaskResult.objects.filter(task_path="registry.tasks.collect_garbage")
    done = runs.get(status="SUCCESSFUL")
    assert done.return_value == "1 blobs deleted, 21 bytes freed."
    assert not stored(old.key)
    nxt = runs.get(status="READY")  # tomorrow's
    assert nxt.run_after > timezone.now() + timedelta(hours=23)


def session_holding(project, user, blob: Blob, expires_in: timedelta) -> UploadSession:
    """An upload session that skipped `blob` (its uploader can read a version holding it)."""
    session = UploadSession.objects.create(
        user=user, project=project, name="m", files=[], digest="0" * 64, expires=timezone.now() + expires_in
    )
    UploadSessionBlob.objects.create(session=session, sha256=blob.sha256, size=blob.size, needed=False, part_size=1)
    return session


def test_an_open_sessions_blob_stays_and_an_expired_one_is_deleted_first(project, bob):
    held = unused_blob(b"an open upload will reference this")
    dropped = unused_blob(b"an abandoned upload skipped this")
    open_session = session_holding(project, bob, held, timedelta(hours=1))
    expired = session_holding(project, bob, dropped, -timedelta(minutes=1))

    dry = gc("--dry-run")
    assert "0 blobs would be deleted" in dry and UploadSession.objects.filter(pk=expired.pk).exists()

    report = gc()

    assert report.startswith("1 expired upload sessions deleted.")
    assert not UploadSession.objects.filter(pk=expired.pk).exists()
    assert f"deleted: sha256:{dropped.sha256}" in report and not stored(dropped.key)
    assert UploadSession.objects.filter(pk=open_session.pk).exists()
    assert stored(held.key) and Blob.objects.filter(pk=held.pk).exists()


def test_gc_on_s3_lists_the_bucket_and_deletes_through_the_same_locks(project, bob, bucket):  # noqa: F811
    used = upload(bob, project, content=b"in use on S3")
    old = unused_blob(b"unused on S3", hours_old=0)
    rowless = blobs.put(ContentFile(b"rowless on S3"), sha(b"rowless on S3"))

    assert "0 blobs would be deleted" in gc("--dry-run")  # all stored just now
    report = gc("--grace-hours", "0")

    assert "2 blobs deleted, 25 bytes freed." in report
    assert bucket.keys() == [used.entries.get().blob.key]
    assert not Blob.objects.filter(pk=old.pk).exists() and not stored(rowless)
