"""Registered-model and alias writes record events (events.services.record) in their own
transaction, and the event log shows them only to those who may see the versions (issue 14)."""

import pytest

from events.models import Event
from registry import services
from registry.models import Alias, RegisteredModel
from registry.tests.factories import upload


def events(api, user, **params) -> list[dict]:
    response = api.as_user(user).get("/api/v1/events/", params)
    assert response.status_code == 200, response.content
    return response.json()["data"]


@pytest.fixture
def resnet(bob, project):
    upload(bob, project, "resnet")
    return upload(bob, project, "resnet")


def test_setting_moving_and_removing_an_alias_records_each_change(api, bob, carol, resnet):
    url = f"/api/v1/registered-models/{resnet.registered_model_id}/aliases/production/"
    client = api.as_user(bob)
    client.put(url, {"version": 1}, format="json")
    client.put(url, {"version": 2}, format="json")
    client.put(url, {"version": 2}, format="json")  # already there: no change, no event
    client.delete(url)

    seen = events(api, carol, registered_model=resnet.registered_model_id, kind="alias")

    assert [(e["kind"], e["before"], e["after"]) for e in reversed(seen)] == [
        ("alias.set", None, {"alias": "production", "version": 1, "model_id": resnet.pk - 1}),
        (
            "alias.moved",
            {"alias": "production", "version": 1, "model_id": resnet.pk - 1},
            {"alias": "production", "version": 2, "model_id": resnet.pk},
        ),
        ("alias.removed", {"alias": "production", "version": 2, "model_id": resnet.pk}, None),
    ]
    assert {(e["actor"]["login"], e["subject"]["name"]) for e in seen} == {("bob", "resnet@production")}


def test_a_refused_alias_move_records_nothing(api, bob, carol, resnet):
    url = f"/api/v1/registered-models/{resnet.registered_model_id}/aliases/production/"

    assert api.as_user(carol).put(url, {"version": 1}, format="json").status_code == 403
    assert api.as_user(bob).put(url, {"version": 7}, format="json").status_code == 400

    assert not Event.objects.filter(kind__startswith="alias.").exists()
    assert not Alias.objects.exists()


def test_a_description_change_is_recorded_with_before_and_after(api, bob, carol, resnet):
    url = f"/api/v1/registered-models/{resnet.registered_model_id}/"
    api.as_user(bob).patch(url, {"description": "v1 card"}, format="json")
    api.as_user(bob).patch(url, {"description": "v2 card"}, format="json")

    seen = events(api, carol, kind="registered_model.updated")

    assert [(e["before"], e["after"]) for e in seen] == [
        ({"description": "v1 card"}, {"description": "v2 card"}),
        ({"description": ""}, {"description": "v1 card"}),
    ]
    assert seen[0]["registered_model_id"] == resnet.registered_model_id


def test_uploads_record_their_registered_model(api, bob, carol, resnet):
    # Each model.created event carries the registered model; the first upload also created it.
    created = events(api, carol, registered_model=resnet.registered_model_id, kind="model.created")
    registered = events(api, carol, registered_model=resnet.registered_model_id, kind="registered_model.created")

    assert len(created) == 2
    assert len(registered) == 1


def test_events_of_a_registered_model_of_private_versions_are_not_shown_to_others(api, bob, carol, project):
    secret = upload(bob, project, "secret-plan", private=True)
    services.alias_set(registered_model=secret.registered_model, name="mine", version=1, user=bob)
    services.registered_model_update(registered_model=secret.registered_model, user=bob, description="plans")

    assert events(api, carol, registered_model=secret.registered_model_id) == []
    mine = {e["kind"] for e in events(api, bob, registered_model=secret.registered_model_id)}
    assert mine == {"alias.set", "registered_model.updated", "registered_model.created", "model.created"}


def test_deleting_a_registered_model_records_its_aliases_versions_and_itself(api, alice, bob, carol, resnet):
    services.alias_set(registered_model=resnet.registered_model, name="production", version=2, user=bob)

    assert api.as_user(alice).delete(f"/api/v1/registered-models/{resnet.registered_model_id}/").status_code == 200

    kinds = [e["kind"] for e in events(api, carol, registered_model=resnet.registered_model_id)]
    assert kinds[:4] == ["registered_model.deleted", "model.deleted", "model.deleted", "alias.removed"]
    assert RegisteredModel.objects.get(pk=resnet.registered_model_id).last_version == 2
