"""Totals of model lists narrowed only by scope come from the uploader counts, not a COUNT(*).

Whatever way the total is found, it must be the number of models the caller can see through
those filters: these tests compare it with counting the models, for every scope filter, with
other people's private models about, through the API and the web UI's table.
"""

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from conftest import make_user
from registry import services
from registry.filtersets import MLModelFilterSet
from registry.listing import ModelList, model_list
from registry.models import MLModel, Role
from registry.tests.factories import upload


@pytest.fixture
def world(workspace, project, alice, bob, carol, eve):
    """Two projects of Alice's workspace and one of Eve's, with private models of each uploader."""
    vits = services.project_create(user=bob, workspace=workspace, name="vits")
    speech = services.workspace_create(user=eve, name="Speech")
    services.membership_set(workspace=speech, actor=eve, user=bob, role=Role.MEMBER)
    wav = services.project_create(user=eve, workspace=speech, name="wav")
    for i in range(3):
        upload(alice, project, name=f"a{i}")
    upload(alice, project, name="a-secret", private=True)
    upload(bob, project, name="b0", metrics={"acc": 0.5})
    upload(bob, vits, name="b1", private=True)
    upload(bob, vits, name="b2")
    upload(eve, wav, name="e0")
    upload(eve, wav, name="e-secret", private=True)
    upload(bob, wav, name="b3")
    return {"resnets": project, "vits": vits, "wav": wav, "workspace": workspace, "speech": speech}


def queries(world, alice, bob) -> list[str]:
    r, v, w = world["resnets"].pk, world["vits"].pk, world["wav"].pk
    ws, sp = world["workspace"].pk, world["speech"].pk
    return [
        "",
        f"project={r}",
        f"project={r}&project={v}",
        f"project={r},{w}",
        f"projects={v},{w}",
        f"workspace={ws}",
        f"workspace={sp}",
        f"user={bob.pk}",
        f"user={alice.pk},{bob.pk}&workspace={ws}",
        f"project={v}&user={alice.pk}",
        f"project={r}&ordering=-created",
        "project=99999",
    ]


def listing_for(user, query: str) -> ModelList:
    found = model_list(user=user, params=QueryDict(query))
    assert found.is_valid(), found.errors
    return found


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "eve", "staff"])
def test_a_scope_total_is_the_number_of_models_the_caller_sees(world, request, who):
    user = request.getfixturevalue(who)
    for query in queries(world, request.getfixturevalue("alice"), request.getfixturevalue("bob")):
        found = listing_for(user, query)
        counted = MLModel.objects.filter(pk__in=found.queryset.values("pk")).count()
        assert found.total() == counted == len(list(found.queryset)), (who, query)


def test_a_scope_total_reads_the_uploader_counts_not_the_models(world, bob):
    found = listing_for(bob, f"project={world['vits'].pk}")
    with CaptureQueriesContext(connection) as captured:
        assert found.total() == 2
    (sql,) = [q["sql"] for q in captured.captured_queries]
    assert "registry_projectuploadercount" in sql and "registry_mlmodel" not in sql


@pytest.mark.parametrize("query", ["q=m.acc > 0.1", "tag=cnn", "search=b", "name=b0", "metric=acc"])
def test_any_other_filter_counts_the_models(world, bob, query):
    found = listing_for(bob, query)
    with CaptureQueriesContext(connection) as captured:
        total = found.total()
    assert total == len(list(found.queryset))
    assert "registry_mlmodel" in captured.captured_queries[0]["sql"]


def test_the_filterset_alone_counts_models(world, bob):
    # The FilterSet only filters; the listing decides the total.
    filterset = MLModelFilterSet(QueryDict(""), queryset=MLModel.objects.visible_to(bob))
    with CaptureQueriesContext(connection) as captured:
        assert filterset.qs.count() == 8
    assert "registry_mlmodel" in captured.captured_queries[0]["sql"]


class TestThroughTheApi:
    def test_the_pages_report_what_they_hold(self, api, world, alice, bob):
        client = api.as_user(bob)
        for query in queries(world, alice, bob):
            everything = client.get(f"/api/v1/models/?per_page=1000&{query}").json()
            seen = [m["id"] for m in everything["data"]]
            assert everything["pagination"]["total_items"] == len(seen), query
            first = client.get(f"/api/v1/models/?per_page=2&{query}").json()["pagination"]
            assert first["total_pages"] == max(1, -(-len(seen) // 2)), query
            assert first["has_next"] == (len(seen) > 2), query

    def test_a_model_made_private_leaves_other_peoples_totals_at_once(self, api, world, alice, bob):
        model = MLModel.objects.get(name="b0")
        before = api.as_user(alice).get("/api/v1/models/").json()["pagination"]["total_items"]
        services.model_update(model=model, user=bob, private=True)
        after = api.as_user(alice).get("/api/v1/models/").json()["pagination"]["total_items"]
        assert after == before - 1
        assert api.as_user(bob).get("/api/v1/models/").json()["pagination"]["total_items"] == 8

    def test_deleting_and_uploading_move_the_total(self, api, world, bob):
        client = api.as_user(bob)
        services.model_delete(model=MLModel.objects.get(name="b2"), user=bob)
        assert client.get("/api/v1/models/").json()["pagination"]["total_items"] == 7
        upload(bob, world["vits"], name="b9")
        assert client.get(f"/api/v1/models/?project={world['vits'].pk}").json()["pagination"]["total_items"] == 2


def test_the_project_page_counts_its_own_project_only(client, world, bob):
    client.force_login(bob)
    response = client.get(f"/projects/{world['resnets'].pk}/?per_page=25")
    assert response.context["paginator"].count == 4  # Alice's private model is hers alone
    response = client.get("/models/?per_page=25")
    assert response.context["paginator"].count == 8


def test_a_new_member_sees_the_totals_of_their_workspace(world, alice):
    dave = make_user("dave")
    services.membership_set(workspace=world["workspace"], actor=alice, user=dave, role=Role.VIEWER)
    found = listing_for(dave, "")
    assert found.total() == len(list(found.queryset)) == 5
