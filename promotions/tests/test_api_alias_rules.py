"""/api/v1/projects/<id>/alias-rules/: owners manage rules, members read them (issue 14)."""

import pytest

from events.tests.helpers import events_of, only_event
from promotions.models import AliasRule
from promotions.tests.helpers import last_event, make_rule, rules_url
from registry.tests.assertions import assert_error

GOOD = {
    "pattern": "prod*",
    "movers": "owners",
    "condition": 'metrics.accuracy >= 0.9 and branch = "main"',
    "metric": "accuracy",
    "direction": "higher",
    "tolerance": 0.01,
    "approvals": 2,
}


class TestCreate:
    def test_an_owner_creates_a_rule_and_reads_it_back(self, api, alice, project):
        response = api.as_user(alice).post(rules_url(project), GOOD, format="json")

        assert response.status_code == 201, response.content
        data = response.json()["data"]
        rule = AliasRule.objects.get(pk=data["id"])
        assert (rule.pattern, rule.movers, rule.condition) == ("prod*", "owners", GOOD["condition"])
        assert (rule.metric, rule.direction, rule.tolerance, rule.approvals) == ("accuracy", "higher", 0.01, 2)
        assert data["project_id"] == project.pk
        assert data["users"] == []
        assert data["_links"]["self"] == f"http://testserver{rules_url(project, rule)}"
        assert api.get(rules_url(project, rule)).json()["data"]["condition"] == GOOD["condition"]

    def test_it_records_rules_changed_with_the_rule_after(self, api, alice, project):
        api.as_user(alice).post(rules_url(project), GOOD, format="json")

        event = only_event("rules.changed")
        assert event.before is None
        assert event.after["pattern"] == "prod*" and event.after["approvals"] == 2
        assert (event.actor_id, event.project_id, event.workspace_id) == (alice.pk, project.pk, project.workspace_id)

    def test_named_users_are_given_by_id_and_answered_as_users(self, api, alice, bob, project):
        body = {"pattern": "production", "movers": "users", "user_ids": [bob.pk]}
        data = api.as_user(alice).post(rules_url(project), body, format="json").json()["data"]

        assert [user["login"] for user in data["users"]] == ["bob"]
        assert list(AliasRule.objects.get().users.all()) == [bob]
        assert only_event("rules.changed").after["users"] == ["bob"]

    def test_defaults_make_a_rule_that_lets_members_move_without_conditions(self, api, alice, project):
        data = api.as_user(alice).post(rules_url(project), {"pattern": "staging"}, format="json").json()["data"]

        assert (data["movers"], data["condition"], data["metric"], data["approvals"]) == ("members", "", "", 0)


class TestBadInput:
    @pytest.mark.parametrize("pattern", ["Prod*", "prod/x", "", "prod[ab]", "p" * 65, "prod uction"])
    def test_a_bad_pattern_is_a_400_naming_the_pattern(self, api, alice, project, pattern):
        body = assert_error(api.as_user(alice).post(rules_url(project), {"pattern": pattern}, format="json"), 400)

        assert "pattern" in body["errors"]
        assert not AliasRule.objects.exists()

    def test_an_unparsable_condition_is_a_400_with_the_parsers_message(self, api, alice, project):
        sent = {"pattern": "production", "condition": "metrics.accuracy >= "}
        body = assert_error(api.as_user(alice).post(rules_url(project), sent, format="json"), 400)

        expected = "Expected a value (a number, a quoted string, true, false or null) at offset 20"
        assert body["errors"]["condition"] == [f"{expected}, found the end of the text."]
        assert not AliasRule.objects.exists()

    def test_a_condition_on_an_unknown_field_is_a_400(self, api, alice, project):
        sent = {"pattern": "production", "condition": "colour = 'red'"}
        body = assert_error(api.as_user(alice).post(rules_url(project), sent, format="json"), 400)

        assert "Unknown field 'colour'" in body["errors"]["condition"][0]

    @pytest.mark.parametrize(
        ("sent", "field"),
        [
            ({"metric": "accuracy", "direction": "up"}, "direction"),
            ({"metric": "accuracy"}, "direction"),
            ({"direction": "higher"}, "metric"),
            ({"metric": "accuracy", "direction": "higher", "tolerance": -1}, "tolerance"),
            ({"approvals": -1}, "approvals"),
            ({"approvals": 11}, "approvals"),
            ({"movers": "everyone"}, "movers"),
            ({"movers": "users"}, "users"),
            ({"movers": "users", "user_ids": [987654]}, "user_ids"),
        ],
    )
    def test_bad_fields_are_400s_naming_the_field(self, api, alice, project, sent, field):
        body = assert_error(
            api.as_user(alice).post(rules_url(project), {"pattern": "production", **sent}, format="json"), 400
        )

        assert field in body["errors"], body
        assert not AliasRule.objects.exists()

    def test_a_nul_in_a_condition_is_a_400_and_nothing_changes(self, api, alice, project):
        sent = {"pattern": "production", "condition": "name = 'a\x00b'"}

        assert_error(api.as_user(alice).post(rules_url(project), sent, format="json"), 400)
        assert not AliasRule.objects.exists()

    def test_a_named_viewer_or_outsider_is_a_400_naming_them(self, api, alice, carol, eve, project):
        sent = {"pattern": "production", "movers": "users", "user_ids": [carol.pk, eve.pk]}
        body = assert_error(api.as_user(alice).post(rules_url(project), sent, format="json"), 400)

        expected = "Not an owner or member of this workspace, so cannot move aliases: carol, eve."
        assert body["errors"]["users"] == [expected]

    def test_named_users_with_other_movers_is_a_400(self, api, alice, bob, project):
        sent = {"pattern": "production", "movers": "members", "user_ids": [bob.pk]}

        assert "users" in assert_error(api.as_user(alice).post(rules_url(project), sent, format="json"), 400)["errors"]

    def test_a_second_rule_for_the_same_pattern_is_a_400(self, api, alice, project):
        make_rule(project, alice)
        body = assert_error(api.as_user(alice).post(rules_url(project), {"pattern": "production"}, format="json"), 400)

        assert body["errors"]["pattern"] == ["This project already has a rule for 'production'."]
        assert AliasRule.objects.count() == 1


class TestUpdateAndDelete:
    def test_an_owner_updates_a_rule_and_the_event_holds_what_changed(self, api, alice, project):
        rule = make_rule(project, alice, approvals=1)
        response = api.as_user(alice).patch(rules_url(project, rule), {"approvals": 3}, format="json")

        assert response.status_code == 200, response.content
        rule.refresh_from_db()
        assert rule.approvals == 3
        event = last_event("rules.changed")
        assert (event.before, event.after) == ({"approvals": 1}, {"approvals": 3})

    def test_an_update_that_changes_nothing_records_nothing(self, api, alice, project):
        rule = make_rule(project, alice, approvals=1)
        api.as_user(alice).patch(rules_url(project, rule), {"approvals": 1}, format="json")

        assert len(events_of("rules.changed")) == 1

    def test_leaving_movers_users_drops_the_named_users(self, api, alice, bob, project):
        rule = make_rule(project, alice, movers="users", users=[bob])
        api.as_user(alice).patch(rules_url(project, rule), {"movers": "owners"}, format="json")

        assert list(AliasRule.objects.get().users.all()) == []
        assert last_event("rules.changed").after == {"movers": "owners", "users": []}

    def test_a_bad_update_is_a_400_and_changes_nothing(self, api, alice, project):
        rule = make_rule(project, alice, condition="metrics.accuracy > 0.5")
        body = assert_error(
            api.as_user(alice).patch(rules_url(project, rule), {"condition": "metrics.accuracy >"}, format="json"),
            400,
        )

        assert "condition" in body["errors"]
        assert AliasRule.objects.get().condition == "metrics.accuracy > 0.5"
        assert len(events_of("rules.changed")) == 1

    def test_an_owner_deletes_a_rule_and_the_event_holds_it_before(self, api, alice, project):
        rule = make_rule(project, alice, approvals=2)
        response = api.as_user(alice).delete(rules_url(project, rule))

        assert response.json() == {"status": "success"}
        assert not AliasRule.objects.exists()
        event = last_event("rules.changed")
        assert (event.before["approvals"], event.after) == (2, None)


class TestWhoMay:
    def test_members_and_viewers_read_rules(self, api, alice, bob, carol, project):
        rule = make_rule(project, alice)
        for user in (bob, carol):
            client = api.as_user(user)
            assert [row["id"] for row in client.get(rules_url(project)).json()["data"]] == [rule.pk]
            assert client.get(rules_url(project, rule)).status_code == 200

    @pytest.mark.parametrize("who", ["bob", "carol"])
    def test_members_and_viewers_cannot_change_rules(self, api, alice, bob, carol, project, who):
        rule = make_rule(project, alice)
        client = api.as_user({"bob": bob, "carol": carol}[who])

        assert_error(client.post(rules_url(project), {"pattern": "staging"}, format="json"), 403)
        assert_error(client.patch(rules_url(project, rule), {"approvals": 5}, format="json"), 403)
        assert_error(client.delete(rules_url(project, rule)), 403)
        assert list(AliasRule.objects.values_list("pattern", "approvals")) == [("production", 0)]
        assert len(events_of("rules.changed")) == 1

    def test_an_outsider_gets_404_for_everything(self, api, alice, eve, project):
        rule = make_rule(project, alice)
        client = api.as_user(eve)

        assert_error(client.get(rules_url(project)), 404)
        assert_error(client.get(rules_url(project, rule)), 404)
        assert_error(client.post(rules_url(project), {"pattern": "staging"}, format="json"), 404)
        assert_error(client.delete(rules_url(project, rule)), 404)
        assert AliasRule.objects.count() == 1

    def test_anonymous_callers_get_401(self, api, project):
        assert_error(api.as_user(None).get(rules_url(project)), 401)

    def test_staff_manage_any_projects_rules(self, api, staff, project):
        assert api.as_user(staff).post(rules_url(project), {"pattern": "staging"}, format="json").status_code == 201

    def test_a_rule_of_another_project_is_a_404_under_this_one(self, api, alice, project, workspace):
        from registry import services

        other = services.project_create(user=alice, workspace=workspace, name="other")
        rule = make_rule(other, alice)

        assert_error(api.as_user(alice).get(rules_url(project, rule)), 404)
