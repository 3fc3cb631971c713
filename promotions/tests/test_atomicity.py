"""A failure after the change but before the commit leaves neither the change nor its events."""

import pytest

from events.models import Event
from promotions import services as promotions
from promotions.models import PromotionApproval, PromotionRequest
from promotions.tests.helpers import make_rule, version_of


class Boom(Exception):
    pass


def fail_on(kind: str, monkeypatch):
    """Make promotions.services fail when it records `kind`, after everything before it was written."""
    real = promotions.record

    def record(**values):
        if values["kind"] == kind:
            raise Boom(kind)
        return real(**values)

    monkeypatch.setattr(promotions, "record", record)


def test_a_failure_after_the_last_approval_moved_the_alias_undoes_the_move_and_the_approval(
    alice, bob, dave, resnet, monkeypatch
):
    make_rule(resnet[0].project, alice, approvals=1)
    request = promotions.alias_put(registered_model=resnet[0].registered_model, name="production", version=2, user=bob)
    before = Event.objects.order_by("-id").first().pk
    fail_on("promotion.completed", monkeypatch)  # after alias.moved was written

    with pytest.raises(Boom):
        promotions.promotion_approve(request=request, user=dave)

    assert version_of(resnet[0]) == 1
    assert not Event.objects.filter(pk__gt=before).exists()  # neither alias.moved nor promotion.approved
    assert not PromotionApproval.objects.exists()
    assert PromotionRequest.objects.get().state == "pending"


def test_a_failure_after_a_rule_changed_keeps_the_rule_as_it_was(alice, project, monkeypatch):
    rule = make_rule(project, alice, approvals=1)
    fail_on("rules.changed", monkeypatch)  # after the rule's row was saved

    with pytest.raises(Boom):
        promotions.alias_rule_update(rule=rule, user=alice, approvals=3)

    rule.refresh_from_db()
    assert rule.approvals == 1
    assert Event.objects.filter(kind="rules.changed").count() == 1
