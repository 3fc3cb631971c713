"""Blobs: a file's bytes stored once per SHA-256, named by it (docs/storage.md, "Blobs").

Every write and delete of blob bytes goes through here. The one rule that keeps them safe
together: a blob's bytes are deleted only inside a transaction that holds its row locked and
has just seen that nothing references it, and an upload references a blob only inside a
transaction that holds the same row locked and has just seen its bytes in storage. Either the
upload's reference commits first (and the release sees it and keeps the blob), or the release
commits first (the row is gone, so the upload stores its own bytes again). On SQLite a write
transaction holds the whole database, which gives the same order.
"""

import contextlib
import hashlib
import logging
import sys

from django.db import transaction

from registry.models import Blob, ManifestEntry, MLModel, UploadSessionBlob

logger = logging.getLogger(__name__)

PREFIX = "blobs/sha256"


class BlobMissing(Exception):
    """The blob's bytes are not in storage and the caller has none to store."""


def blob_key(sha256: str) -> str:
    """The storage name of a blob: one folder level of 256 under blobs/sha256/."""
    return f"{PREFIX}/{sha256[:2]}/{sha256}"


def storage():
    """The storage blobs live in: the models' file storage (STORAGES["default"])."""
    return MLModel._meta.get_field("file").storage


def is_s3(store) -> bool:
    # boto3 costs every worker about 30 MB, so it is imported only where S3 is in use (an
    # S3Storage instance means its module, and boto3, are loaded already).
    if "storages.backends.s3" not in sys.modules:
        return False
    from storages.backends.s3 import S3Storage

    return isinstance(store, S3Storage)


def open_key(key: str, wanted: tuple[int, int] | None = None):
    """The stored bytes under `key` (all, or the wanted inclusive range) as a file object at its
    first byte; FileNotFoundError when they are not there.

    From S3 it is the body of one GET for exactly those bytes, read as it arrives: django-storages'
    S3File would first copy the whole object into memory, even for a ten-byte range. (The stored
    name is the object's key: settings.py gives the storage no `location` prefix.)
    """
    store = storage()
    if is_s3(store):
        from botocore.exceptions import ClientError

        params = {"Range": "bytes={}-{}".format(*wanted)} if wanted else {}
        try:
            return store.bucket.Object(key).get(**params)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise
    fileobj = store.open(key, "rb")
    if wanted:
        fileobj.seek(wanted[0])
    return fileobj


def sha256_of_key(key: str) -> tuple[str, int]:
    """SHA-256 and size of the bytes stored under `key`, read as downloads read them, a MiB at a
    time (maisie_fsck --verify, maisie_blobs_relocate)."""
    digest, size = hashlib.sha256(), 0
    with contextlib.closing(open_key(key)) as fileobj:
        while chunk := fileobj.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def open_blob(blob: Blob, wanted: tuple[int, int] | None = None):
    """A blob's bytes as a readable binary file object (see open_key)."""
    return open_key(blob.key, wanted)


def put(content, sha256: str) -> str:
    """Store `content` (a Django File whose SHA-256 the caller has checked) as the blob of
    `sha256`, unless those bytes are stored already; its key. Called before the transaction that
    references the blob, so a large file is not copied while rows are locked; `reference` checks
    again under the lock."""
    key = blob_key(sha256)
    store = storage()
    # A blob stored before blobs existed keeps its old name until maisie_blobs_relocate moves
    # it: those bytes are the blob's too, and storing a second copy would only waste the room.
    known = Blob.objects.filter(sha256=sha256).values_list("key", flat=True).first()
    for stored in dict.fromkeys(k for k in (known, key) if k):
        if store.exists(stored):
            return stored
    name = store.save(key, content)
    if name != key:
        # Another upload stored the same bytes under the key a moment before: the file system
        # gave this copy another name. The key holds the same bytes; this copy is not needed.
        store.delete(name)
    return key


def _lock(sha256: str) -> None:
    """Hold this SHA-256 until the transaction ends, whether or not its row exists yet, so a
    release of bytes that have no row (an upload that failed after storing them) and an upload
    about to make that row take turns. PostgreSQL: a transaction-scoped advisory lock on the
    hash's first 60 bits. SQLite: its write transactions already run one at a time."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(sha256[:15], 16)])


def reference(sha256: str, size: int, content=None) -> Blob:
    """The blob of `sha256` locked for this transaction, its bytes checked present: what a new
    manifest entry may point at. Stores `content` when the bytes are gone (a release won the
    race); BlobMissing when they are gone and there is no content to store."""
    assert transaction.get_connection().in_atomic_block, "reference() must run inside the referencing transaction"
    store = storage()
    _lock(sha256)
    blob = Blob.objects.select_for_update().filter(sha256=sha256).first()
    if blob is not None and store.exists(blob.key):
        return blob
    if content is None:
        raise BlobMissing(sha256)
    key = put(content, sha256)
    if blob is None:
        return Blob.objects.create(sha256=sha256, size=size, key=key)
    blob.key = key
    blob.save(update_fields=["key"])
    return blob


def referenced(sha256: str) -> bool:
    """Whether a manifest entry or an open upload session (a blob it needs or skipped) still needs this blob."""
    return (
        ManifestEntry.objects.filter(blob_id=sha256).exists()
        or UploadSessionBlob.objects.filter(sha256=sha256).exists()
    )


def release(sha256s) -> list[str]:
    """Delete the blobs of these SHA-256s that nothing references any more (after a version is
    deleted, or an upload failed); the SHA-256s deleted. Each in its own transaction holding the
    blob's row: see the module's docstring for why that is safe against an upload in flight."""
    deleted = []
    for sha256 in sorted(set(sha256s)):
        with transaction.atomic():
            _lock(sha256)
            if referenced(sha256):
                continue
            blob = Blob.objects.select_for_update().filter(sha256=sha256).first()
            # No row: bytes an upload stored before its transaction failed (put() runs first).
            storage().delete(blob.key if blob else blob_key(sha256))
            if blob is not None:
                blob.delete()
        deleted.append(sha256)
    return deleted


def release_on_commit(sha256s) -> None:
    """`release` once the current transaction has committed (the entries it deletes are gone)."""
    wanted = sorted(set(sha256s))
    if wanted:
        transaction.on_commit(lambda: _release_logged(wanted))


def _release_logged(sha256s) -> None:
    try:
        release(sha256s)
    except Exception:
        # The version is gone either way; what is left is an unreferenced blob, which
        # maisie_gc deletes later. A failed delete must not turn the user's delete into a 500.
        logger.exception("could not release blobs %s; maisie_gc will", sha256s)
