"""Alias rules in the admin go through promotions.services: validated, and recorded as events."""

import pytest
from django.urls import reverse

from events.tests.helpers import events_of
from promotions.models import AliasRule, PromotionRequest
from promotions.tests.helpers import make_rule


@pytest.fixture
def admin(client, staff):
    client.force_login(staff)
    return client


def form(project, **fields):
    return {
        "project": project.pk,
        "pattern": "prod*",
        "movers": "members",
        "condition": "metrics.accuracy > 0.9",
        "metric": "",
        "direction": "",
        "tolerance": "0",
        "approvals": "1",
        **fields,
    }


def test_staff_create_a_rule_and_it_is_recorded(admin, staff, project):
    response = admin.post(reverse("admin:promotions_aliasrule_add"), form(project))

    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AliasRule.objects.get()
    assert (rule.pattern, rule.condition, rule.approvals) == ("prod*", "metrics.accuracy > 0.9", 1)
    (event,) = events_of("rules.changed")
    assert (event.actor_id, event.before, event.after["pattern"]) == (staff.pk, None, "prod*")


def test_an_unparsable_condition_is_a_form_error(admin, project):
    response = admin.post(reverse("admin:promotions_aliasrule_add"), form(project, condition="metrics.accuracy >"))

    assert response.status_code == 200
    assert "Expected a value" in response.content.decode()
    assert not AliasRule.objects.exists()


def test_a_named_viewer_is_a_form_error(admin, project, carol):
    response = admin.post(reverse("admin:promotions_aliasrule_add"), form(project, movers="users", users=[carol.pk]))

    assert response.status_code == 200
    assert "Not an owner or member of this workspace" in response.content.decode()
    assert not AliasRule.objects.exists()


def test_staff_change_and_delete_a_rule_and_both_are_recorded(admin, alice, project, bob):
    rule = make_rule(project, alice, approvals=1)
    url = reverse("admin:promotions_aliasrule_change", args=[rule.pk])
    response = admin.post(url, form(project, pattern="production", approvals="2", movers="users", users=[bob.pk]))

    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert (rule.approvals, list(rule.users.all())) == (2, [bob])
    response = admin.post(reverse("admin:promotions_aliasrule_delete", args=[rule.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not AliasRule.objects.exists()
    kinds = [(event.before is None, event.after is None) for event in events_of("rules.changed")]
    assert sorted(kinds) == [(False, False), (False, True), (True, False)]


def test_the_request_list_is_read_only(admin, staff):
    assert admin.get(reverse("admin:promotions_promotionrequest_changelist")).status_code == 200
    assert admin.get(reverse("admin:promotions_aliasrule_changelist"), {"q": "prod"}).status_code == 200
    assert not PromotionRequest.objects.exists()
    assert admin.get(reverse("admin:promotions_promotionrequest_add")).status_code == 403
