"""POST /api/v1/registered-models/<id>/aliases/<alias>/rollback/: back to the previous target.

resnet: v1 (accuracy 0.80, main), v2 (0.92, main), v3 (0.85, dev); production on v1 (conftest).
"""

import pytest

from events.models import Event
from events.tests.helpers import only_event
from promotions.models import PromotionRequest
from promotions.tests.helpers import (
    alias_url,
    kinds_since,
    last_event_id,
    make_rule,
    request_url,
    rollback_url,
    version_of,
)
from registry import services
from registry.tests.assertions import assert_error
from registry.tests.factories import upload


def move(api, user, model, version, alias="production"):
    response = api.as_user(user).put(alias_url(model, alias), {"version": version}, format="json")
    assert response.status_code == 200, response.content


class TestRollback:
    def test_it_points_the_alias_back_at_its_previous_target_and_records_it(self, api, bob, resnet):
        move(api, bob, resnet[0], 3)
        before = last_event_id()

        response = api.as_user(bob).post(rollback_url(resnet[0]))

        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert (data["name"], data["version"], data["previous_version"]) == ("production", 1, 3)
        assert version_of(resnet[0]) == 1
        assert kinds_since(before) == ["alias.rolled_back"]
        event = only_event("alias.rolled_back")
        assert (event.before["version"], event.after["version"]) == (3, 1)
        assert (event.actor_id, event.model_id) == (bob.pk, resnet[0].pk)

    def test_rolling_back_twice_goes_forward_again(self, api, bob, resnet):
        move(api, bob, resnet[0], 2)
        move(api, bob, resnet[0], 3)

        assert api.as_user(bob).post(rollback_url(resnet[0])).json()["data"]["version"] == 2
        assert api.as_user(bob).post(rollback_url(resnet[0])).json()["data"]["version"] == 3

    def test_an_alias_set_once_has_nothing_to_go_back_to(self, api, bob, resnet):
        before = last_event_id()
        body = assert_error(api.as_user(bob).post(rollback_url(resnet[0])), 409)

        assert body["message"].startswith("production was created on version 1: it has no previous version")
        assert version_of(resnet[0]) == 1
        assert kinds_since(before) == []

    def test_a_deleted_previous_target_is_a_clear_409(self, api, bob, resnet):
        move(api, bob, resnet[0], 2)
        services.model_delete(model=resnet[0], user=bob)  # v1, where production was before
        before = last_event_id()

        body = assert_error(api.as_user(bob).post(rollback_url(resnet[0])), 409)

        assert body["message"] == (
            "Version 1, which production named before version 2, has been deleted: there is nothing to roll "
            "back to. Set the alias to another version instead."
        )
        assert version_of(resnet[1]) == 2
        assert kinds_since(before) == []

    def test_a_previous_target_renamed_away_is_a_409(self, api, bob, resnet):
        move(api, bob, resnet[0], 2)
        services.model_update(model=resnet[0], user=bob, name="resnet-old")

        body = assert_error(api.as_user(bob).post(rollback_url(resnet[1])), 409)
        assert "no longer a version of this registered model" in body["message"]

    def test_a_previous_target_now_someone_elses_private_version_cannot_be_named(self, api, alice, bob, project):
        first = upload(alice, project, "resnet")
        second = upload(bob, project, "resnet")
        services.alias_set(registered_model=first.registered_model, name="production", version=1, user=alice)
        services.alias_set(registered_model=first.registered_model, name="production", version=2, user=alice)
        services.model_update(model=first, user=alice, private=True)

        body = assert_error(api.as_user(bob).post(rollback_url(second)), 409)
        assert "another user's private version" in body["message"]
        assert version_of(second) == 2

    def test_an_unknown_alias_is_a_404_and_a_bad_name_a_400(self, api, bob, resnet):
        assert "staging" in assert_error(api.as_user(bob).post(rollback_url(resnet[0], "staging")), 404)["message"]
        assert "alias" in assert_error(api.as_user(bob).post(rollback_url(resnet[0], "Staging")), 400)["errors"]

    def test_viewers_get_403_and_outsiders_404(self, api, bob, carol, eve, resnet):
        move(api, bob, resnet[0], 2)

        assert_error(api.as_user(carol).post(rollback_url(resnet[0])), 403)
        assert_error(api.as_user(eve).post(rollback_url(resnet[0])), 404)
        assert version_of(resnet[0]) == 2


class TestRollbackUnderRules:
    def test_the_rules_apply_to_a_rollback(self, api, alice, bob, resnet):
        move(api, bob, resnet[0], 2)
        make_rule(resnet[0].project, alice, metric="accuracy", direction="higher")
        before = last_event_id()

        body = assert_error(api.as_user(bob).post(rollback_url(resnet[0])), 409)

        assert [rule["code"] for rule in body["failed_rules"]] == ["no_worse_than"]
        assert version_of(resnet[0]) == 2
        assert kinds_since(before) == []

    def test_who_may_move_applies_to_a_rollback(self, api, alice, bob, resnet):
        move(api, bob, resnet[0], 2)
        make_rule(resnet[0].project, alice, movers="owners")

        assert_error(api.as_user(bob).post(rollback_url(resnet[0])), 409)
        assert api.as_user(alice).post(rollback_url(resnet[0])).json()["data"]["version"] == 1

    def test_with_approvals_a_rollback_opens_a_request_completed_as_a_rollback(self, api, alice, bob, dave, resnet):
        move(api, bob, resnet[0], 2)
        make_rule(resnet[0].project, alice, approvals=1)

        response = api.as_user(bob).post(rollback_url(resnet[0]))
        assert response.status_code == 202, response.content
        data = response.json()["data"]
        assert (data["rollback"], data["version"], data["replaces_version"]) == (True, 1, 2)
        assert version_of(resnet[0]) == 2

        before = last_event_id()
        assert api.as_user(dave).post(request_url(data["id"], "approve")).json()["data"]["state"] == "completed"
        assert version_of(resnet[0]) == 1
        assert kinds_since(before) == ["promotion.approved", "alias.rolled_back", "promotion.completed"]
        assert PromotionRequest.objects.get().state == "completed"
        assert not Event.objects.filter(kind="alias.moved", id__gt=before).exists()


@pytest.mark.django_db
def test_a_rollback_reads_the_previous_target_from_the_event_log_not_from_the_request(api, bob, resnet):
    """The alias's before/after in events is what a rollback reads: after a rollback, the
    previous target is the version the rollback left."""
    move(api, bob, resnet[0], 2)
    api.as_user(bob).post(rollback_url(resnet[0]))  # 2 -> 1
    event = Event.objects.filter(kind="alias.rolled_back").get()

    assert event.before["model_id"] == resnet[1].pk
    assert api.as_user(bob).post(rollback_url(resnet[0])).json()["data"]["version"] == 2
