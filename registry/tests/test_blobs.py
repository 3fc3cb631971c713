"""registry.blobs: bytes stored once per SHA-256, with real storage."""

import hashlib
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import transaction

from registry import blobs
from registry.models import Blob
from registry.tests.factories import upload


def stored_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_upload_of_bytes_stored_under_a_pre_blob_name_stores_no_second_copy(project, bob, settings):
    content = b"weights kept from before blobs"
    sha = hashlib.sha256(content).hexdigest()
    legacy = blobs.storage().save("models/ab/abcdef", ContentFile(content))
    Blob.objects.create(sha256=sha, size=len(content), key=legacy)

    model = upload(bob, project, content=content)

    assert model.file.name == legacy
    assert stored_files(settings) == [legacy]


def test_reference_stores_the_bytes_again_when_a_release_removed_them(project, bob, settings):
    content = b"raced"
    sha = hashlib.sha256(content).hexdigest()
    key = blobs.put(ContentFile(content), sha)
    blobs.release([sha])  # no row and nothing references it: the bytes go
    assert stored_files(settings) == []

    with transaction.atomic():
        blob = blobs.reference(sha, len(content), ContentFile(content))

    assert blob.key == key and stored_files(settings) == [key]
    with blobs.open_blob(blob) as handle:
        assert handle.read() == content
