"""A new version is introspected in the background: queued when its transaction commits, run
by the task backend's worker as `manage.py maisie_worker` runs it."""

import io

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from formats.models import VersionFacts
from formats.tests import builders
from registry.tests.factories import upload


def run_worker():
    call_command("db_worker", "--batch", "--interval", "0", "--no-startup-delay", stdout=io.StringIO())


def queued():
    return DBTaskResult.objects.filter(task_path="formats.tasks.introspect_version")


@pytest.mark.django_db(transaction=True)
def test_an_upload_queues_its_introspection_and_the_worker_runs_it(alice, project):
    model = upload(alice, project, "tiny", content=builders.safetensors_bytes())
    (task,) = queued()
    assert task.args_kwargs == {"args": [model.pk], "kwargs": {}}
    assert not VersionFacts.objects.exists()
    run_worker()
    facts = VersionFacts.objects.get(model=model)
    assert (facts.format, facts.params, facts.verdict) == ("safetensors", builders.PARAMS, "safe")
    assert queued().get().status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_a_hostile_header_is_a_recorded_result_not_a_failed_task(alice, project):
    import struct

    model = upload(alice, project, "hostile", content=struct.pack("<Q", 10 * 1024**3) + b"{}")
    run_worker()
    assert queued().get().status == "SUCCESSFUL"
    facts = model.entries.get().blob.facts
    assert (facts.format, facts.readable) == ("safetensors", False)  # sniffed by its bytes, not its .pt name
    assert "10,737,418,240" in facts.reason


@pytest.mark.django_db(transaction=True)
def test_a_failed_upload_queues_nothing(alice, project):
    with pytest.raises(Exception):
        upload(alice, project, "x" * 500, content=builders.safetensors_bytes())
    assert not queued().exists()
