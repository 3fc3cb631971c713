"""Compare stored model files with model rows, and the key counts with the models: report, optionally fix."""

import contextlib
import os
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry import keystats, services
from registry.downloads import stored_sha256
from registry.models import Blob, MLModel
from registry.uploads import spool_stale_seconds, stale_spool_files

# Where stored files live: blobs by their SHA-256 (registry/blobs.py), and files stored before
# blobs existed, under their old names until maisie_blobs_relocate moves them.
ROOTS = ("models", "blobs")


def walk(storage, folder: str):
    """Every file name under `folder`, on any storage backend (file system or S3)."""
    dirs, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for sub in dirs:
        yield from walk(storage, f"{folder}/{sub}")


class Command(BaseCommand):
    help = "Report (and with --fix remove) stored files without a model row and rows whose file is missing."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="delete orphan files and rows whose file is gone")
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=60,
            help="ignore files younger than this: an upload in progress stores its file before its row commits",
        )
        parser.add_argument(
            "--verify",
            action="store_true",
            help="also read every stored file and compare its SHA-256 and size with its row (reads everything)",
        )

    def handle(self, *args, fix: bool, grace_minutes: int, verify: bool = False, **options):
        storage = MLModel._meta.get_field("file").storage
        stored = set()
        for root in ROOTS:
            with contextlib.suppress(FileNotFoundError):  # nothing stored there yet on a file system
                stored |= set(walk(storage, root))
        rows = dict(MLModel.objects.exclude(file="").values_list("file", "pk"))
        blob_keys = set(Blob.objects.values_list("key", flat=True))
        cutoff = timezone.now() - timedelta(minutes=grace_minutes)

        known = rows.keys() | blob_keys
        orphans = sorted(name for name in stored - known if storage.get_modified_time(name) < cutoff)
        missing = sorted(name for name in rows.keys() - stored)

        for name in orphans:
            self.stdout.write(f"orphan file: {name} ({storage.size(name)} bytes)")
        for name in missing:
            self.stdout.write(f"missing file: model {rows[name]} expects {name}")
        if fix:
            for name in orphans:
                storage.delete(name)
            services.models_without_files_remove(missing)
        verb = "removed" if fix else "found"
        self.stdout.write(
            f"{len(stored)} files, {len(rows)} models: {len(orphans)} orphan files and "
            f"{len(missing)} rows with a missing file {verb}."
        )
        # Writes outside services.py (a bulk load without `keystats_rebuild`) leave the key counts
        # behind the models; one scan of the models' JSON tells.
        drift = keystats.drift()
        if drift:
            self.stdout.write(f"key counts: {drift} rows differ from the models" + (", recounted." if fix else "."))
            if fix:
                keystats.rebuild()
        # Spool files of uploads that died with their process (server start-up removes them too).
        spools = stale_spool_files()
        for path, size in spools:
            self.stdout.write(f"stale upload spool: {path} ({size} bytes)")
        if fix:
            for path, _ in spools:
                with contextlib.suppress(FileNotFoundError):  # a worker starting up swept it first
                    os.unlink(path)
        if spools:
            hours = spool_stale_seconds() / 3600
            self.stdout.write(f"{len(spools)} upload spool files unwritten for over {hours:.1f} h {verb}.")
        corrupt = self._verify(stored) if verify else []
        if (orphans or missing or drift or spools) and not fix:
            raise CommandError("inconsistencies found; run with --fix to remove them")
        if corrupt:
            raise CommandError(f"{len(corrupt)} stored files do not match their rows; restore them from a backup")

    def _verify(self, stored: set) -> list[int]:
        """Re-hash every stored file that has a row: bit rot, a truncated copy, a replaced object."""
        corrupt = []
        checked = 0
        models = MLModel.objects.only("pk", "file", "file_size", "file_sha256").order_by("pk")
        for model in models.iterator():
            if model.file.name not in stored:
                continue  # reported as missing above
            digest, size = stored_sha256(model)
            checked += 1
            if digest != model.file_sha256 or size != model.file_size:
                corrupt.append(model.pk)
                self.stdout.write(
                    f"corrupt file: model {model.pk} {model.file.name} has SHA-256 {digest} ({size} bytes), "
                    f"its row says {model.file_sha256} ({model.file_size} bytes)"
                )
        self.stdout.write(f"verified {checked} files: {len(corrupt)} corrupt.")
        return corrupt
