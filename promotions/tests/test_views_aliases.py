"""Web UI: setting, moving, removing and rolling back aliases on the registered-model page, under
the project's alias rules (a move refused with every failed rule's sentence, or a promotion
request opened when the rules ask for approvals).

resnet: v1 (accuracy 0.80, main), v2 (0.92, main), v3 (0.85, dev); production on v1 (conftest).
Alice owns the workspace, Bob and Dave are members, Carol a viewer, Eve an outsider.
"""

import pytest
from django.urls import reverse

from events.models import Event
from promotions.models import PromotionRequest
from promotions.tests.helpers import kinds_since, last_event_id, make_rule, version_of
from registry import services
from registry.models import Alias


def page_url(model) -> str:
    return reverse("registry:registered_model_detail", args=[model.registered_model_id])


def set_url(model) -> str:
    return reverse("promotions:alias_set", args=[model.registered_model_id])


def remove_url(model, alias="production") -> str:
    return reverse("promotions:alias_remove", args=[model.registered_model_id, alias])


def rollback_url(model, alias="production") -> str:
    return reverse("promotions:alias_rollback", args=[model.registered_model_id, alias])


def signed_in(client, user):
    client.force_login(user)
    return client


def put(client, model, version, alias="production"):
    return client.post(set_url(model), {"alias-alias": alias, "alias-version": version})


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


class TestWhoSeesTheButtons:
    def test_a_member_gets_the_set_form_and_the_buttons_of_each_alias(self, client, bob, resnet):
        page = signed_in(client, bob).get(page_url(resnet[0])).content.decode()
        assert f'action="{set_url(resnet[0])}"' in page
        assert f'action="{remove_url(resnet[0])}"' in page and f'action="{rollback_url(resnet[0])}"' in page

    def test_a_viewer_sees_the_aliases_without_any_form(self, client, carol, resnet):
        response = signed_in(client, carol).get(page_url(resnet[0]))
        page = response.content.decode()
        assert response.status_code == 200 and "@production" in page
        assert set_url(resnet[0]) not in page and remove_url(resnet[0]) not in page
        assert rollback_url(resnet[0]) not in page

    def test_a_member_the_rules_keep_out_gets_no_buttons_for_that_alias(self, client, alice, bob, resnet):
        make_rule(resnet[0].project, alice, movers="owners")
        services.alias_set(registered_model=resnet[0].registered_model, name="staging", version=3, user=bob)
        page = signed_in(client, bob).get(page_url(resnet[0])).content.decode()
        assert remove_url(resnet[0]) not in page  # production: owners only
        assert remove_url(resnet[0], "staging") in page
        assert f'action="{set_url(resnet[0])}"' in page  # other aliases are still theirs to set

    def test_an_owner_gets_the_buttons_whatever_the_rules(self, client, alice, resnet):
        make_rule(resnet[0].project, alice, movers="owners")
        page = signed_in(client, alice).get(page_url(resnet[0])).content.decode()
        assert remove_url(resnet[0]) in page


class TestRefusedPosts:
    def test_anonymous_visitors_are_sent_to_sign_in(self, client, resnet):
        response = client.post(set_url(resnet[0]), {"alias-alias": "production", "alias-version": 2})
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
        assert version_of(resnet[0]) == 1

    @pytest.mark.parametrize("url", [set_url, remove_url, rollback_url])
    def test_an_outsider_gets_404_and_nothing_changes(self, client, eve, resnet, url):
        before = last_event_id()
        response = signed_in(client, eve).post(url(resnet[0]), {"alias-alias": "production", "alias-version": 2})
        assert response.status_code == 404
        assert version_of(resnet[0]) == 1 and kinds_since(before) == []

    @pytest.mark.parametrize("url", [set_url, remove_url, rollback_url])
    def test_a_viewer_gets_403_with_the_reason_and_nothing_changes(self, client, carol, resnet, url):
        before = last_event_id()
        response = signed_in(client, carol).post(url(resnet[0]), {"alias-alias": "production", "alias-version": 2})
        assert response.status_code == 403
        assert any(message.startswith("Viewers cannot") for message in shown_messages(response))
        assert version_of(resnet[0]) == 1 and kinds_since(before) == []

    def test_the_urls_take_only_posts(self, client, bob, resnet):
        assert signed_in(client, bob).get(set_url(resnet[0])).status_code == 405


class TestSetting:
    def test_a_member_moves_an_alias_and_reads_it_back(self, client, bob, resnet):
        response = put(signed_in(client, bob), resnet[0], 2)
        assert response.status_code == 302 and response["Location"] == page_url(resnet[0]) + "#aliases"
        assert version_of(resnet[0]) == 2
        page = client.get(response["Location"])
        assert "@production moved from v1 to v2." in shown_messages(page)
        assert Event.objects.filter(kind="alias.moved").latest("id").actor_id == bob.pk

    def test_a_new_alias_is_set(self, client, bob, resnet):
        response = put(signed_in(client, bob), resnet[0], 3, alias="staging")
        assert response.status_code == 302 and version_of(resnet[0], "staging") == 3
        assert "@staging now names v3." in shown_messages(client.get(page_url(resnet[0])))

    @pytest.mark.parametrize(
        ("alias", "version", "field", "error"),
        [
            ("Prod!", "2", "alias", "'Prod!' is not an alias name"),
            ("production", "99", "version", "resnet has no version 99."),
            ("production", "two", "version", "Enter a whole number."),
            ("", "2", "alias", "This field is required."),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field_and_nothing_changes(
        self, client, bob, resnet, alias, version, field, error
    ):
        before = last_event_id()
        response = put(signed_in(client, bob), resnet[0], version, alias=alias)
        assert response.status_code == 400
        form = response.context["promotions"].alias_form
        assert any(message.startswith(error) for message in form.errors[field]), form.errors
        assert 'id="alias-set" open' in response.content.decode()
        assert version_of(resnet[0]) == 1 and kinds_since(before) == []

    def test_a_move_the_rules_refuse_is_a_409_with_every_failed_rules_sentence(self, client, alice, bob, resnet):
        project = resnet[0].project
        make_rule(project, alice, condition='metrics.accuracy >= 0.9 and branch = "main"')
        make_rule(project, alice, pattern="prod*", metric="accuracy", direction="higher")
        services.alias_set(registered_model=resnet[0].registered_model, name="production", version=2, user=alice)
        before = last_event_id()

        response = put(signed_in(client, bob), resnet[0], 3)

        assert response.status_code == 409
        shown = shown_messages(response)
        assert shown[0] == "@production is unchanged: this would break 2 alias rules."
        assert "Metrics.accuracy is 0.85; the rule for production needs metrics.accuracy >= 0.9." in shown
        assert 'Branch is "dev"; the rule for production needs branch = "main".' in shown
        assert any(line.startswith("Metrics.accuracy is 0.85 on version 3; the rule for prod* needs") for line in shown)
        assert version_of(resnet[0]) == 2 and kinds_since(before) == []

    def test_with_approvals_required_a_move_opens_a_request_and_says_so(self, client, alice, bob, resnet):
        make_rule(resnet[0].project, alice, approvals=2)
        response = put(signed_in(client, bob), resnet[0], 2)

        assert response.status_code == 302 and response["Location"].endswith("#promotions")
        assert version_of(resnet[0]) == 1  # not moved yet
        request = PromotionRequest.objects.get()
        assert (request.alias, request.version_number, request.state, request.requested_by) == (
            "production",
            2,
            "pending",
            bob,
        )
        page = client.get(page_url(resnet[0]))
        assert (
            "Promotion request opened to move @production to v2: it needs 2 approvals from people other than "
            "you before the alias moves." in shown_messages(page)
        )

    def test_a_second_request_for_the_alias_is_a_409_naming_the_pending_one(self, client, alice, bob, dave, resnet):
        make_rule(resnet[0].project, alice, approvals=1)
        put(signed_in(client, bob), resnet[0], 2)
        pending = PromotionRequest.objects.get()

        response = put(signed_in(client, dave), resnet[0], 3)

        assert response.status_code == 409
        expected = f"Request {pending.pk} to move production to version 2 is already pending"
        assert any(message.startswith(expected) for message in shown_messages(response))
        assert PromotionRequest.objects.count() == 1


class TestRemovingAndRollingBack:
    def test_a_member_removes_an_alias(self, client, bob, resnet):
        response = signed_in(client, bob).post(remove_url(resnet[0]))
        assert response.status_code == 302 and version_of(resnet[0]) is None
        assert "@production removed." in shown_messages(client.get(page_url(resnet[0])))

    def test_removing_an_alias_the_rules_keep_from_the_member_is_a_409(self, client, alice, bob, resnet):
        make_rule(resnet[0].project, alice, movers="owners")
        response = signed_in(client, bob).post(remove_url(resnet[0]))
        assert response.status_code == 409
        assert "Bob may not move production: the rule for production lets only the workspace's owners move it." in (
            shown_messages(response)
        )
        assert version_of(resnet[0]) == 1

    def test_removing_an_alias_that_is_not_there_is_a_404_saying_so(self, client, bob, resnet):
        response = signed_in(client, bob).post(remove_url(resnet[0], "staging"))
        assert response.status_code == 404
        assert "No alias 'staging' on this registered model." in shown_messages(response)

    def test_a_rollback_points_the_alias_at_its_previous_version(self, client, bob, resnet):
        put(signed_in(client, bob), resnet[0], 2)
        response = client.post(rollback_url(resnet[0]))
        assert response.status_code == 302 and version_of(resnet[0]) == 1
        assert "@production rolled back from v2 to v1." in shown_messages(client.get(page_url(resnet[0])))
        assert Event.objects.filter(kind="alias.rolled_back").exists()

    def test_a_rollback_with_nothing_to_go_back_to_is_a_409_saying_why(self, client, bob, resnet):
        before = last_event_id()
        response = signed_in(client, bob).post(rollback_url(resnet[0]))
        assert response.status_code == 409
        assert shown_messages(response)[0].startswith("production was created on version 1")
        assert version_of(resnet[0]) == 1 and kinds_since(before) == []

    def test_with_approvals_required_a_rollback_opens_a_request(self, client, alice, bob, resnet):
        put(signed_in(client, bob), resnet[0], 2)
        make_rule(resnet[0].project, alice, approvals=1)
        response = client.post(rollback_url(resnet[0]))
        assert response.status_code == 302 and version_of(resnet[0]) == 2
        request = PromotionRequest.objects.get()
        assert (request.rollback, request.version_number) == (True, 1)
        assert (
            "Promotion request opened to roll @production back to v1: it needs 1 approval from people other than "
            "you before the alias moves." in shown_messages(client.get(page_url(resnet[0])))
        )
        assert Alias.objects.get().version == resnet[1]
