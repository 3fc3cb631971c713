"""Approvals: a permitted PUT opens a request (202); N distinct approvals by others move the alias.

resnet: v1 (accuracy 0.80, main), v2 (0.92, main), v3 (0.85, dev); production on v1 (conftest).
Alice owns the workspace, Bob and Dave are members, Carol a viewer, Eve an outsider.
"""

import pytest

from events.models import Event
from events.tests.helpers import only_event
from promotions import services as promotions
from promotions.models import PromotionApproval, PromotionRequest
from promotions.tests.helpers import alias_url, kinds_since, last_event_id, make_rule, request_url, version_of
from registry import services
from registry.tests.assertions import assert_error
from registry.tests.factories import upload

URL = "/api/v1/promotion-requests/"


def open_request(api, user, model, version=2, alias="production") -> dict:
    response = api.as_user(user).put(alias_url(model, alias), {"version": version}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["data"]


@pytest.fixture
def two_approvals(alice, resnet):
    return make_rule(resnet[0].project, alice, approvals=2, condition="metrics.accuracy > 0.8")


class TestOpening:
    def test_a_permitted_put_opens_a_request_instead_of_moving(self, api, bob, resnet, two_approvals):
        before = last_event_id()
        data = open_request(api, bob, resnet[0])

        assert version_of(resnet[0]) == 1  # not moved
        request = PromotionRequest.objects.get(pk=data["id"])
        assert (request.alias, request.version_number, request.replaces_version) == ("production", 2, 1)
        assert (request.state, request.approvals_required, request.requested_by) == ("pending", 2, bob)
        assert data["state"] == "pending" and data["version"] == 2 and data["model_id"] == resnet[1].pk
        assert data["requested_by"]["login"] == "bob" and data["approvals"] == []
        assert data["_links"]["approve"] == f"http://testserver{request_url(request.pk, 'approve')}"
        assert kinds_since(before) == ["promotion.opened"]
        event = only_event("promotion.opened")
        assert event.after == {
            "alias": "production",
            "version": 2,
            "model_id": resnet[1].pk,
            "replaces_version": 1,
            "rollback": False,
            "approvals_required": 2,
        }
        assert (event.subject_type, event.subject_id, event.model_id) == ("promotionrequest", request.pk, resnet[1].pk)

    def test_a_put_that_breaks_a_rule_opens_nothing(self, api, bob, project, resnet, two_approvals):
        upload(bob, project, "resnet", metrics={"accuracy": 0.7})  # v4
        before = last_event_id()

        body = assert_error(api.as_user(bob).put(alias_url(resnet[0]), {"version": 4}, format="json"), 409)

        assert [rule["code"] for rule in body["failed_rules"]] == ["condition"]
        assert not PromotionRequest.objects.exists()
        assert kinds_since(before) == []

    def test_a_second_request_for_the_alias_while_one_is_pending_is_a_409_naming_it(
        self, api, bob, dave, resnet, two_approvals
    ):
        first = open_request(api, bob, resnet[0])
        body = assert_error(api.as_user(dave).put(alias_url(resnet[0]), {"version": 3}, format="json"), 409)

        assert body["pending_request_id"] == first["id"]
        assert f"Request {first['id']} to move production to version 2 is already pending" in body["message"]
        assert PromotionRequest.objects.count() == 1

    def test_a_request_for_another_alias_may_be_open_at_the_same_time(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, pattern="*", approvals=1)
        open_request(api, bob, resnet[0], alias="production")

        assert open_request(api, bob, resnet[0], version=3, alias="staging")["alias"] == "staging"

    def test_a_private_version_cannot_be_put_up_for_approval(self, api, alice, bob, project, resnet, two_approvals):
        upload(bob, project, "resnet", metrics={"accuracy": 0.95}, private=True)  # v4, Bob's
        body = assert_error(api.as_user(bob).put(alias_url(resnet[0]), {"version": 4}, format="json"), 409)

        assert "Version 4 is private" in body["message"]
        assert not PromotionRequest.objects.exists()


class TestApproving:
    def test_n_distinct_approvals_move_the_alias_with_the_last_one(self, api, alice, bob, dave, resnet, two_approvals):
        data = open_request(api, bob, resnet[0])
        before = last_event_id()

        first = api.as_user(alice).post(request_url(data["id"], "approve"), {"comment": "fine"}, format="json")
        assert first.status_code == 200, first.content
        assert first.json()["data"]["state"] == "pending"
        assert [a["user"]["login"] for a in first.json()["data"]["approvals"]] == ["alice"]
        assert version_of(resnet[0]) == 1

        second = api.as_user(dave).post(request_url(data["id"], "approve"), format="json")
        assert second.status_code == 200, second.content
        assert second.json()["data"]["state"] == "completed"
        assert second.json()["data"]["closed_by"]["login"] == "dave"
        assert version_of(resnet[0]) == 2
        assert kinds_since(before) == ["promotion.approved", "promotion.approved", "alias.moved", "promotion.completed"]
        moved = Event.objects.get(kind="alias.moved", id__gt=before)
        assert (moved.before["version"], moved.after["version"], moved.actor_id) == (1, 2, dave.pk)
        completed = only_event("promotion.completed")
        assert completed.after == {
            "state": "completed",
            "version": 2,
            "previous_version": 1,
            "approved_by": ["alice", "dave"],
        }

    def test_the_requester_can_never_approve_their_own(self, api, alice, bob, resnet, two_approvals):
        data = open_request(api, bob, resnet[0])
        before = last_event_id()

        body = assert_error(api.as_user(bob).post(request_url(data["id"], "approve")), 403)
        assert "You opened this request" in body["message"]
        assert not PromotionApproval.objects.exists()
        assert kinds_since(before) == []

    def test_an_owner_who_requested_cannot_approve_either(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, approvals=1)
        data = open_request(api, alice, resnet[0])

        assert_error(api.as_user(alice).post(request_url(data["id"], "approve")), 403)
        assert api.as_user(bob).post(request_url(data["id"], "approve")).json()["data"]["state"] == "completed"
        assert version_of(resnet[0]) == 2

    def test_one_person_approving_twice_counts_once(self, api, alice, bob, resnet, two_approvals):
        data = open_request(api, bob, resnet[0])
        api.as_user(alice).post(request_url(data["id"], "approve"))

        body = assert_error(api.as_user(alice).post(request_url(data["id"], "approve")), 409)
        assert body["message"] == "You have already approved this request."
        assert PromotionApproval.objects.count() == 1
        assert version_of(resnet[0]) == 1

    def test_only_people_who_may_move_the_alias_approve(self, api, alice, bob, dave, carol, resnet):
        make_rule(resnet[0].project, alice, approvals=1, movers="users", users=[bob])
        data = open_request(api, bob, resnet[0])

        assert_error(api.as_user(dave).post(request_url(data["id"], "approve")), 403)  # a member, not named
        assert_error(api.as_user(carol).post(request_url(data["id"], "approve")), 403)  # a viewer
        assert not PromotionApproval.objects.exists()
        assert api.as_user(alice).post(request_url(data["id"], "approve")).status_code == 200  # an owner

    def test_the_rules_are_evaluated_again_at_the_last_approval(self, api, alice, bob, dave, resnet, two_approvals):
        data = open_request(api, bob, resnet[0], version=3)  # 0.85 passes "> 0.8"
        api.as_user(alice).post(request_url(data["id"], "approve"))
        # Meanwhile the rule is tightened: 0.85 no longer passes.
        promotions.alias_rule_update(rule=two_approvals, user=alice, condition="metrics.accuracy > 0.9")
        before = last_event_id()

        body = assert_error(api.as_user(dave).post(request_url(data["id"], "approve")), 409)

        assert body["failed_rules"] == [
            {
                "code": "condition",
                "rule_id": two_approvals.pk,
                "pattern": "production",
                "message": "metrics.accuracy is 0.85; the rule for production needs metrics.accuracy > 0.9",
            }
        ]
        assert version_of(resnet[0]) == 1
        request = PromotionRequest.objects.get()
        assert request.state == "pending"
        assert [a.user.login for a in request.approvals.all()] == ["alice"]  # Dave's is not kept
        assert kinds_since(before) == []

    def test_a_holder_that_changed_meanwhile_is_the_bar_at_the_last_approval(self, api, alice, bob, dave, resnet):
        rule = make_rule(resnet[0].project, alice, approvals=1, metric="accuracy", direction="higher")
        data = open_request(api, bob, resnet[0], version=3)  # 0.85 beats v1's 0.80
        # The owners lift the approvals, move production to v2 (0.92) and restore them.
        promotions.alias_rule_update(rule=rule, user=alice, approvals=0)
        promotions.alias_put(registered_model=resnet[0].registered_model, name="production", version=2, user=alice)
        promotions.alias_rule_update(rule=rule, user=alice, approvals=1)

        body = assert_error(api.as_user(dave).post(request_url(data["id"], "approve")), 409)

        assert [rule["code"] for rule in body["failed_rules"]] == ["no_worse_than"]
        assert version_of(resnet[0]) == 2

    def test_more_approvals_required_since_opening_keeps_it_pending(self, api, alice, bob, dave, resnet):
        rule = make_rule(resnet[0].project, alice, approvals=1)
        data = open_request(api, bob, resnet[0])
        promotions.alias_rule_update(rule=rule, user=alice, approvals=2)

        answer = api.as_user(dave).post(request_url(data["id"], "approve")).json()["data"]
        assert (answer["state"], answer["approvals_required"]) == ("pending", 2)
        assert version_of(resnet[0]) == 1
        assert api.as_user(alice).post(request_url(data["id"], "approve")).json()["data"]["state"] == "completed"
        assert version_of(resnet[0]) == 2

    def test_a_deleted_candidate_cannot_complete(self, api, alice, bob, dave, resnet):
        make_rule(resnet[0].project, alice, approvals=1)
        data = open_request(api, bob, resnet[0], version=3)
        services.model_delete(model=resnet[2], user=bob)

        body = assert_error(api.as_user(dave).post(request_url(data["id"], "approve")), 409)
        assert "Version 3 has been deleted" in body["message"]
        assert version_of(resnet[0]) == 1

    def test_a_closed_request_cannot_be_approved(self, api, alice, bob, dave, resnet):
        make_rule(resnet[0].project, alice, approvals=1)
        data = open_request(api, bob, resnet[0])
        api.as_user(dave).post(request_url(data["id"], "approve"))

        body = assert_error(api.as_user(alice).post(request_url(data["id"], "approve")), 409)
        assert body["message"] == f"Request {data['id']} is completed: only a pending request can change."


class TestRejectingAndCancelling:
    def test_a_permitted_user_rejects_with_a_comment(self, api, alice, bob, resnet, two_approvals):
        data = open_request(api, bob, resnet[0])
        response = api.as_user(alice).post(request_url(data["id"], "reject"), {"comment": "not yet"}, format="json")

        assert response.status_code == 200
        request = PromotionRequest.objects.get()
        assert (request.state, request.closed_by, request.closed_comment) == ("rejected", alice, "not yet")
        assert only_event("promotion.rejected").after == {"state": "rejected", "comment": "not yet"}
        assert version_of(resnet[0]) == 1

    def test_the_requester_cannot_reject_but_cancels(self, api, bob, dave, resnet, two_approvals):
        data = open_request(api, bob, resnet[0])

        assert (
            "cancel it instead"
            in assert_error(api.as_user(bob).post(request_url(data["id"], "reject")), 403)["message"]
        )
        assert_error(api.as_user(dave).post(request_url(data["id"], "cancel")), 403)
        assert PromotionRequest.objects.get().state == "pending"

        assert api.as_user(bob).post(request_url(data["id"], "cancel")).json()["data"]["state"] == "cancelled"
        assert only_event("promotion.cancelled").actor_id == bob.pk
        assert version_of(resnet[0]) == 1

    def test_after_a_rejection_a_new_request_can_be_opened(self, api, alice, bob, resnet, two_approvals):
        data = open_request(api, bob, resnet[0])
        api.as_user(alice).post(request_url(data["id"], "reject"))

        assert open_request(api, bob, resnet[0], version=3)["version"] == 3

    def test_a_viewer_cannot_reject(self, api, bob, carol, resnet, two_approvals):
        data = open_request(api, bob, resnet[0])

        assert_error(api.as_user(carol).post(request_url(data["id"], "reject")), 403)
        assert PromotionRequest.objects.get().state == "pending"

    def test_a_bad_comment_is_a_400(self, api, alice, bob, resnet, two_approvals):
        data = open_request(api, bob, resnet[0])

        body = assert_error(api.as_user(alice).post(request_url(data["id"], "reject"), {"comment": 5 * "x" * 500}), 400)
        assert "comment" in body["errors"]
        assert PromotionRequest.objects.get().state == "pending"


class TestList:
    def test_it_lists_pending_first_then_newest(self, api, alice, bob, dave, resnet):
        make_rule(resnet[0].project, alice, pattern="*", approvals=1)
        done = open_request(api, bob, resnet[0], alias="production")
        api.as_user(dave).post(request_url(done["id"], "approve"))
        pending = open_request(api, bob, resnet[0], version=3, alias="staging")
        cancelled = open_request(api, bob, resnet[0], version=3, alias="canary")
        api.as_user(bob).post(request_url(cancelled["id"], "cancel"))

        rows = api.as_user(alice).get(URL).json()["data"]
        assert [(row["id"], row["state"]) for row in rows] == [
            (pending["id"], "pending"),
            (cancelled["id"], "cancelled"),
            (done["id"], "completed"),
        ]

    def test_filters_by_state_project_registered_model_and_alias(self, api, alice, bob, project, resnet, workspace):
        make_rule(project, alice, pattern="*", approvals=1)
        first = open_request(api, bob, resnet[0], alias="production")
        vgg = upload(bob, project, "vgg")
        second = open_request(api, bob, vgg, version=1, alias="staging")
        api.as_user(bob).post(request_url(second["id"], "cancel"))
        client = api.as_user(alice)

        def ids(**params):
            return [row["id"] for row in client.get(URL, params).json()["data"]]

        assert ids(state="pending") == [first["id"]]
        assert ids(state="pending,cancelled") == [first["id"], second["id"]]
        assert ids(registered_model=vgg.registered_model_id) == [second["id"]]
        assert ids(project=project.pk, alias="production") == [first["id"]]
        assert ids(workspace=workspace.pk + 1000) == []

    @pytest.mark.parametrize(("params", "field"), [({"state": "open"}, "state"), ({"project": "x"}, "project")])
    def test_bad_filters_are_400s_naming_the_filter(self, api, alice, resnet, params, field):
        body = assert_error(api.as_user(alice).get(URL, params), 400)

        assert field in body["errors"]

    def test_members_and_viewers_see_requests_and_outsiders_do_not(self, api, alice, bob, carol, eve, resnet):
        make_rule(resnet[0].project, alice, approvals=1)
        data = open_request(api, bob, resnet[0])

        assert [row["id"] for row in api.as_user(carol).get(URL).json()["data"]] == [data["id"]]
        assert api.as_user(carol).get(request_url(data["id"])).status_code == 200
        assert api.as_user(eve).get(URL).json()["data"] == []
        assert_error(api.as_user(eve).get(request_url(data["id"])), 404)
        assert_error(api.as_user(eve).post(request_url(data["id"], "approve")), 404)
        assert_error(api.as_user(eve).post(request_url(data["id"], "cancel")), 404)
        assert PromotionRequest.objects.get().state == "pending"

    def test_a_request_whose_version_became_private_is_hidden_from_others(self, api, alice, bob, dave, resnet):
        make_rule(resnet[0].project, alice, approvals=1)
        data = open_request(api, bob, resnet[0])
        services.model_update(model=resnet[1], user=bob, private=True)

        assert api.as_user(dave).get(URL).json()["data"] == []
        assert_error(api.as_user(dave).post(request_url(data["id"], "approve")), 404)
        assert [row["id"] for row in api.as_user(bob).get(URL).json()["data"]] == [data["id"]]

    def test_anonymous_callers_get_401(self, api):
        assert_error(api.as_user(None).get(URL), 401)


def test_the_list_reads_a_page_in_a_fixed_number_of_queries(
    api, alice, bob, dave, project, resnet, django_assert_num_queries
):
    make_rule(project, alice, pattern="*", approvals=2)
    for index in range(4):
        data = open_request(api, bob, upload(bob, project, f"net{index}"), version=1, alias="production")
        api.as_user(dave).post(request_url(data["id"], "approve"))
    client = api.as_user(alice)

    # The user behind the JWT, the count, the page (with its registered model, project, version
    # and people), the approvals and their users.
    with django_assert_num_queries(5):
        rows = client.get(URL).json()["data"]
    assert len(rows) == 4 and all(len(row["approvals"]) == 1 for row in rows)


def test_may_decide_says_who_gets_the_approve_and_reject_buttons(api, alice, bob, carol, dave, resnet):
    make_rule(resnet[0].project, alice, approvals=1, movers="users", users=[dave])
    request = PromotionRequest.objects.get(pk=open_request(api, dave, resnet[0])["id"])

    assert [user.login for user in (alice, bob, carol, dave) if promotions.may_decide(user, request)] == ["alice"]
