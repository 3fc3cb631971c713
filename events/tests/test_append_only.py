"""The event table refuses UPDATE and DELETE in the database itself, through the ORM and raw SQL,
on SQLite and PostgreSQL alike (`make test-pg` runs these there); and an event commits or rolls
back with its change."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from events.append_only import TABLE
from events.models import Event
from events.services import record
from events.tests.helpers import events_of
from registry import services
from registry.models import Workspace


@pytest.fixture
def event(workspace):
    return Event.objects.get(kind="workspace.created", workspace_id=workspace.pk)


def _refused(change) -> None:
    # In a savepoint: on PostgreSQL a failed statement spoils the transaction around it.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        change()


def _unchanged(event: Event) -> None:
    assert Event.objects.filter(pk=event.pk, kind=event.kind, subject_name=event.subject_name).exists()


def test_an_orm_update_is_refused(event):
    _refused(lambda: Event.objects.filter(pk=event.pk).update(kind="workspace.deleted"))
    _unchanged(event)


def test_saving_a_changed_event_is_refused(event):
    event.subject_name = "forged"
    _refused(event.save)
    event.refresh_from_db()
    assert event.subject_name == "Vision"


def test_an_orm_delete_is_refused(event):
    _refused(event.delete)
    _refused(lambda: Event.objects.all().delete())
    _unchanged(event)


def test_a_raw_sql_update_is_refused(event):
    def update():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {TABLE} SET actor_login = %s WHERE id = %s", ["mallory", event.pk])

    _refused(update)
    _unchanged(event)
    assert Event.objects.get(pk=event.pk).actor_login == "alice"


def test_a_raw_sql_delete_is_refused(event):
    def delete():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")

    _refused(delete)
    _unchanged(event)


def test_deleting_a_workspace_keeps_its_events(alice, workspace, project):
    workspace_id = workspace.pk
    count = Event.objects.filter(workspace_id=workspace_id).count()

    services.workspace_delete(workspace=workspace, user=alice)

    assert not Workspace.objects.filter(pk=workspace_id).exists()
    assert Event.objects.filter(workspace_id=workspace_id).count() == count + 1  # and workspace.deleted


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_database(alice):
    services.workspace_create(user=alice, name="Vision")
    assert Event.objects.exists()

    call_command("flush", interactive=False, verbosity=0)

    assert not Event.objects.exists()


# ----------------------------------------------------------------------------- one transaction


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_change_leaves_neither_change_nor_event(alice, bob, workspace, project, monkeypatch):
    from registry.tests.factories import upload

    model = upload(bob, project, metrics={"accuracy": 0.9})

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    # Fails after model_update saved the row and recorded model.updated, before the commit.
    monkeypatch.setattr(services, "tags_get_or_create", broken)
    with pytest.raises(RuntimeError):
        services.model_update(model=model, user=bob, metrics={"accuracy": 0.99}, tags=["x"])

    model.refresh_from_db()
    assert model.metrics == {"accuracy": 0.9}
    assert not events_of("model.updated")
    assert not events_of("model.tags_changed")


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_commits_its_event(alice, workspace):
    services.workspace_update(workspace=workspace, user=alice, name="Sight")

    assert Workspace.objects.get(pk=workspace.pk).name == "Sight"
    assert len(events_of("workspace.renamed", workspace_id=workspace.pk)) == 1


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused(alice, workspace):
    with pytest.raises(RuntimeError, match="transaction"):
        record(kind="workspace.updated", actor=alice, subject=workspace)

    assert not events_of("workspace.updated")


def test_an_unknown_kind_is_refused(alice, workspace):
    with pytest.raises(ValueError, match=r"events/kinds\.py"):
        record(kind="workspace.painted", actor=alice, subject=workspace)
