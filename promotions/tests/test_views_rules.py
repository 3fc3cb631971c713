"""Web UI: the project's settings page with its alias rules. Members read them; the workspace's
owners create, change and delete them through promotions.services (the condition parsed as the
models list parses `q=`, the named users checked against the workspace).

Alice owns the workspace, Bob and Dave are members, Carol a viewer, Eve an outsider.
"""

import pytest
from django.urls import reverse

from events.models import Event
from promotions.models import AliasRule
from promotions.tests.helpers import kinds_since, last_event_id, make_rule


def settings_url(project) -> str:
    return reverse("promotions:project_settings", args=[project.pk])


def create_url(project) -> str:
    return reverse("promotions:alias_rule_create", args=[project.pk])


def update_url(rule) -> str:
    return reverse("promotions:alias_rule_update", args=[rule.project_id, rule.pk])


def delete_url(rule) -> str:
    return reverse("promotions:alias_rule_delete", args=[rule.project_id, rule.pk])


def signed_in(client, user):
    client.force_login(user)
    return client


def rule_data(prefix: str = "new", **fields) -> dict:
    data = {
        "pattern": "production",
        "movers": "members",
        "condition": "",
        "metric": "",
        "direction": "",
        "tolerance": "0",
        "approvals": "0",
        **fields,
    }
    return {f"{prefix}-{name}": value for name, value in data.items()}


def stored(rule: AliasRule) -> dict:
    rule = AliasRule.objects.get(pk=rule.pk)
    return {
        "pattern": rule.pattern,
        "movers": rule.movers,
        "users": sorted(user.login for user in rule.users.all()),
        "condition": rule.condition,
        "metric": rule.metric,
        "direction": rule.direction,
        "tolerance": rule.tolerance,
        "approvals": rule.approvals,
    }


class TestTheSettingsPage:
    def test_anonymous_visitors_are_sent_to_sign_in(self, client, project):
        response = client.get(settings_url(project))
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))

    def test_an_outsider_gets_404(self, client, eve, project):
        assert signed_in(client, eve).get(settings_url(project)).status_code == 404

    def test_an_owner_gets_the_rules_with_their_forms(self, client, alice, project):
        rule = make_rule(project, alice, condition="metrics.accuracy >= 0.9", approvals=2)
        response = signed_in(client, alice).get(settings_url(project))
        page = response.content.decode()
        assert response.status_code == 200 and response.context["can_manage"]
        assert f'action="{create_url(project)}"' in page
        assert f'action="{update_url(rule)}"' in page and f'action="{delete_url(rule)}"' in page
        assert "<code>metrics.accuracy &gt;= 0.9</code>" in page and "2 approvals" in page
        assert 'value="metrics.accuracy &gt;= 0.9"' not in page  # a textarea holds it
        assert "metrics.accuracy &gt;= 0.9</textarea>" in page

    @pytest.mark.parametrize("who", ["bob", "carol"])
    def test_members_and_viewers_read_the_rules_without_forms(self, client, request, alice, project, who):
        rule = make_rule(project, alice, movers="owners")
        response = signed_in(client, request.getfixturevalue(who)).get(settings_url(project))
        page = response.content.decode()
        assert response.status_code == 200 and not response.context["can_manage"]
        assert "owners move it" in page and "Only the owners of Vision change these settings." in page
        assert create_url(project) not in page and update_url(rule) not in page and delete_url(rule) not in page

    def test_it_links_to_the_rules_changes_in_the_audit_log(self, client, alice, bob, project):
        make_rule(project, alice)
        response = signed_in(client, bob).get(settings_url(project))
        audit = reverse("registry:workspace_audit", args=[project.workspace_id])
        link = f"{audit}?project={project.pk}&kind=rules.changed"
        assert f'href="{link.replace("&", "&amp;")}"' in response.content.decode()
        kinds = [entry.event.kind for entry in client.get(link).context["timeline"].entries]
        assert kinds == ["rules.changed"]

    def test_the_project_page_links_to_it(self, client, carol, project):
        page = signed_in(client, carol).get(reverse("registry:project_detail", args=[project.pk])).content.decode()
        assert f'href="{settings_url(project)}"' in page

    def test_only_the_workspaces_owners_and_members_can_be_named(self, client, alice, project):
        response = signed_in(client, alice).get(settings_url(project))
        offered = [user.login for user in response.context["rule_form"].fields["users"].queryset]
        assert offered == ["alice", "bob"]


class TestCreating:
    def test_an_owner_creates_a_rule_and_it_reads_back(self, client, alice, bob, project):
        data = rule_data(
            movers="users",
            users=[bob.pk],
            condition='metrics.accuracy >= 0.9 and branch = "main"',
            metric="accuracy",
            direction="higher",
            tolerance="0.02",
            approvals="1",
        )
        response = signed_in(client, alice).post(create_url(project), data)

        assert response.status_code == 302 and response["Location"] == settings_url(project) + "#rules"
        rule = AliasRule.objects.get()
        assert stored(rule) == {
            "pattern": "production",
            "movers": "users",
            "users": ["bob"],
            "condition": 'metrics.accuracy >= 0.9 and branch = "main"',
            "metric": "accuracy",
            "direction": "higher",
            "tolerance": 0.02,
            "approvals": 1,
        }
        assert (rule.project, rule.created_by) == (project, alice)
        event = Event.objects.get(kind="rules.changed")
        assert event.before is None and event.after["pattern"] == "production" and event.actor_id == alice.pk
        page = client.get(response["Location"])
        assert "The rule for production is saved." in [str(m) for m in page.context["messages"]]

    def test_named_users_are_dropped_unless_movers_is_users(self, client, alice, bob, project):
        signed_in(client, alice).post(create_url(project), rule_data(movers="members", users=[bob.pk]))
        assert stored(AliasRule.objects.get())["users"] == []

    @pytest.mark.parametrize(
        ("fields", "field", "error"),
        [
            ({"condition": "metrics.accuracy >>= 0.9"}, "condition", "Expected a value"),
            ({"condition": "colour = 'red'"}, "condition", "Unknown field"),
            ({"pattern": "Prod uction"}, "pattern", "A pattern is an alias name"),
            ({"metric": "accuracy"}, "direction", "Say whether a higher or a lower value"),
            ({"direction": "higher"}, "metric", "Name the metric the direction is about"),
            ({"movers": "users"}, "users", "Name at least one user"),
            ({"approvals": "11"}, "approvals", "Ensure this value is less than or equal to 10."),
            ({"tolerance": "-1"}, "tolerance", "Ensure this value is greater than or equal to 0."),
            ({"movers": "anyone"}, "movers", "Select a valid choice."),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(self, client, alice, project, fields, field, error):
        before = last_event_id()
        response = signed_in(client, alice).post(create_url(project), rule_data(**fields))
        assert response.status_code == 400
        errors = response.context["rule_form"].errors
        assert any(error in message for message in errors.get(field, [])), errors
        assert 'id="rule-new" open' in response.content.decode()
        assert not AliasRule.objects.exists() and kinds_since(before) == []

    def test_the_condition_error_is_the_parsers_message(self, client, alice, project):
        from promotions.conditions import condition_error

        response = signed_in(client, alice).post(create_url(project), rule_data(condition="metrics.accuracy >>= 0.9"))
        assert response.context["rule_form"].errors["condition"] == [condition_error("metrics.accuracy >>= 0.9")]

    def test_a_viewer_cannot_be_named(self, client, alice, carol, project):
        response = signed_in(client, alice).post(create_url(project), rule_data(movers="users", users=[carol.pk]))
        assert response.status_code == 400 and "users" in response.context["rule_form"].errors
        assert not AliasRule.objects.exists()

    def test_a_second_rule_for_a_pattern_is_a_400(self, client, alice, project):
        make_rule(project, alice)
        response = signed_in(client, alice).post(create_url(project), rule_data())
        assert response.status_code == 400
        assert response.context["rule_form"].errors["pattern"] == ["This project already has a rule for 'production'."]
        assert AliasRule.objects.count() == 1

    @pytest.mark.parametrize(("who", "status"), [("bob", 403), ("carol", 403), ("eve", 404)])
    def test_others_cannot_create_rules(self, client, request, project, who, status):
        user = request.getfixturevalue(who)
        before = last_event_id()
        response = signed_in(client, user).post(create_url(project), rule_data())
        assert response.status_code == status
        if status == 403:
            assert "Only the workspace's owners manage alias rules." in [str(m) for m in response.context["messages"]]
        assert not AliasRule.objects.exists() and kinds_since(before) == []


class TestChangingAndDeleting:
    @pytest.fixture
    def rule(self, alice, bob, project):
        return make_rule(project, alice, movers="users", users=[bob], approvals=1)

    def test_an_owner_changes_a_rule_and_it_reads_back(self, client, alice, project, rule):
        data = rule_data(f"rule-{rule.pk}", pattern="prod*", movers="owners", condition="metrics.accuracy > 0.5")
        response = signed_in(client, alice).post(update_url(rule), data)
        assert response.status_code == 302
        assert stored(rule) == {
            "pattern": "prod*",
            "movers": "owners",
            "users": [],
            "condition": "metrics.accuracy > 0.5",
            "metric": "",
            "direction": "",
            "tolerance": 0.0,
            "approvals": 0,
        }
        event = Event.objects.filter(kind="rules.changed").latest("id")
        assert event.before["pattern"] == "production" and event.after["pattern"] == "prod*"

    def test_the_edit_form_starts_from_the_stored_rule(self, client, alice, bob, project, rule):
        response = signed_in(client, alice).get(settings_url(project))
        form = response.context["rows"][0]["form"]
        assert form.prefix == f"rule-{rule.pk}"
        assert form.initial["movers"] == "users" and form.initial["users"] == [bob] and form.initial["approvals"] == 1

    def test_a_bad_change_is_a_400_on_that_rules_form_and_changes_nothing(self, client, alice, project, rule):
        before = stored(rule)
        data = rule_data(f"rule-{rule.pk}", movers="users", users=[], condition="metrics.accuracy >")
        response = signed_in(client, alice).post(update_url(rule), data)
        assert response.status_code == 400
        row = response.context["rows"][0]
        assert row["open"] and "condition" in row["form"].errors
        assert stored(rule) == before

    def test_an_owner_deletes_a_rule(self, client, alice, project, rule):
        response = signed_in(client, alice).post(delete_url(rule))
        assert response.status_code == 302 and not AliasRule.objects.exists()
        event = Event.objects.filter(kind="rules.changed").latest("id")
        assert event.after is None and event.before["pattern"] == "production"

    @pytest.mark.parametrize(("who", "status"), [("bob", 403), ("carol", 403), ("eve", 404)])
    def test_others_cannot_change_or_delete_rules(self, client, request, project, rule, who, status):
        user = request.getfixturevalue(who)
        before, first_event = stored(rule), last_event_id()
        client = signed_in(client, user)
        assert client.post(update_url(rule), rule_data(f"rule-{rule.pk}", approvals="0")).status_code == status
        assert client.post(delete_url(rule)).status_code == status
        assert stored(rule) == before and kinds_since(first_event) == []

    def test_a_rule_of_another_project_is_a_404(self, client, alice, workspace, rule):
        from registry import services

        other = services.project_create(user=alice, workspace=workspace, name="other")
        url = reverse("promotions:alias_rule_delete", args=[other.pk, rule.pk])
        assert signed_in(client, alice).post(url).status_code == 404
        assert AliasRule.objects.filter(pk=rule.pk).exists()
