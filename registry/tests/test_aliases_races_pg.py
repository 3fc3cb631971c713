"""Alias writes that race on PostgreSQL, in threads with their own connections (issue 14).

As in test_races_pg: the test holds the project's row lock (which every alias write takes
first), starts the racers so they queue behind it, then lets go.
"""

import time

import pytest
from django.db import connection

from registry import services
from registry.models import Alias, MLModel
from registry.tests.factories import upload
from registry.tests.test_races_pg import QUEUE_SECONDS, as_client, finish, holding, run_together

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent writers: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def three(bob, project):
    models = [upload(bob, project, "resnet") for _ in range(3)]
    services.alias_set(registered_model=models[0].registered_model, name="production", version=1, user=bob)
    return models


def test_two_concurrent_moves_of_one_alias_happen_one_after_the_other(alice, bob, three):
    url = f"/api/v1/registered-models/{three[0].registered_model_id}/aliases/production/"
    racers = {2: as_client(alice), 3: as_client(bob)}
    lock = holding(three[0])
    threads, results = run_together(
        *[lambda v=v, c=c: c.put(url, {"version": v}, format="json") for v, c in racers.items()]
    )
    time.sleep(QUEUE_SECONDS)
    lock.__exit__(None, None, None)
    responses = finish(threads, results)

    assert [r.status_code for r in responses] == [200, 200], [r.content for r in responses]
    moves = sorted((r.json()["data"]["previous_version"], r.json()["data"]["version"]) for r in responses)
    # One moved it from 1; the other saw that move's version and moved it from there.
    (first_from, first_to), (second_from, second_to) = sorted(moves, key=lambda m: m[0] != 1)
    assert first_from == 1
    assert second_from == first_to
    alias = Alias.objects.get()
    assert alias.version.version == second_to
    assert Alias.objects.filter(name="production").count() == 1


def test_a_delete_racing_an_alias_move_onto_the_same_version_never_leaves_a_dangling_alias(alice, bob, three):
    target = three[2]
    url = f"/api/v1/registered-models/{target.registered_model_id}/aliases/production/"
    lock = holding(target)
    threads, results = run_together(
        lambda: as_client(bob).put(url, {"version": 3}, format="json"),
        lambda: as_client(bob).delete(f"/api/v1/models/{target.pk}/"),
    )
    time.sleep(QUEUE_SECONDS)
    lock.__exit__(None, None, None)
    moved, deleted = finish(threads, results)

    # Whichever came first wins; the other is refused cleanly, and the alias never dangles.
    outcome = (moved.status_code, deleted.status_code)
    assert outcome in {(200, 409), (400, 200)}, (moved.content, deleted.content)
    alias = Alias.objects.get()
    assert MLModel.objects.filter(pk=alias.version_id).exists()
    assert alias.version.version == (3 if outcome == (200, 409) else 1)
