"""Writes that race each other on PostgreSQL, in threads with their own connections (issue 20).

Each test makes the requests overlap for certain where it can: the test holds a row lock that
every racer needs, starts them, lets them queue behind it, then lets go. Where the old code took
no lock at all, many workspaces race at once, as in the report (6 of 15 left without an owner).
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from registry import services
from registry.models import Membership, MLModel, Project, Role, Workspace
from registry.tests.factories import upload

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent writers: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

QUEUE_SECONDS = 0.5  # long enough for every started racer to be waiting on the held lock


def run_together(*calls):
    """Run each call in a thread of its own, started together; their results or exceptions."""
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:  # handed back to the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    return threads, results


def finish(threads, results):
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    return results


def as_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def holding(model_or_project):
    """A transaction holding the project's row lock, which model writes take first."""
    project_id = getattr(model_or_project, "project_id", None) or model_or_project.pk
    atomic = transaction.atomic()
    atomic.__enter__()
    Project.objects.select_for_update().get(pk=project_id)
    return atomic


# --- deletes ----------------------------------------------------------------------------------


def test_parallel_deletes_of_one_model_answer_200_once_and_404_after(alice, project):
    model = upload(alice, project, "m")
    clients = [as_client(alice) for _ in range(3)]
    lock = holding(model)
    threads, results = run_together(*[lambda c=c: c.delete(f"/api/v1/models/{model.pk}/") for c in clients])
    time.sleep(QUEUE_SECONDS)
    lock.__exit__(None, None, None)
    statuses = sorted(response.status_code for response in finish(threads, results))
    assert statuses == [200, 404, 404]
    assert not MLModel.objects.filter(pk=model.pk).exists()


def test_an_update_queued_behind_a_delete_is_a_404_and_does_not_bring_the_model_back(alice, project):
    model = upload(alice, project, "m", metrics={"accuracy": 0.5})
    deleter, updater = as_client(alice), as_client(alice)
    lock = holding(model)
    delete_threads, delete_results = run_together(lambda: deleter.delete(f"/api/v1/models/{model.pk}/"))
    time.sleep(QUEUE_SECONDS)  # the delete waits first
    update_threads, update_results = run_together(
        lambda: updater.put(f"/api/v1/models/{model.pk}/", {"metrics": {"accuracy": 0.9}}, format="json")
    )
    time.sleep(QUEUE_SECONDS)
    lock.__exit__(None, None, None)
    assert finish(delete_threads, delete_results)[0].status_code == 200
    assert finish(update_threads, update_results)[0].status_code == 404
    assert not MLModel.objects.filter(pk=model.pk).exists()


def test_parallel_deletes_of_one_project_answer_200_once(alice, project):
    upload(alice, project, "m")
    clients = [as_client(alice) for _ in range(2)]
    lock = holding(project)
    threads, results = run_together(*[lambda c=c: c.delete(f"/api/v1/projects/{project.pk}/") for c in clients])
    time.sleep(QUEUE_SECONDS)
    lock.__exit__(None, None, None)
    assert sorted(r.status_code for r in finish(threads, results)) == [200, 404]
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not MLModel.objects.filter(project_id=project.pk).exists()


def test_parallel_deletes_of_one_workspace_answer_200_once(alice, workspace, project):
    clients = [as_client(alice) for _ in range(2)]
    lock = holding(project)
    threads, results = run_together(*[lambda c=c: c.delete(f"/api/v1/workspaces/{workspace.pk}/") for c in clients])
    time.sleep(QUEUE_SECONDS)
    lock.__exit__(None, None, None)
    assert sorted(r.status_code for r in finish(threads, results)) == [200, 404]
    assert not Workspace.objects.filter(pk=workspace.pk).exists()


# --- owners -----------------------------------------------------------------------------------

WORKSPACES = 15


@pytest.fixture
def co_owned(alice, bob):
    """Workspaces owned by Alice and Bob together."""
    spaces = []
    for i in range(WORKSPACES):
        space = services.workspace_create(user=alice, name=f"w{i}")
        services.membership_set(workspace=space, actor=alice, user=bob, role=Role.OWNER)
        spaces.append(space)
    return spaces


def owners(space) -> list[str]:
    return sorted(Membership.objects.filter(workspace=space, role=Role.OWNER).values_list("user__login", flat=True))


def race_in_every_workspace(spaces, alice_does, bob_does):
    calls = []
    for space in spaces:
        calls += [lambda s=space: alice_does(s), lambda s=space: bob_does(s)]
    return finish(*run_together(*calls))


def test_two_owners_demoting_each_other_at_once_leave_one_owner(alice, bob, co_owned):
    results = race_in_every_workspace(
        co_owned,
        lambda s: services.membership_set(workspace=s, actor=alice, user=bob, role=Role.MEMBER),
        lambda s: services.membership_set(workspace=s, actor=bob, user=alice, role=Role.MEMBER),
    )
    for space in co_owned:
        assert len(owners(space)) == 1, f"{space.name} has owners {owners(space)}"
    # the loser of each race was refused: no longer an owner (403), or the last one (400)
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == WORKSPACES
    assert {type(r).__name__ for r in refused} <= {"PermissionDenied", "ValidationError"}


def test_two_owners_leaving_at_once_leave_one_owner(alice, bob, co_owned):
    results = race_in_every_workspace(
        co_owned,
        lambda s: services.membership_remove(workspace=s, actor=alice, user=alice),
        lambda s: services.membership_remove(workspace=s, actor=bob, user=bob),
    )
    for space in co_owned:
        assert len(owners(space)) == 1, f"{space.name} has owners {owners(space)}"
    assert sum(isinstance(r, Exception) for r in results) == WORKSPACES


def test_an_owner_removing_the_other_while_leaving_leaves_one_owner(alice, bob, co_owned):
    race_in_every_workspace(
        co_owned,
        lambda s: services.membership_remove(workspace=s, actor=alice, user=bob),
        lambda s: services.membership_remove(workspace=s, actor=bob, user=bob),
    )
    for space in co_owned:
        assert owners(space) == ["alice"]


def test_adding_the_same_member_twice_at_once_adds_them_once(alice, carol, co_owned):
    results = race_in_every_workspace(
        co_owned,
        lambda s: services.membership_set(workspace=s, actor=alice, user=carol, role=Role.VIEWER),
        lambda s: services.membership_set(workspace=s, actor=alice, user=carol, role=Role.VIEWER),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(created for _, created in results) == [False] * WORKSPACES + [True] * WORKSPACES
    for space in co_owned:
        assert Membership.objects.filter(workspace=space, user=carol).count() == 1
