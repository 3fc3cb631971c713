"""Small builders for test data that goes through the real services and storage."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from registry import services


def upload(user, project, name="resnet", content=b"weights", **fields):
    return services.model_upload(
        user=user,
        project=project,
        name=name,
        file=SimpleUploadedFile(f"{name}.pt", content),
        **fields,
    )


def upload_form(project, name="resnet", content=b"weights", **fields):
    """The multipart body the published client sends."""
    form = {
        "name": name,
        "project_id": str(project.pk),
        "hyperparameters": json.dumps(fields.pop("hyperparameters", {"lr": 0.01})),
        "parameters": json.dumps(fields.pop("parameters", {"layers": 50})),
        "metrics": json.dumps(fields.pop("metrics", {"accuracy": 0.9})),
        "private": "False",
        "user_id": "1",
        "file": SimpleUploadedFile(f"{name}.pt", content),
    }
    form.update(fields)
    return form


def folder_version(user, project, files: dict[str, bytes], name="checkpoint", **fields):
    """A folder version of `files` (path -> bytes), made as upload sessions will make one: its
    blobs stored once by SHA-256, a manifest entry per path, the manifest's digest, no `file`.

    Made with the ORM and registry/blobs.py, not through the upload API, so download tests do not
    depend on it: a one-file upload gives the row its version number, events and statistics,
    then its single entry is replaced by the folder's."""
    import hashlib
    import unicodedata

    from django.core.files.base import ContentFile
    from django.db import transaction

    from registry import blobs, manifests
    from registry.models import ManifestEntry

    files = {unicodedata.normalize("NFC", path): data for path, data in files.items()}
    model = upload(user, project, name=name, content=b"placeholder", **fields)
    manifest = manifests.manifest_of(
        (path, len(data), hashlib.sha256(data).hexdigest()) for path, data in files.items()
    )
    with transaction.atomic():
        old = [entry.blob_id for entry in model.entries.all()]
        model.entries.all().delete()
        for entry in manifest.entries:
            content = ContentFile(files[entry.path])
            blobs.put(content, entry.sha256)
            blob = blobs.reference(entry.sha256, entry.size, content)
            ManifestEntry.objects.create(model=model, path=entry.path, blob=blob)
        model.file.name = ""
        model.file_sha256 = ""
        model.file_size = sum(entry.size for entry in manifest.entries)
        model.file_name = f"{model.name}-v{model.version}.zip"
        model.digest = manifests.digest(manifest)
        model.save()
        blobs.release_on_commit(old)
    model.refresh_from_db()
    return model
