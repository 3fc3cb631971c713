"""Compare stored model files with model rows, and the key counts with the models: report, optionally fix."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry import keystats, services
from registry.models import MLModel

ROOT = "models"


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

    def handle(self, *args, fix: bool, grace_minutes: int, **options):
        storage = MLModel._meta.get_field("file").storage
        try:
            stored = set(walk(storage, ROOT))
        except FileNotFoundError:  # nothing uploaded yet on a file-system storage
            stored = set()
        rows = dict(MLModel.objects.values_list("file", "pk"))
        cutoff = timezone.now() - timedelta(minutes=grace_minutes)

        orphans = sorted(name for name in stored - rows.keys() if storage.get_modified_time(name) < cutoff)
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
        if (orphans or missing or drift) and not fix:
            raise CommandError("inconsistencies found; run with --fix to remove them")
