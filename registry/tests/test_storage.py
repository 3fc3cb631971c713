"""DurableFileSystemStorage and the spool feeding it: the stored bytes and name, and the syncs.

`os.fsync` and the spool's sync_file_range are replaced by spies that record what they were
called on (by device and inode, read from the descriptor itself) and then call the real thing.
"""

import hashlib
import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from maisie_site import transport
from maisie_site.transport import ReceiveBuffers
from registry.models import MLModel
from registry.storage import DurableFileSystemStorage
from registry.tests.factories import upload_form
from registry.uploads import WRITEBACK_BYTES, HashingSpool

pytestmark = pytest.mark.durable  # the durability tests: the real, fsyncing storage
MiB = 1024 * 1024


def identity(path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


@pytest.fixture
def events(monkeypatch) -> list[tuple]:
    """What was fsynced, in order (and, for tests that add them, the queries run meanwhile)."""
    seen: list[tuple] = []
    real_fsync = os.fsync

    def fsync(fd):
        stat = os.fstat(fd)
        seen.append(("fsync", (stat.st_dev, stat.st_ino)))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return seen


def fsynced(events) -> set[tuple[int, int]]:
    return {what for kind, what in events if kind == "fsync"}


@pytest.fixture
def storage(tmp_path, settings):
    # The spool sits beside the storage folder, as in production, so that saving is a rename.
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "tmp"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    return DurableFileSystemStorage(location=tmp_path / "media")


def spooled(content: bytes):
    spool = HashingSpool("model.pt", "application/octet-stream")
    for start in range(0, len(content), MiB):
        spool.write(content[start : start + MiB])
    return spool.finish()


def test_a_spool_fed_from_recycled_buffers_writes_and_hashes_each_chunk_as_it_was(storage):
    buffers = ReceiveBuffers(size=64 * 1024, count=2)  # far fewer buffers than chunks: reused
    spool = HashingSpool("model.pt", "application/octet-stream")
    content = os.urandom(40 * buffers.size)
    for start in range(0, len(content), buffers.size):
        lease = buffers.take()
        lease.buffer[:] = content[start : start + buffers.size]
        spool.write(memoryview(lease.buffer), lease)
        lease.release()  # as the parser does once it has handed the chunk over

    uploaded = spool.finish()

    assert uploaded.read() == content
    assert uploaded.sha256 == hashlib.sha256(content).hexdigest()
    uploaded.close()


def test_it_renames_a_spooled_upload_into_place_and_syncs_it_and_the_folders_it_made(storage, tmp_path, events):
    content = os.urandom(3 * MiB + 5)
    uploaded = spooled(content)
    spool_file = identity(uploaded.temporary_file_path())

    name = storage.save("models/ab/abcdef", uploaded)
    uploaded.close()  # as Django does at the end of a request

    stored = tmp_path / "media" / "models" / "ab" / "abcdef"
    assert name == "models/ab/abcdef"
    assert stored.read_bytes() == content
    assert identity(stored) == spool_file  # moved, not copied
    # media/ did not exist yet, so its entry in tmp_path had to be synced too.
    folders = [stored.parent, stored.parent.parent, tmp_path / "media", tmp_path]
    assert fsynced(events) == {identity(stored), *(identity(folder) for folder in folders)}
    assert events[0] == ("fsync", identity(stored))  # the data first, then the entries


def test_it_syncs_a_file_written_from_memory_and_every_folder_up_to_the_root(storage, tmp_path, events):
    (tmp_path / "media" / "models" / "cd").mkdir(parents=True)

    name = storage.save("models/cd/0123", ContentFile(b"weights"))

    stored = tmp_path / "media" / name
    assert stored.read_bytes() == b"weights"
    folders = [stored.parent, stored.parent.parent, tmp_path / "media"]  # the root's parent is left alone
    assert fsynced(events) == {identity(stored), *(identity(folder) for folder in folders)}


def test_a_taken_name_gets_another_one_and_both_files_are_synced(storage, tmp_path, events):
    first = storage.save("models/ef/same", ContentFile(b"one"))
    second = storage.save("models/ef/same", ContentFile(b"two"))

    assert first == "models/ef/same"
    assert second != first and second.startswith("models/ef/same")
    assert (tmp_path / "media" / second).read_bytes() == b"two"
    assert {identity(tmp_path / "media" / first), identity(tmp_path / "media" / second)} <= fsynced(events)


@pytest.mark.django_db
def test_an_api_upload_is_synced_before_its_row_is_written(api, project, bob, events, settings):
    def record_queries(execute, sql, params, many, context):
        events.append(("sql", sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record_queries):
        response = api.as_user(bob).post("/api/v1/models/", upload_form(project, content=os.urandom(2 * MiB)))

    assert response.status_code == 201, response.content
    stored = Path(settings.MEDIA_ROOT) / MLModel.objects.get().file.name
    synced_at = events.index(("fsync", identity(stored)))
    inserted_at = next(
        i
        for i, (kind, sql) in enumerate(events)
        if kind == "sql" and "INSERT INTO" in sql and MLModel._meta.db_table in sql
    )
    assert synced_at < inserted_at
    assert identity(stored.parent) in fsynced(events)


@pytest.fixture
def writebacks(monkeypatch) -> list[tuple[int, int]]:
    """The (offset, length) ranges the spool handed to the disk early."""
    calls: list[tuple[int, int]] = []
    real = transport.sync_file_range
    if real is None:
        pytest.skip("sync_file_range(2) is Linux-only")

    def spy(fd, offset, length, flags):
        calls.append((offset, length))
        return real(fd, offset, length, flags)

    monkeypatch.setattr(transport, "sync_file_range", spy)
    return calls


def test_a_spool_bound_for_file_system_storage_starts_its_disk_writes_as_it_arrives(storage, writebacks):
    content = os.urandom(2 * WRITEBACK_BYTES + 3 * MiB)

    uploaded = spooled(content)

    assert writebacks == [(0, WRITEBACK_BYTES), (WRITEBACK_BYTES, WRITEBACK_BYTES)]
    assert uploaded.read() == content
    uploaded.close()


def test_a_spool_bound_for_s3_is_left_to_the_page_cache(settings, writebacks):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": "not-contacted"}},
    }

    uploaded = spooled(os.urandom(WRITEBACK_BYTES + MiB))

    assert writebacks == []
    assert uploaded.size == WRITEBACK_BYTES + MiB
    uploaded.close()


def test_the_settings_store_files_in_the_durable_storage_without_s3():
    """The other tests' storage skips the fsyncs (conftest.py); the deployed one must not."""
    from maisie_site import settings as configured

    assert configured.STORAGES["default"]["BACKEND"] == "registry.storage.DurableFileSystemStorage"
