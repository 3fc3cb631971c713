"""`manage.py maisie_gc [--dry-run]`: delete the blobs nothing uses any more (docs/storage.md,
"Garbage collection").

First expired upload sessions go (their blobs are then unused unless a version holds them), then
every blob that no manifest entry and no open session references, and blob files in storage with
no row at all (an upload that stored its bytes and then failed). Each delete is `blobs.release`,
which takes the blob's advisory lock and row lock and looks again, so a blob an upload is
referencing at that moment is kept (registry/blobs.py's docstring; test_gc_races_pg.py).

The grace period protects bytes whose row or reference is still on its way: a blob row younger
than it, or a file without a row modified within it, is left for the next run.
"""

import contextlib
import re
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry import blobs, upload_sessions
from registry.models import Blob, UploadSessionBlob

GRACE_HOURS = 24
_BLOB_NAME = re.compile(r"^blobs/sha256/([0-9a-f]{2})/([0-9a-f]{64})$")


def stored_blob_files():
    """(name, size, modified) of every file under blobs/: one listing request per 1,000 objects
    on S3 (no HEAD per object), a directory walk on the file system."""
    store = blobs.storage()
    if blobs.is_s3(store):
        for obj in store.bucket.objects.filter(Prefix=f"{blobs.PREFIX}/"):
            yield obj.key, obj.size, obj.last_modified
        return
    with contextlib.suppress(FileNotFoundError):  # nothing stored under blobs/ yet
        for folder in store.listdir(blobs.PREFIX)[0]:
            for name in store.listdir(f"{blobs.PREFIX}/{folder}")[1]:
                key = f"{blobs.PREFIX}/{folder}/{name}"
                yield key, store.size(key), store.get_modified_time(key)


def sha256_of_name(name: str) -> str | None:
    """The SHA-256 a blob file's name says it holds; None for any other name."""
    match = _BLOB_NAME.match(name)
    return match.group(2) if match and match.group(2).startswith(match.group(1)) else None


def sessions_blobs() -> set[str]:
    """The SHA-256s upload sessions hold (needed or skipped), in one query: what
    `blobs.referenced` asks of sessions, for listing many blobs at once."""
    return set(UploadSessionBlob.objects.values_list("sha256", flat=True).distinct())


def expire_sessions() -> str:
    """Expire the upload sessions past their time (rows, part files, part objects); a line saying how many."""
    gone = upload_sessions.expire()  # the ids of the sessions deleted
    return f"{len(gone)} expired upload sessions deleted."


class Command(BaseCommand):
    help = "Delete blobs that no version and no open upload session uses (--dry-run: list them)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted and the bytes freed")
        parser.add_argument(
            "--grace-hours",
            type=float,
            default=GRACE_HOURS,
            help=f"keep blobs stored or modified within this many hours (default {GRACE_HOURS}): "
            "an upload in progress stores its bytes before it references them",
        )

    def handle(self, *args, dry_run: bool, grace_hours: float, **options):
        if grace_hours < 0:
            raise CommandError("--grace-hours must be 0 or more.")
        cutoff = timezone.now() - timedelta(hours=grace_hours)
        if dry_run:
            self.stdout.write("dry run: expired upload sessions are kept; their blobs count as used.")
        else:
            self.stdout.write(expire_sessions())

        candidates = self._candidates(cutoff)
        if dry_run:
            for sha256, (key, size) in sorted(candidates.items()):
                self.stdout.write(f"would delete: sha256:{sha256} {key} ({size} bytes)")
            freed = sum(size for _, size in candidates.values())
            self.stdout.write(f"{len(candidates)} blobs would be deleted, {freed} bytes freed.")
            return
        deleted = blobs.release(candidates)
        for sha256 in deleted:
            key, size = candidates[sha256]
            self.stdout.write(f"deleted: sha256:{sha256} {key} ({size} bytes)")
        freed = sum(candidates[sha256][1] for sha256 in deleted)
        kept = len(candidates) - len(deleted)
        tail = f"; {kept} kept: referenced since they were listed" if kept else ""
        self.stdout.write(f"{len(deleted)} blobs deleted, {freed} bytes freed{tail}.")

    def _candidates(self, cutoff: datetime) -> dict[str, tuple[str, int]]:
        """SHA-256 -> (key, size) of the blobs to delete, as seen now; `blobs.release` looks
        again under the locks before it deletes any."""
        in_sessions = sessions_blobs()
        unused = Blob.objects.filter(entries__isnull=True, created__lt=cutoff).order_by("sha256")
        found = {
            sha256: (key, size)
            for sha256, key, size in unused.values_list("sha256", "key", "size").iterator()
            if sha256 not in in_sessions
        }
        known = set(Blob.objects.values_list("sha256", flat=True))
        for name, size, modified in stored_blob_files():
            sha256 = sha256_of_name(name)
            if sha256 and sha256 not in known and sha256 not in in_sessions and modified < cutoff:
                found[sha256] = (name, size)
        return found
