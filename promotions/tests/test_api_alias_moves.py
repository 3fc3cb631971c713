"""Alias PUT and DELETE under a project's rules: every rule kind, the 409 body, nothing changed.

resnet: v1 (accuracy 0.80, main), v2 (0.92, main), v3 (0.85, dev); production on v1 (conftest).
"""

import pytest

from events.tests.helpers import events_of
from promotions.tests.helpers import alias_url, kinds_since, last_event_id, make_rule, version_of
from registry import services
from registry.tests.assertions import assert_error
from registry.tests.factories import upload


def refused(response, *codes: str) -> list[dict]:
    """The failed rules of a 409, checked to have exactly these codes."""
    body = assert_error(response, 409)
    failed = body["failed_rules"]
    assert sorted(rule["code"] for rule in failed) == sorted(codes), body
    return failed


class TestWithoutRules:
    def test_a_member_moves_an_alias_as_before(self, api, bob, resnet):
        response = api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json")

        assert response.status_code == 200
        assert (response.json()["data"]["version"], response.json()["data"]["previous_version"]) == (2, 1)
        assert version_of(resnet[0]) == 2

    def test_a_rule_for_another_alias_does_not_apply(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, pattern="staging", movers="owners")

        assert api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json").status_code == 200


class TestCondition:
    def test_a_version_that_does_not_match_is_refused_with_what_it_holds(self, api, alice, bob, resnet):
        rule = make_rule(resnet[0].project, alice, condition='metrics.accuracy >= 0.9 and branch = "main"')
        before = last_event_id()

        failed = refused(
            api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json"), "condition", "condition"
        )

        assert failed == [
            {
                "code": "condition",
                "rule_id": rule.pk,
                "pattern": "production",
                "message": "metrics.accuracy is 0.85; the rule for production needs metrics.accuracy >= 0.9",
            },
            {
                "code": "condition",
                "rule_id": rule.pk,
                "pattern": "production",
                "message": 'branch is "dev"; the rule for production needs branch = "main"',
            },
        ]
        assert version_of(resnet[0]) == 1
        assert kinds_since(before) == []

    def test_the_409_message_names_the_first_failure(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, condition="metrics.accuracy >= 0.9")
        body = assert_error(api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json"), 409)

        expected = "metrics.accuracy is 0.85; the rule for production needs metrics.accuracy >= 0.9"
        assert body["message"] == f"Moving production breaks a rule: {expected}."

    def test_a_version_that_matches_moves_the_alias(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, condition='metrics.accuracy >= 0.9 and branch = "main"')

        assert api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json").status_code == 200
        assert version_of(resnet[0]) == 2

    def test_a_missing_key_says_it_is_not_set(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, condition="metrics.f1 > 0.5")
        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json"), "condition")

        assert failed[0]["message"] == "metrics.f1 is not set; the rule for production needs metrics.f1 > 0.5"

    def test_an_or_is_one_part_naming_each_field(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, condition='metrics.accuracy > 0.9 or branch = "release"')
        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json"), "condition")

        assert failed[0]["message"] == (
            'metrics.accuracy is 0.85 and branch is "dev"; the rule for production needs '
            'metrics.accuracy > 0.9 or branch = "release"'
        )

    def test_git_provenance_can_be_required(self, api, alice, bob, project, resnet):
        make_rule(project, alice, condition="commit exists")
        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json"), "condition")
        assert failed[0]["message"] == "commit is empty; the rule for production needs commit exists"

        upload(bob, project, "resnet", git_commit="0123abcd")  # v4
        assert api.as_user(bob).put(alias_url(resnet[0]), {"version": 4}, format="json").status_code == 200

    def test_negations_and_lists_are_written_back_as_given(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, condition='branch not in ("dev", "wip") and not (metrics.loss > 0.35)')
        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json"), *["condition"] * 2)

        assert [rule["message"] for rule in failed] == [
            'branch is "dev"; the rule for production needs branch not in ("dev", "wip")',
            "metrics.loss is 0.4; the rule for production needs not (metrics.loss > 0.35)",
        ]

    def test_a_tag_condition_lists_the_versions_tags(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, condition='tag = "approved"')
        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json"), "condition")

        assert failed[0]["message"] == 'tag has none; the rule for production needs tag = "approved"'


class TestNoWorseThan:
    def test_higher_is_better_refuses_a_lower_value(self, api, alice, bob, resnet):
        api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json")  # 0.92 holds it
        rule = make_rule(resnet[0].project, alice, metric="accuracy", direction="higher")
        before = last_event_id()

        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json"), "no_worse_than")

        assert failed[0]["rule_id"] == rule.pk
        assert failed[0]["message"] == (
            "metrics.accuracy is 0.85 on version 3; the rule for production needs it no lower than 0.92: "
            "0.92 on version 2, which it replaces (higher is better)"
        )
        assert version_of(resnet[0]) == 2
        assert kinds_since(before) == []

    def test_higher_is_better_accepts_a_higher_value(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, metric="accuracy", direction="higher")

        assert api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json").status_code == 200

    def test_the_tolerance_lets_a_slightly_worse_version_through(self, api, alice, bob, resnet):
        api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json")
        make_rule(resnet[0].project, alice, metric="accuracy", direction="higher", tolerance=0.07)

        assert api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json").status_code == 200
        assert version_of(resnet[0]) == 3

    def test_the_tolerance_is_named_when_it_is_not_enough(self, api, alice, bob, resnet):
        api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json")
        make_rule(resnet[0].project, alice, metric="accuracy", direction="higher", tolerance=0.05)

        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json"), "no_worse_than")
        assert failed[0]["message"] == (
            "metrics.accuracy is 0.85 on version 3; the rule for production needs it no lower than 0.87: "
            "0.92 on version 2, which it replaces, minus a tolerance of 0.05 (higher is better)"
        )

    def test_lower_is_better_refuses_a_higher_value(self, api, alice, bob, resnet):
        api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json")  # loss 0.3
        make_rule(resnet[0].project, alice, metric="loss", direction="lower")

        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json"), "no_worse_than")
        assert "no higher than 0.3" in failed[0]["message"]
        assert api.as_user(bob).put(alias_url(resnet[0]), {"version": 1}, format="json").status_code == 409

    def test_a_version_without_the_metric_is_refused(self, api, alice, bob, project, resnet):
        make_rule(project, alice, metric="accuracy", direction="higher")
        upload(bob, project, "resnet", metrics={})  # v4

        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 4}, format="json"), "no_worse_than")
        assert failed[0]["message"].startswith("metrics.accuracy is not a number on version 4;")

    def test_a_new_alias_has_nothing_to_be_worse_than(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, pattern="*", metric="accuracy", direction="higher")

        assert api.as_user(bob).put(alias_url(resnet[0], "staging"), {"version": 1}, format="json").status_code == 200

    def test_a_private_holder_of_someone_else_is_not_described(self, api, alice, bob, project, resnet):
        secret = upload(alice, project, "resnet", metrics={"accuracy": 0.99}, private=True)  # v4, Alice's
        services.alias_set(registered_model=secret.registered_model, name="production", version=4, user=alice)
        make_rule(project, alice, metric="accuracy", direction="higher")

        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json"), "no_worse_than")
        assert failed[0]["message"] == (
            "metrics.accuracy is 0.92 on version 2; the rule for production needs it no lower than on the "
            "version it replaces (higher is better)"
        )
        assert "0.99" not in str(failed) and "version 4" not in str(failed)


class TestWhoMayMove:
    def test_owners_only_refuses_a_member_with_409_and_lets_an_owner(self, api, alice, bob, resnet):
        rule = make_rule(resnet[0].project, alice, movers="owners")

        failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json"), "not_permitted")
        assert failed == [
            {
                "code": "not_permitted",
                "rule_id": rule.pk,
                "pattern": "production",
                "message": (
                    "bob may not move production: the rule for production lets only the workspace's owners move it."
                ),
            }
        ]
        assert version_of(resnet[0]) == 1
        assert api.as_user(alice).put(alias_url(resnet[0]), {"version": 2}, format="json").status_code == 200
        assert version_of(resnet[0]) == 2

    def test_named_users_may_and_other_members_may_not(self, api, alice, bob, dave, resnet):
        make_rule(resnet[0].project, alice, movers="users", users=[dave])

        refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json"), "not_permitted")
        assert api.as_user(dave).put(alias_url(resnet[0]), {"version": 2}, format="json").status_code == 200
        assert api.as_user(alice).put(alias_url(resnet[0]), {"version": 3}, format="json").status_code == 200

    def test_members_movers_lets_members(self, api, alice, dave, resnet):
        make_rule(resnet[0].project, alice, movers="members")

        assert api.as_user(dave).put(alias_url(resnet[0]), {"version": 2}, format="json").status_code == 200

    def test_a_viewer_gets_403_whatever_the_rules(self, api, alice, carol, resnet):
        make_rule(resnet[0].project, alice, movers="members")

        assert_error(api.as_user(carol).put(alias_url(resnet[0]), {"version": 2}, format="json"), 403)
        assert_error(api.as_user(carol).delete(alias_url(resnet[0])), 403)
        assert version_of(resnet[0]) == 1

    def test_an_outsider_gets_404(self, api, alice, eve, resnet):
        make_rule(resnet[0].project, alice)

        assert_error(api.as_user(eve).put(alias_url(resnet[0]), {"version": 2}, format="json"), 404)

    def test_a_rule_failure_and_a_mover_failure_are_listed_together(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, movers="owners", condition="metrics.accuracy > 0.9")

        refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json"), "not_permitted", "condition")

    def test_a_removal_follows_who_may_move_it(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, movers="owners", condition="metrics.accuracy > 0.99")
        before = last_event_id()

        refused(api.as_user(bob).delete(alias_url(resnet[0])), "not_permitted")
        assert version_of(resnet[0]) == 1
        assert kinds_since(before) == []
        # The condition is about what may receive the alias, not about taking it away.
        assert api.as_user(alice).delete(alias_url(resnet[0])).json() == {"status": "success"}
        assert version_of(resnet[0]) is None
        assert kinds_since(before) == ["alias.removed"]

    def test_removing_an_unknown_alias_is_still_a_404(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, pattern="*", movers="owners")

        assert_error(api.as_user(bob).delete(alias_url(resnet[0], "staging")), 404)


class TestPatterns:
    def test_a_glob_guards_every_alias_it_matches(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, pattern="prod*", movers="owners")
        client = api.as_user(bob)

        refused(client.put(alias_url(resnet[0], "production"), {"version": 2}, format="json"), "not_permitted")
        refused(client.put(alias_url(resnet[0], "prod-eu"), {"version": 2}, format="json"), "not_permitted")
        assert client.put(alias_url(resnet[0], "staging"), {"version": 2}, format="json").status_code == 200

    def test_every_matching_rule_applies(self, api, alice, bob, resnet):
        exact = make_rule(resnet[0].project, alice, condition="metrics.accuracy > 0.9")
        glob = make_rule(resnet[0].project, alice, pattern="prod*", condition='branch = "main"')

        failed = refused(
            api.as_user(bob).put(alias_url(resnet[0]), {"version": 3}, format="json"), "condition", "condition"
        )
        assert {rule["rule_id"] for rule in failed} == {exact.pk, glob.pk}

    def test_a_rule_in_another_project_does_not_apply(self, api, alice, bob, workspace, resnet):
        other = services.project_create(user=alice, workspace=workspace, name="other")
        make_rule(other, alice, movers="owners")

        assert api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json").status_code == 200


class TestBadInput:
    @pytest.mark.parametrize("name", ["Production", "-x", "a" * 65])
    def test_a_bad_alias_name_is_a_400_before_any_rule(self, api, alice, bob, resnet, name):
        make_rule(resnet[0].project, alice, pattern="*", movers="owners")
        body = assert_error(api.as_user(bob).put(alias_url(resnet[0], name), {"version": 2}, format="json"), 400)

        assert "alias" in body["errors"]

    def test_a_version_that_does_not_exist_is_a_400(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, movers="owners")
        body = assert_error(api.as_user(bob).put(alias_url(resnet[0]), {"version": 9}, format="json"), 400)

        assert body["errors"] == {"version": ["resnet has no version 9."]}

    def test_a_private_version_of_someone_else_cannot_be_named(self, api, alice, bob, project, resnet):
        upload(alice, project, "resnet", private=True)  # v4

        body = assert_error(api.as_user(bob).put(alias_url(resnet[0]), {"version": 4}, format="json"), 400)
        assert body["errors"] == {"version": ["resnet has no version 4."]}

    def test_a_put_onto_the_version_it_names_changes_nothing_even_under_rules(self, api, alice, bob, resnet):
        make_rule(resnet[0].project, alice, condition="metrics.accuracy > 0.99", approvals=2)
        before = last_event_id()

        response = api.as_user(bob).put(alias_url(resnet[0]), {"version": 1}, format="json")
        assert response.status_code == 200
        assert (response.json()["data"]["version"], response.json()["data"]["previous_version"]) == (1, 1)
        assert kinds_since(before) == []


def test_a_move_records_one_alias_event_in_its_transaction(api, alice, bob, resnet):
    make_rule(resnet[0].project, alice, condition="metrics.accuracy > 0.9")
    api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json")

    (moved,) = events_of("alias.moved")
    assert (moved.before["version"], moved.after["version"], moved.actor_id) == (1, 2, bob.pk)


def test_a_stored_condition_that_no_longer_parses_refuses_the_move_and_says_so(api, alice, bob, resnet):
    rule = make_rule(resnet[0].project, alice)
    # Saved before the search language changed, say: written past the service's check.
    type(rule).objects.filter(pk=rule.pk).update(condition="metrics.accuracy >> 0.9")

    failed = refused(api.as_user(bob).put(alias_url(resnet[0]), {"version": 2}, format="json"), "condition")

    assert failed[0]["message"].startswith("the condition of the rule for production no longer runs (")
    assert version_of(resnet[0]) == 1
