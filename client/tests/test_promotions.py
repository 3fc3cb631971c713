"""Protected aliases through the package: rules that refuse a move (409), promotion requests
(202) with their approvals, and rollback, against the live server."""

import pytest
from maisie import AliasMoved, Models, PromotionOpened, PromotionRequests, RegisteredModels
from maisie.errors import Conflict, PermissionDenied, RulesFailed

from tests.test_registered_models import upload_versions

ACCURACIES = [{"accuracy": 0.85}, {"accuracy": 0.95}, {"accuracy": 0.91}]


def test_a_move_that_breaks_rules_raises_every_rules_sentence_and_changes_nothing(team, isolated):
    name, _ = upload_versions(team.member, isolated, metrics=ACCURACIES, project_id=team.owner.project_id)
    first = team.rule(pattern="production", condition="metrics.accuracy >= 0.9")
    second = team.rule(pattern="prod*", metric="accuracy", direction="higher")
    registered = RegisteredModels(team.member.settings)
    ref = team.owner.ref(name)

    with pytest.raises(RulesFailed) as one:
        registered.set_alias(ref, "production", 1)
    assert one.value.status == 409 and one.value.exit_code == 9
    assert [(f["code"], f["rule_id"]) for f in one.value.failed_rules] == [("condition", first["id"])]
    assert "metrics.accuracy is 0.85" in str(one.value) and "metrics.accuracy >= 0.9" in str(one.value)
    assert registered.aliases(ref) == []

    registered.set_alias(ref, "production", 2)
    with pytest.raises(RulesFailed) as both:
        registered.set_alias(ref, "production", 1)  # fails the condition, and is worse than version 2
    codes = sorted((f["code"], f["rule_id"]) for f in both.value.failed_rules)
    assert codes == sorted([("condition", first["id"]), ("no_worse_than", second["id"])])
    text = str(both.value)
    assert text.startswith("Moving production breaks 2 rules: 1) ")
    for failure in both.value.failed_rules:
        assert failure["message"].rstrip(".") in text
    assert [(a["name"], a["version"]) for a in registered.aliases(ref)] == [("production", 2)]


def test_a_move_needing_approvals_opens_a_request_that_the_last_approval_completes(team, server, isolated):
    name, versions = upload_versions(team.owner, isolated, metrics=ACCURACIES)
    team.rule(pattern="production", approvals=1)
    ref = team.owner.ref(name)
    mine = RegisteredModels(team.owner.settings)

    opened = mine.set_alias(ref, "production", 2)
    assert isinstance(opened, PromotionOpened) and opened.moved is False
    assert (opened["alias"], opened["version"], opened["state"], opened["approvals_required"]) == (
        "production",
        2,
        "pending",
        1,
    )
    assert mine.aliases(ref) == []  # not moved yet

    with pytest.raises(Conflict) as again:
        mine.set_alias(ref, "production", 3)
    assert again.value.details["pending_request_id"] == opened["id"]
    assert not isinstance(again.value, RulesFailed)

    with pytest.raises(PermissionDenied, match="You opened this request"):
        PromotionRequests(team.owner.settings).approve(opened["id"])
    theirs = PromotionRequests(team.member.settings)
    assert [r["id"] for r in theirs.get_all(state="pending", registered_model=opened["registered_model_id"])] == [
        opened["id"]
    ]

    done = theirs.approve(opened["id"], comment="looks good")
    assert done["state"] == "completed"
    assert [(a["user"]["login"], a["comment"]) for a in done["approvals"]] == [(team.member.login, "looks good")]
    assert mine.alias(ref, "production")["model_id"] == versions[1]["id"]
    assert Models(team.owner.settings).get(team.owner.ref(name, "@production"))["version"] == 2
    assert PromotionRequests(team.owner.settings).get(opened["id"])["state"] == "completed"
    assert theirs.get_all(state="pending", registered_model=opened["registered_model_id"]) == []


def test_the_rules_are_checked_again_when_the_last_approval_arrives(team, isolated):
    name, versions = upload_versions(team.owner, isolated, metrics=ACCURACIES)
    team.rule(pattern="production", approvals=1, condition="metrics.accuracy >= 0.9")
    opened = RegisteredModels(team.owner.settings).set_alias(team.owner.ref(name), "production", 2)
    Models(team.owner.settings).update(versions[1]["id"], {"metrics": {"accuracy": 0.5}})

    requests = PromotionRequests(team.member.settings)
    with pytest.raises(RulesFailed, match=r"metrics\.accuracy is 0\.5"):
        requests.approve(opened["id"])
    still = requests.get(opened["id"])
    assert (still["state"], still["approvals"]) == ("pending", [])
    assert RegisteredModels(team.owner.settings).aliases(team.owner.ref(name)) == []


def test_requests_are_rejected_by_others_and_cancelled_by_their_requester(team, isolated):
    name, _ = upload_versions(team.owner, isolated, count=2)
    team.rule(pattern="prod*", approvals=2)
    mine = RegisteredModels(team.owner.settings)
    ref = team.owner.ref(name)

    first = mine.set_alias(ref, "production", 1)
    with pytest.raises(PermissionDenied, match="Only the person who opened a request can cancel it"):
        PromotionRequests(team.member.settings).cancel(first["id"])
    rejected = PromotionRequests(team.member.settings).reject(first["id"], comment="not yet")
    assert (rejected["state"], rejected["closed_by"]["login"], rejected["closed_comment"]) == (
        "rejected",
        team.member.login,
        "not yet",
    )
    with pytest.raises(Conflict, match="is rejected"):
        PromotionRequests(team.member.settings).approve(first["id"])

    second = mine.set_alias(ref, "production", 2)
    assert PromotionRequests(team.owner.settings).cancel(second["id"])["state"] == "cancelled"
    one = PromotionRequests(team.member.settings).approve(mine.set_alias(ref, "production", 2)["id"])
    assert (one["state"], len(one["approvals"]), one["approvals_required"]) == ("pending", 1, 2)
    assert mine.aliases(ref) == []


def test_rollback_points_the_alias_back_at_its_previous_version(team, isolated):
    name, versions = upload_versions(team.member, isolated, project_id=team.owner.project_id)
    registered = RegisteredModels(team.member.settings)
    ref = team.owner.ref(name)

    registered.set_alias(ref, "staging", 1)
    with pytest.raises(Conflict, match="has no previous version to go back to"):
        registered.rollback_alias(ref, "staging")
    registered.set_alias(ref, "staging", 3)
    back = registered.rollback_alias(ref, "staging")
    assert isinstance(back, AliasMoved)
    assert (back["version"], back["previous_version"], back["model_id"]) == (1, 3, versions[0]["id"])
    assert registered.alias(ref, "staging")["version"] == 1

    # Under a rule that wants approvals, a rollback opens a request like any move.
    team.rule(pattern="staging", approvals=1)
    requested = registered.rollback_alias(ref, "staging")
    assert isinstance(requested, PromotionOpened)
    assert (requested["version"], requested["rollback"], requested["replaces_version"]) == (3, True, 1)
    assert registered.alias(ref, "staging")["version"] == 1
    PromotionRequests(team.owner.settings).approve(requested["id"])
    assert registered.alias(ref, "staging")["version"] == 3
