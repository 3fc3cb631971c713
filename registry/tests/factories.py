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
