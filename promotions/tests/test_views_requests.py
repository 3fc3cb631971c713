"""Web UI: pending promotion requests on the registered-model page and the dashboard, with their
Approve / Reject (permitted people other than the requester) and Cancel (the requester) buttons.

resnet: v1 (accuracy 0.80, main), v2 (0.92, main), v3 (0.85, dev); production on v1 (conftest).
Alice owns the workspace, Bob and Dave are members, Carol a viewer, Eve an outsider.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from promotions import services as promotions
from promotions.models import PromotionApproval, PromotionRequest
from promotions.tests.helpers import kinds_since, last_event_id, make_rule, version_of
from registry import services
from registry.tests.factories import upload

HOME = reverse("registry:home")


def page_url(model) -> str:
    return reverse("registry:registered_model_detail", args=[model.registered_model_id])


def decide_url(request, action: str) -> str:
    return reverse(f"promotions:promotion_{action}", args=[request.pk])


def signed_in(client, user):
    client.force_login(user)
    return client


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def pending(alice, bob, resnet):
    """Bob asks to move production to v2; the rule asks for one approval."""
    make_rule(resnet[0].project, alice, approvals=1, condition="metrics.accuracy >= 0.85")
    return promotions.alias_put(registered_model=resnet[0].registered_model, name="production", version=2, user=bob)


def rows(response) -> dict[int, dict]:
    """The requests a page lists, by id, with what the user may do."""
    listed = response.context.get("promotion_requests")
    if listed is None:
        listed = response.context["promotions"].requests
    return {
        row.request.pk: {"approve": row.may_approve, "decide": row.may_decide, "cancel": row.may_cancel}
        for row in listed
    }


class TestTheRegisteredModelPage:
    def test_a_permitted_member_sees_the_request_with_approve_and_reject(self, client, dave, resnet, pending):
        response = signed_in(client, dave).get(page_url(resnet[0]))
        assert rows(response) == {pending.pk: {"approve": True, "decide": True, "cancel": False}}
        page = response.content.decode()
        assert f'action="{decide_url(pending, "approve")}"' in page
        assert f'formaction="{decide_url(pending, "reject")}"' in page
        assert "Approvals: 0 of 1" in page and "(now v1)" in page and "Asked by Bob" in page

    def test_the_requester_sees_only_cancel(self, client, bob, resnet, pending):
        response = signed_in(client, bob).get(page_url(resnet[0]))
        assert rows(response) == {pending.pk: {"approve": False, "decide": False, "cancel": True}}
        page = response.content.decode()
        assert decide_url(pending, "approve") not in page and decide_url(pending, "cancel") in page

    def test_a_viewer_sees_the_request_without_buttons(self, client, carol, resnet, pending):
        response = signed_in(client, carol).get(page_url(resnet[0]))
        assert rows(response) == {pending.pk: {"approve": False, "decide": False, "cancel": False}}
        page = response.content.decode()
        assert "promotion-requests/" not in page

    def test_it_lists_the_projects_rules(self, client, carol, resnet, pending):
        page = signed_in(client, carol).get(page_url(resnet[0])).content.decode()
        assert "<code>metrics.accuracy &gt;= 0.85</code>" in page and "1 approval" in page
        assert reverse("promotions:project_settings", args=[resnet[0].project_id]) in page


class TestDeciding:
    def test_an_approval_moves_the_alias_and_the_timeline_shows_it(self, client, dave, resnet, pending):
        before = last_event_id()
        response = signed_in(client, dave).post(decide_url(pending, "approve"), {"comment": "eval looks good"})

        assert response.status_code == 302 and response["Location"] == page_url(resnet[0]) + "#promotions"
        pending.refresh_from_db()
        assert (pending.state, pending.closed_by) == ("completed", dave)
        assert PromotionApproval.objects.get().comment == "eval looks good"
        assert version_of(resnet[0]) == 2
        assert kinds_since(before) == ["promotion.approved", "alias.moved", "promotion.completed"]
        page = client.get(response["Location"])
        assert "Approved: @production now names v2." in shown_messages(page)
        assert rows(page) == {}
        kinds = [entry.event.kind for entry in page.context["timeline"].entries]
        assert kinds[:3] == ["promotion.completed", "alias.moved", "promotion.approved"]

    def test_an_approval_short_of_the_number_says_how_many(self, client, alice, dave, resnet, pending):
        rule = pending.registered_model.project.alias_rules.get()
        promotions.alias_rule_update(rule=rule, user=alice, approvals=2)
        response = signed_in(client, dave).post(decide_url(pending, "approve"))
        assert response.status_code == 302 and version_of(resnet[0]) == 1
        page = client.get(response["Location"])
        assert "Approved the request to move @production to v2: 1 of 2." in shown_messages(page)
        assert rows(page) == {pending.pk: {"approve": False, "decide": True, "cancel": False}}
        assert "Approvals: 1 of 2 (Dave)" in page.content.decode()

    def test_a_reject_closes_the_request_and_the_alias_stays(self, client, dave, resnet, pending):
        response = signed_in(client, dave).post(decide_url(pending, "reject"), {"comment": "not on Friday"})
        assert response.status_code == 302
        pending.refresh_from_db()
        assert (pending.state, pending.closed_comment) == ("rejected", "not on Friday")
        assert version_of(resnet[0]) == 1

    def test_the_requester_cancels(self, client, bob, resnet, pending):
        response = signed_in(client, bob).post(decide_url(pending, "cancel"))
        assert response.status_code == 302
        pending.refresh_from_db()
        assert pending.state == "cancelled" and version_of(resnet[0]) == 1

    @pytest.mark.parametrize(
        ("who", "action", "reason"),
        [
            ("bob", "approve", "You opened this request, so you cannot approve it: someone else must."),
            ("bob", "reject", "You opened this request, so you cannot reject it: cancel it instead."),
            ("dave", "cancel", "Only the person who opened a request can cancel it; others may reject it."),
            ("carol", "approve", "Only the people the rules let move production may approve its requests."),
            ("carol", "reject", "Only the people the rules let move production may reject its requests."),
        ],
    )
    def test_refused_decisions_are_403_with_the_reason_and_change_nothing(
        self, client, request, resnet, pending, who, action, reason
    ):
        user = request.getfixturevalue(who)
        before = last_event_id()
        response = signed_in(client, user).post(decide_url(pending, action))
        assert response.status_code == 403
        assert reason in shown_messages(response)
        pending.refresh_from_db()
        assert pending.state == "pending" and version_of(resnet[0]) == 1 and kinds_since(before) == []

    @pytest.mark.parametrize("action", ["approve", "reject", "cancel"])
    def test_an_outsider_gets_404(self, client, eve, pending, action):
        assert signed_in(client, eve).post(decide_url(pending, action)).status_code == 404
        pending.refresh_from_db()
        assert pending.state == "pending"

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, pending):
        response = client.post(decide_url(pending, "approve"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))

    def test_rules_that_fail_at_the_last_approval_are_a_409_and_keep_nothing(
        self, client, alice, dave, resnet, pending
    ):
        rule = pending.registered_model.project.alias_rules.get()
        promotions.alias_rule_update(rule=rule, user=alice, condition="metrics.accuracy >= 0.95")
        before = last_event_id()

        response = signed_in(client, dave).post(decide_url(pending, "approve"))

        assert response.status_code == 409
        shown = shown_messages(response)
        assert shown[0] == "@production is unchanged: this would break 1 alias rule."
        assert "Metrics.accuracy is 0.92; the rule for production needs metrics.accuracy >= 0.95." in shown
        pending.refresh_from_db()
        assert pending.state == "pending" and not pending.approvals.exists()
        assert version_of(resnet[0]) == 1 and kinds_since(before) == []

    def test_a_decided_request_cannot_be_decided_again(self, client, dave, resnet, pending):
        signed_in(client, dave).post(decide_url(pending, "reject"))
        response = client.post(decide_url(pending, "approve"))
        assert response.status_code == 409
        assert f"Request {pending.pk} is rejected: only a pending request can change." in shown_messages(response)

    def test_a_comment_too_long_is_a_400_and_nothing_changes(self, client, dave, resnet, pending):
        response = signed_in(client, dave).post(decide_url(pending, "approve"), {"comment": "x" * 2001})
        assert response.status_code == 400
        assert shown_messages(response)[0].startswith("Comment: Ensure this value has at most 2000 characters")
        pending.refresh_from_db()
        assert pending.state == "pending" and not pending.approvals.exists()

    def test_it_returns_to_a_local_next_only(self, client, dave, resnet, pending):
        response = signed_in(client, dave).post(decide_url(pending, "reject"), {"next": "https://evil.example/"})
        assert response["Location"] == page_url(resnet[0]) + "#promotions"


class TestTheDashboard:
    def test_a_permitted_member_sees_the_requests_they_may_decide(self, client, dave, resnet, pending):
        response = signed_in(client, dave).get(HOME)
        assert rows(response) == {pending.pk: {"approve": True, "decide": True, "cancel": False}}
        page = response.content.decode()
        assert f'href="{page_url(resnet[0])}#promotions">resnet</a>' in page
        assert f'action="{decide_url(pending, "approve")}"' in page

    def test_the_requester_sees_their_own_with_cancel(self, client, bob, pending):
        own = {pending.pk: {"approve": False, "decide": False, "cancel": True}}
        assert rows(signed_in(client, bob).get(HOME)) == own

    @pytest.mark.parametrize("who", ["carol", "eve"])
    def test_others_see_no_requests(self, client, request, pending, who):
        response = signed_in(client, request.getfixturevalue(who)).get(HOME)
        assert rows(response) == {} and "Promotion requests waiting" not in response.content.decode()

    def test_members_the_rules_keep_out_do_not_see_it(self, client, alice, dave, pending):
        rule = pending.registered_model.project.alias_rules.get()
        promotions.alias_rule_update(rule=rule, user=alice, movers="owners")
        assert rows(signed_in(client, dave).get(HOME)) == {}
        assert rows(signed_in(client, alice).get(HOME)) == {
            pending.pk: {"approve": True, "decide": True, "cancel": False}
        }

    def test_approving_from_the_dashboard_returns_to_it(self, client, dave, resnet, pending):
        response = signed_in(client, dave).post(decide_url(pending, "approve"), {"next": HOME})
        assert response.status_code == 302 and response["Location"] == HOME
        assert version_of(resnet[0]) == 2
        page = client.get(HOME)
        assert "Approved: @production now names v2." in shown_messages(page) and rows(page) == {}

    def test_closed_requests_leave_the_dashboard(self, client, bob, dave, pending):
        promotions.promotion_cancel(request=pending, user=bob)
        assert rows(signed_in(client, dave).get(HOME)) == {}
        assert PromotionRequest.objects.get().state == "cancelled"


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


class TestQueryCounts:
    """What the user may do about each request and alias is decided from rules and roles loaded
    once for the page, so more requests or aliases cost no more queries."""

    def test_the_dashboard_costs_the_same_whatever_its_requests(self, client, alice, bob, dave, project):
        make_rule(project, alice, pattern="prod*", approvals=1)
        client = signed_in(client, dave)
        counts = []
        for name in ("a", "b", "c"):
            model = upload(bob, project, name)
            promotions.alias_put(registered_model=model.registered_model, name="production", version=1, user=bob)
            counts.append(queries(client, HOME))
        assert len(rows(client.get(HOME))) == 3
        assert counts[0] == counts[-1], counts

    def test_the_registered_model_page_costs_the_same_whatever_its_aliases_and_requests(
        self, client, alice, bob, dave, resnet
    ):
        make_rule(resnet[0].project, alice, pattern="prod*", approvals=2)
        registered = resnet[0].registered_model

        def ask(alias: str) -> None:
            request = promotions.alias_put(registered_model=registered, name=alias, version=3, user=bob)
            promotions.promotion_approve(request=request, user=alice)  # one of two

        ask("production")
        client = signed_in(client, dave)
        counts = [queries(client, page_url(resnet[0]))]
        for alias in ("staging", "canary"):
            services.alias_set(registered_model=registered, name=alias, version=2, user=alice)
        ask("prod-eu")
        counts.append(queries(client, page_url(resnet[0])))
        response = client.get(page_url(resnet[0]))
        assert len(rows(response)) == 2 and len(response.context["aliases"]) == 3
        assert counts[0] == counts[1], counts
