"""Introspection in the background (django-tasks; `manage.py maisie_worker` runs it)."""

from django.db import transaction
from django_tasks import task


@task()
def introspect_version(model_id: int) -> str:
    """Read the headers of a version's files and store what they say (formats/services.py)."""
    from formats import services
    from registry.models import MLModel

    model = MLModel.objects.filter(pk=model_id).first()
    if model is None:
        return "gone"  # deleted before the worker got to it
    facts = services.version_introspect(model=model)
    return "no files" if facts is None else f"{facts.format}, {facts.params} params, {facts.verdict}"


def introspect_on_commit(model) -> None:
    """Queue introspection of `model` once the transaction that created it commits."""
    model_id = model.pk
    transaction.on_commit(lambda: introspect_version.enqueue(model_id))
