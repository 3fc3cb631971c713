"""Protected alias moves and approvals that race on PostgreSQL, in threads with their own
connections (issue 14). As in registry/tests/test_races_pg.py: the test holds the project's row
lock, which every alias move and approval takes first, starts the racers so they queue behind
it, then lets go.

resnet: v1 (accuracy 0.80), v2 (0.92), v3 (0.85); production on v1 (conftest).
"""

import time

import pytest
from django.db import connection

from events.models import Event
from promotions.models import PromotionApproval, PromotionRequest
from promotions.tests.helpers import alias_url, make_rule, request_url, version_of
from registry.tests.test_races_pg import QUEUE_SECONDS, as_client, finish, holding, run_together

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent writers: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def race(model, *calls):
    lock = holding(model)
    threads, results = run_together(*calls)
    time.sleep(QUEUE_SECONDS)
    lock.__exit__(None, None, None)
    return finish(threads, results)


def test_two_moves_under_a_rule_one_after_the_other_the_second_judged_against_the_first(alice, bob, dave, resnet):
    make_rule(resnet[0].project, alice, metric="accuracy", direction="higher")
    url = alias_url(resnet[0])

    v2, v3 = race(
        resnet[0],
        lambda: as_client(bob).put(url, {"version": 2}, format="json"),
        lambda: as_client(dave).put(url, {"version": 3}, format="json"),
    )

    # v2 (0.92) always passes; v3 (0.85) passes only before v2 holds it, and then v2 replaces it.
    assert v2.status_code == 200, v2.content
    assert v3.status_code in (200, 409), v3.content
    assert version_of(resnet[0]) == 2
    moves = list(Event.objects.filter(kind="alias.moved").order_by("id"))
    assert len(moves) == 1 + (v3.status_code == 200)  # one event per move: none lost, none doubled
    chain = [(event.before["version"], event.after["version"]) for event in moves]
    assert chain in ([(1, 2)], [(1, 3), (3, 2)])
    if v3.status_code == 409:
        assert [rule["code"] for rule in v3.json()["failed_rules"]] == ["no_worse_than"]
        assert "on version 2, which it replaces" in v3.json()["failed_rules"][0]["message"]
        assert v2.json()["data"]["previous_version"] == 1
    else:
        assert v2.json()["data"]["previous_version"] == 3  # it saw the new holder


def test_two_last_approvals_at_once_move_the_alias_once(alice, bob, dave, resnet):
    make_rule(resnet[0].project, alice, approvals=1)
    opened = as_client(bob).put(alias_url(resnet[0]), {"version": 2}, format="json")
    assert opened.status_code == 202, opened.content
    url = request_url(opened.json()["data"]["id"], "approve")

    answers = race(resnet[0], lambda: as_client(alice).post(url), lambda: as_client(dave).post(url))

    assert sorted(answer.status_code for answer in answers) == [200, 409], [a.content for a in answers]
    assert version_of(resnet[0]) == 2
    assert PromotionRequest.objects.get().state == "completed"
    assert PromotionApproval.objects.count() == 1
    for kind in ("promotion.approved", "alias.moved", "promotion.completed"):
        assert Event.objects.filter(kind=kind).count() == 1, kind


def test_two_requests_opened_at_once_leave_one_pending(alice, bob, dave, resnet):
    make_rule(resnet[0].project, alice, approvals=1)
    url = alias_url(resnet[0])

    answers = race(
        resnet[0],
        lambda: as_client(bob).put(url, {"version": 2}, format="json"),
        lambda: as_client(dave).put(url, {"version": 3}, format="json"),
    )

    assert sorted(answer.status_code for answer in answers) == [202, 409], [a.content for a in answers]
    pending = PromotionRequest.objects.get()
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.json()["pending_request_id"] == pending.pk
    assert Event.objects.filter(kind="promotion.opened").count() == 1
    assert version_of(resnet[0]) == 1
