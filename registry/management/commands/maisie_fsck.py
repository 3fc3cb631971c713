"""Compare stored files with the blob and model rows, the manifests with their versions, and the
key counts with the models: report, optionally fix (docs/storage.md, "Checking and repairing").

What --fix repairs, because the rows or other bytes say what is right: files with no row (older
than the grace period; blob files go through `blobs.release`, under the blob's locks), one-file
versions whose file is gone (removed as a delete would), a digest that is not its entries' (the
entries are the version), a one-file version's `file` that is not its blob's key, blob rows whose
bytes are gone and that nothing references, drifted key counts, stale upload spools. What it
cannot: bytes that are not what their row says (corrupt, restore them from a backup), a folder
version with a blob missing, a version without a manifest.
"""

import contextlib
import os
from collections import defaultdict
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry import blobs, keystats, manifests, services
from registry.management.commands.maisie_gc import sessions_blobs, sha256_of_name
from registry.models import Blob, ManifestEntry, MLModel
from registry.uploads import spool_stale_seconds, stale_spool_files

# Where stored files live: blobs by their SHA-256 (registry/blobs.py), and files stored before
# blobs existed, under their old names until maisie_blobs_relocate moves them.
ROOTS = ("models", "blobs")
LEGACY_ROOT = "models/"
_BLOCK = 1024 * 1024


def walk(storage, folder: str):
    """Every file name under `folder`, on any storage backend (file system or S3)."""
    dirs, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for sub in dirs:
        yield from walk(storage, f"{folder}/{sub}")


class Stored:
    """The names under ROOTS, and their sizes: from the listing on S3 (no request per object),
    from the file system otherwise."""

    def __init__(self, storage):
        self.storage = storage
        self.sizes: dict[str, int] = {}
        if blobs.is_s3(storage):
            for root in ROOTS:
                for obj in storage.bucket.objects.filter(Prefix=f"{root}/"):
                    self.sizes[obj.key] = obj.size
            self.names = set(self.sizes)
        else:
            self.names = set()
            for root in ROOTS:
                with contextlib.suppress(FileNotFoundError):  # nothing stored there yet
                    self.names |= set(walk(storage, root))

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __len__(self) -> int:
        return len(self.names)

    def size(self, name: str) -> int:
        if name not in self.sizes:
            self.sizes[name] = self.storage.size(name)
        return self.sizes[name]


class Command(BaseCommand):
    help = "Check stored files, blobs, manifests and references against the rows; --fix repairs what it safely can."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="repair what can be repaired safely (see the docs)")
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
        self.fix = fix
        self.unfixable = 0  # problems --fix leaves for a person
        storage = blobs.storage()
        stored = Stored(storage)
        rows = dict(MLModel.objects.exclude(file="").values_list("file", "pk"))
        blob_rows = {key: (sha256, size) for sha256, key, size in Blob.objects.values_list("sha256", "key", "size")}
        cutoff = timezone.now() - timedelta(minutes=grace_minutes)

        # A blob still under its pre-blob name may have a copy under its content key already (an
        # upload of the same bytes stores there first): maisie_blobs_relocate uses it, not an orphan.
        content_keys = {blobs.blob_key(sha256) for sha256, _ in blob_rows.values()}
        known = rows.keys() | blob_rows.keys() | content_keys
        orphans = sorted(name for name in stored.names - known if storage.get_modified_time(name) < cutoff)
        missing = sorted(name for name in rows.keys() - stored.names)

        for name in orphans:
            self.stdout.write(f"orphan file: {name} ({stored.size(name)} bytes)")
        for name in missing:
            self.stdout.write(f"missing file: model {rows[name]} expects {name}")
        if fix:
            for name in orphans:
                self._delete_orphan(storage, name)
            services.models_without_files_remove(missing)
        verb = "removed" if fix else "found"
        self.stdout.write(
            f"{len(stored)} files, {len(rows)} models: {len(orphans)} orphan files and "
            f"{len(missing)} rows with a missing file {verb}."
        )
        problems = self._check_blobs(stored, blob_rows) + self._check_manifests()
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
        if (orphans or missing or drift or spools or problems) and not fix:
            raise CommandError("inconsistencies found; run with --fix to remove them")
        if corrupt:
            raise CommandError(f"{len(corrupt)} stored files do not match their rows; restore them from a backup")
        if self.unfixable:
            raise CommandError(f"{self.unfixable} problems --fix cannot repair; restore the files from a backup")

    def _delete_orphan(self, storage, name: str) -> None:
        sha256 = sha256_of_name(name)
        if sha256:
            blobs.release([sha256])  # under the blob's locks: an upload may be referencing it now
        else:
            storage.delete(name)

    # --- blobs ------------------------------------------------------------------------------

    def _check_blobs(self, stored: Stored, blob_rows: dict) -> int:
        """Every blob row's bytes are there at its size; unreferenced blobs are counted (GC's)."""
        problems = 0
        used = set(ManifestEntry.objects.values_list("blob_id", flat=True).distinct())
        in_sessions = sessions_blobs()
        unused_bytes = unused = 0
        for key, (sha256, size) in sorted(blob_rows.items()):
            if sha256 not in used and sha256 not in in_sessions:
                unused, unused_bytes = unused + 1, unused_bytes + size
            if key not in stored:
                problems += 1
                if sha256 in used:
                    self.stdout.write(f"missing blob: sha256:{sha256} {key}, used by models {self._users(sha256)}")
                    if self.fix and MLModel.objects.filter(entries__blob_id=sha256, file="").exists():
                        self.unfixable += 1  # a folder version: its one-file siblings went above
                else:
                    self.stdout.write(f"missing blob: sha256:{sha256} {key}, used by no version")
                    if self.fix:
                        Blob.objects.filter(pk=sha256, entries__isnull=True).delete()
            elif stored.size(key) != size:
                problems += 1
                self.stdout.write(f"wrong size: sha256:{sha256} {key} holds {stored.size(key)} bytes, its row {size}")
                if self.fix:
                    self.unfixable += 1
        self.stdout.write(f"{len(blob_rows)} blobs: {problems} missing or of the wrong size.")
        if unused:
            self.stdout.write(f"{unused} blobs ({unused_bytes} bytes) used by nothing: maisie_gc deletes them.")
        return problems

    def _users(self, sha256: str) -> list[int]:
        return sorted(MLModel.objects.filter(entries__blob_id=sha256).values_list("pk", flat=True).distinct())

    # --- manifests --------------------------------------------------------------------------

    def _check_manifests(self) -> int:
        """Every version has entries; its digest is theirs; a one-file version's `file` and
        `file_sha256` are its one entry's blob key and SHA-256."""
        entries = defaultdict(list)
        rows = ManifestEntry.objects.order_by("model_id", "path")
        for model_id, path, size, sha256, key in rows.values_list(
            "model_id", "path", "blob__size", "blob_id", "blob__key"
        ).iterator(chunk_size=5000):
            entries[model_id].append((path, size, sha256, key))
        problems = unrelocated = 0
        versions = MLModel.objects.order_by("pk").values_list("pk", "digest", "file", "file_sha256", "file_size")
        for pk, digest, file, file_sha256, file_size in versions.iterator(chunk_size=5000):
            files = entries.get(pk)
            if not files:
                problems += 1
                self.unfixable += self.fix
                self.stdout.write(f"no manifest: model {pk} has no files listed")
                continue
            wanted = manifests.digest(manifests.manifest_of((p, s, h) for p, s, h, _ in files))
            if digest != wanted:
                problems += 1
                self.stdout.write(f"wrong digest: model {pk} has {digest or '(none)'}, its files give {wanted}")
                if self.fix:
                    MLModel.objects.filter(pk=pk).update(digest=wanted)
            if not file:
                continue  # a folder version
            _, size, sha256, key = files[0]
            if len(files) != 1 or file_sha256 != sha256 or file_size != size:
                problems += 1
                self.unfixable += self.fix
                self.stdout.write(
                    f"one-file mismatch: model {pk} says {file_sha256} ({file_size} bytes), "
                    f"its manifest lists {len(files)} files, the first {sha256} ({size} bytes)"
                )
            elif file != key and file.startswith(LEGACY_ROOT):
                unrelocated += 1  # a second copy of the same bytes from before blobs
            elif file != key:
                problems += 1
                self.stdout.write(f"wrong file: model {pk} points at {file}, its blob is {key}")
                if self.fix:
                    MLModel.objects.filter(pk=pk, file=file).update(file=key)
        self.stdout.write(f"{len(entries)} manifests: {problems} inconsistent.")
        if unrelocated:
            self.stdout.write(
                f"{unrelocated} versions keep their own copy of their blob's bytes from before blobs: "
                "run maisie_blobs_relocate."
            )
        return problems

    # --- --verify ---------------------------------------------------------------------------

    def _verify(self, stored: Stored) -> list[str]:
        """Re-hash every stored file that a row names: bit rot, a truncated copy, a replaced object.
        Each is read once, whether a blob, a version's file or both."""
        results: dict[str, tuple[str, int]] = {}

        def hashed(name):
            if name not in results:
                results[name] = blobs.sha256_of_key(name)
            return results[name]

        corrupt = set()
        for sha256, key, size in Blob.objects.order_by("sha256").values_list("sha256", "key", "size").iterator():
            if key not in stored:
                continue  # reported as missing above
            digest, read = hashed(key)
            if (digest, read) != (sha256, size):
                corrupt.add(key)
                self.stdout.write(
                    f"corrupt blob: sha256:{sha256} {key} has SHA-256 {digest} ({read} bytes), "
                    f"used by models {self._users(sha256)}"
                )
        models = MLModel.objects.exclude(file="").order_by("pk")
        for pk, name, file_sha256, file_size in models.values_list("pk", "file", "file_sha256", "file_size").iterator():
            if name not in stored:
                continue  # reported as missing above
            digest, size = hashed(name)
            if digest != file_sha256 or size != file_size:
                corrupt.add(name)
                self.stdout.write(
                    f"corrupt file: model {pk} {name} has SHA-256 {digest} ({size} bytes), "
                    f"its row says {file_sha256} ({file_size} bytes)"
                )
        self.stdout.write(f"verified {len(results)} files: {len(corrupt)} corrupt.")
        return sorted(corrupt)
