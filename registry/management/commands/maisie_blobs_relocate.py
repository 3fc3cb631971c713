"""`manage.py maisie_blobs_relocate`: move the bytes of files stored before blobs existed to their
content keys (docs/storage.md, "Migrating today's one-file models").

Migration 0011 gave every old file a blob row under its old name (`models/ab/<uuid>`, the first
version's), and left a second version of the same bytes pointing at its own copy. For each such
blob this command:
1. reads its bytes once, hashing them; bytes that are not the recorded size and SHA-256 are left
   where they are and reported (as `maisie_fsck --verify` would), never moved under a false name;
2. puts them under `blobs/sha256/ab/<sha256>` without sending them anywhere: a hard link on the
   file system (a copy where a link is impossible), fsynced; a server-side copy on S3 (CopyObject,
   and UploadPartCopy parts above 5 GiB);
3. in one transaction holding the blob's locks (registry/blobs.py), points the blob row and every
   version whose `file` held these bytes at the new key;
4. after the commit, deletes the old file, and the other versions' copies once their bytes are
   checked to be the same (a copy that differs stays, reported, its version untouched).
It is idempotent and resumable: a blob already under its key is skipped, a copy already made is
checked and used. A run stopped between 3 and 4 leaves old files no row names: `maisie_fsck --fix`
removes them.
"""

import contextlib
import os
import shutil
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from registry import blobs
from registry.management.commands.maisie_fsck import LEGACY_ROOT
from registry.models import Blob, MLModel

GiB = 1024**3


class Mismatch(Exception):
    """Stored bytes that are not what their row says."""


class Command(BaseCommand):
    help = "Move blobs stored under their pre-blob names (models/...) to blobs/sha256/, checking their bytes."

    def handle(self, *args, **options):
        self.store = blobs.storage()
        under_old_names = Blob.objects.exclude(key__startswith=f"{blobs.PREFIX}/").values_list("sha256", flat=True)
        with_old_copies = Blob.objects.filter(entries__model__file__startswith=LEGACY_ROOT).values_list(
            "sha256", flat=True
        )
        todo = sorted(set(under_old_names) | set(with_old_copies))
        moved = left = self.differing = 0
        for sha256 in todo:
            try:
                if self._relocate(sha256):
                    moved += 1
            except (Mismatch, FileNotFoundError) as exc:
                left += 1
                self.stdout.write(f"left: sha256:{sha256}: {exc}")
        tail = f"; {self.differing} copies differ from their blob" if self.differing else ""
        self.stdout.write(f"{moved} blobs relocated, {left} left where they are{tail}.")
        if left or self.differing:
            raise CommandError(
                f"{left + self.differing} files left under their old names; see above, and maisie_fsck --verify"
            )

    def _relocate(self, sha256: str) -> bool:
        blob = Blob.objects.filter(pk=sha256).first()
        if blob is None:
            return False  # deleted since the list was made
        old, target = blob.key, blobs.blob_key(sha256)
        if old != target:
            self._check(old, sha256, blob.size)
            self._place(old, target, sha256, blob.size)
        # The other versions' own copies of these bytes, checked before anything is deleted.
        copies = []
        files = MLModel.objects.filter(entries__blob_id=sha256, file__startswith=LEGACY_ROOT).exclude(file=old)
        for name in sorted(set(files.values_list("file", flat=True))):
            try:
                self._check(name, sha256, blob.size)
            except Mismatch as exc:
                self.differing += 1
                self.stdout.write(f"left: a copy of sha256:{sha256}: {exc}; its version still points at it")
                continue
            except FileNotFoundError:
                pass  # gone already: its version reads the blob from now on
            copies.append(name)
        if old == target and not copies:
            return False  # nothing to move: only copies that differ, reported above

        with transaction.atomic():
            blobs._lock(sha256)
            locked = Blob.objects.select_for_update().filter(pk=sha256).first()
            if locked is None or locked.key not in (old, target):
                return False  # released or moved meanwhile; a copy made above is GC's
            Blob.objects.filter(pk=sha256).update(key=target)
            repointed = MLModel.objects.filter(file__in=[old, *copies]).update(file=target)
        removed = [name for name in [old, *copies] if name != target]
        for name in removed:
            self.store.delete(name)
        self.stdout.write(
            f"relocated: sha256:{sha256} {old} -> {target} ({blob.size} bytes; "
            f"{repointed} versions repointed, {len(removed)} old files deleted)"
        )
        return True

    def _check(self, name: str, sha256: str, size: int) -> None:
        digest, read = blobs.sha256_of_key(name)
        if (digest, read) != (sha256, size):
            raise Mismatch(f"{name} holds SHA-256 {digest} ({read} bytes), the row says {sha256} ({size} bytes)")

    def _place(self, old: str, target: str, sha256: str, size: int) -> None:
        """The bytes of `old` under `target` too, durably; a copy already there is checked first."""
        if self.store.exists(target):
            try:
                self._check(target, sha256, size)
                return  # an earlier run, or an upload, stored them already
            except Mismatch:
                self.store.delete(target)  # not the bytes its name says: never keep that
        if blobs.is_s3(self.store):
            self._copy_s3(old, target)
        else:
            self._link(self.store.path(old), self.store.path(target))

    def _copy_s3(self, old: str, target: str) -> None:
        from boto3.s3.transfer import TransferConfig

        # One CopyObject up to 5 GiB (its limit), UploadPartCopy parts of 1 GiB above: server-side.
        config = TransferConfig(multipart_threshold=5 * GiB, multipart_chunksize=GiB)
        bucket = self.store.bucket
        bucket.copy({"Bucket": bucket.name, "Key": old}, target, Config=config)

    def _link(self, source: str, target: str) -> None:
        folder = os.path.dirname(target)
        os.makedirs(folder, exist_ok=True)
        try:
            os.link(source, target)  # the same bytes under a second name: nothing copied
        except OSError:
            # Another file system, or one without hard links: copy to a temporary name, then rename.
            temporary = f"{target}.{uuid.uuid4().hex}.part"
            try:
                with open(source, "rb") as src, open(temporary, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
                    dst.flush()
                    os.fsync(dst.fileno())
                os.rename(temporary, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
        with open(target, "rb") as linked:
            os.fsync(linked.fileno())
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the new name itself survives a crash
        finally:
            os.close(descriptor)
