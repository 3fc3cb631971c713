"""maisie_gc against an upload in flight, on PostgreSQL, each on its own connection (issue 16).

The upload side is what services.model_upload does with a blob: `blobs.put` the bytes, then in
its transaction `blobs.reference` them and write the manifest entry. The test holds the blob's
advisory lock, which both sides take (registry/blobs.py), starts them one after the other so
they queue behind it in that order, checks both are waiting, then lets go. Whichever goes first,
the version's blob is in storage with its bytes afterwards: GC either sees the new reference and
keeps the blob, or deletes it before the upload looks, and the upload stores its bytes again.
"""

import hashlib
import io
import threading
import time

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection, connections, transaction

from registry import blobs
from registry.models import Blob, ManifestEntry
from registry.tests.factories import upload

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory and row locks: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

QUEUE_SECONDS = 0.5  # long enough for a started racer to be waiting on the held lock
CONTENT = b"weights a new version is about to reference"
SHA = hashlib.sha256(CONTENT).hexdigest()


def in_thread(call) -> tuple[threading.Thread, list]:
    result = []

    def run():
        try:
            result.append(call())
        except BaseException as exc:  # handed back to the test
            result.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(QUEUE_SECONDS)
    return thread, result


def reference_in_upload(version):
    """The upload's side: store (unless present), then reference and write the entry in one transaction."""
    blobs.put(ContentFile(CONTENT), SHA)
    with transaction.atomic():
        blob = blobs.reference(SHA, len(CONTENT), content=ContentFile(CONTENT))
        ManifestEntry.objects.create(model=version, path="extra.bin", blob=blob)
    return blob.key


def run_gc() -> str:
    out = io.StringIO()
    call_command("maisie_gc", "--grace-hours", "0", stdout=out)
    return out.getvalue()


def waiting_on_advisory_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0]


@pytest.fixture
def unused_blob(project, bob):
    """A stored blob nothing references (its version was deleted), old enough for GC."""
    key = blobs.put(ContentFile(CONTENT), SHA)
    Blob.objects.create(sha256=SHA, size=len(CONTENT), key=key)
    return key


def race(first, second):
    """Hold the blob's lock, start `first` then `second` behind it, check both wait, let go."""
    holder = transaction.atomic()
    holder.__enter__()
    try:
        blobs._lock(SHA)
        started = [in_thread(first), in_thread(second)]
        assert waiting_on_advisory_locks() == 2  # both queued on the blob's lock, in that order
        assert all(thread.is_alive() for thread, _ in started)
    finally:
        holder.__exit__(None, None, None)
    results = []
    for thread, result in started:
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert not isinstance(result[0], BaseException), result[0]
        results.append(result[0])
    return results


def assert_version_can_read_its_blob(version):
    entry = ManifestEntry.objects.select_related("blob").get(model=version, path="extra.bin")
    with blobs.open_blob(entry.blob) as stored:
        assert stored.read() == CONTENT


def test_upload_references_first_then_gc_keeps_the_blob(project, bob, unused_blob):
    version = upload(bob, project, content=b"the version's own file")

    key, report = race(lambda: reference_in_upload(version), run_gc)

    assert "0 blobs deleted, 0 bytes freed; 1 kept: referenced since they were listed." in report
    assert key == unused_blob  # the same bytes, never deleted and stored again
    assert_version_can_read_its_blob(version)


def test_gc_deletes_first_then_the_upload_stores_its_own_bytes_again(project, bob, unused_blob):
    version = upload(bob, project, content=b"the version's own file")

    report, key = race(run_gc, lambda: reference_in_upload(version))

    assert f"deleted: sha256:{SHA}" in report and "1 blobs deleted" in report
    assert key == blobs.blob_key(SHA)
    assert Blob.objects.get(pk=SHA).entries.get().model_id == version.pk
    assert_version_can_read_its_blob(version)
    assert "0 blobs deleted" in run_gc()  # referenced now: stays
