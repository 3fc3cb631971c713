"""Introspection: read each blob of a version once, keep the facts, sum them up per version.

Called by the background task queued when a version is created (formats/tasks.py) and by
`manage.py maisie_introspect` for versions made before. Reading is bounded (formats/readers):
a hostile file gives a recorded unreadable result, never an exception out of here.
"""

import logging

from django.db import transaction

from formats import readers, verdicts
from formats.models import BlobFacts, VersionFacts
from formats.source import open_seekable

log = logging.getLogger(__name__)

# Bumped when a reader learns something: `maisie_introspect --stale` re-reads older facts.
READER_VERSION = 1


def blob_facts(blob, path: str, *, refresh: bool = False) -> BlobFacts:
    """The facts of a blob, read now unless read already by this readers' version. `path` is a
    name it is known by (its extension decides only for formats without a magic number)."""
    facts = BlobFacts.objects.filter(blob=blob).first()
    if facts is not None and facts.reader >= READER_VERSION and not refresh:
        return facts
    try:
        with open_seekable(blob) as f:
            read = readers.read(f, blob.size, path)
    except OSError as e:  # the bytes are missing or unreachable: nothing to record as a fact
        log.warning("formats: blob %s could not be opened: %s", blob.sha256, e)
        raise
    values = {
        "format": read.format,
        "readable": read.readable,
        "reason": read.reason[:500],
        "tensors": read.tensors,
        "params": read.params,
        "bytes_by_dtype": read.bytes_by_dtype,
        "metadata": read.metadata,
        "globals": read.globals,
        "verdict": read.verdict,
        "verdict_reason": read.verdict_reason,
        "reader": READER_VERSION,
    }
    facts, _ = BlobFacts.objects.update_or_create(blob=blob, defaults=values)
    return facts


def summarise(files: list[tuple[str, BlobFacts]]) -> dict:
    """A version's figures from its files' facts: the format holding the most parameters (then
    bytes), the parameters and tensors of that format's files (shards add up; a .bin copy of the
    same weights is not counted twice), and the worst verdict among the model files."""
    models = [(path, f) for path, f in files if f.format != verdicts.OTHER]
    if not models:
        return {"format": verdicts.OTHER, "params": None, "tensors": None, "verdict": verdicts.SAFE, "verdict_path": ""}
    by_format: dict[str, list[BlobFacts]] = {}
    for _path, f in models:
        by_format.setdefault(f.format, []).append(f)

    def weight(fmt):
        group = by_format[fmt]
        return (sum(f.params or 0 for f in group), sum(sum(f.bytes_by_dtype.values()) for f in group))

    main = max(by_format, key=weight)
    group = by_format[main]
    known = [f.params for f in group if f.params is not None]
    worst_path, worst = max(models, key=lambda item: verdicts.RANK[item[1].verdict])
    return {
        "format": main,
        "params": sum(known) if known else None,
        "tensors": sum(f.tensors or 0 for f in group) if any(f.tensors is not None for f in group) else None,
        "verdict": worst.verdict,
        "verdict_path": worst_path[:1024] if worst.verdict != verdicts.SAFE else "",
    }


def version_introspect(*, model, refresh: bool = False) -> VersionFacts | None:
    """Read the files of `model` (an MLModel) and store its facts; None when it has no entries."""
    entries = list(model.entries.select_related("blob").order_by("path"))
    if not entries:
        return None
    files = [(entry.path, blob_facts(entry.blob, entry.path, refresh=refresh)) for entry in entries]
    with transaction.atomic():
        facts, _ = VersionFacts.objects.update_or_create(model=model, defaults=summarise(files))
    return facts


def files_of(model) -> list[tuple[str, int, BlobFacts | None]]:
    """(path, size, facts or None when not read yet) of each file of a version, by path."""
    entries = model.entries.select_related("blob", "blob__facts").order_by("path")
    return [(e.path, e.blob.size, getattr(e.blob, "facts", None)) for e in entries]
