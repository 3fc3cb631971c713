"""The promotion flow in a real browser: an owner protects `production` on the project's settings
page (a condition and one approval), a member asks to move it (a move the condition refuses
first, then a request), another member approves it from the dashboard, and the alias moves,
which the registered model's page and timeline show."""

import re

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD, make_user
from promotions.models import AliasRule, PromotionRequest
from registry import services
from registry.models import Alias, RegisteredModel, Role
from registry.tests.factories import upload
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def xgb():
    """Alice owns Risk, Bob and Dave are members; xgb v1-v4 in fraud, @production on v1."""
    alice = make_user("alice")
    workspace = services.workspace_create(user=alice, name="Risk")
    for login in ("bob", "dave"):
        services.membership_set(workspace=workspace, actor=alice, user=make_user(login), role=Role.MEMBER)
    project = services.project_create(user=alice, workspace=workspace, name="fraud")
    for accuracy in (0.81, 0.86, 0.90, 0.70):
        upload(alice, project, name="xgb", metrics={"accuracy": accuracy})
    registered = RegisteredModel.objects.get(name="xgb")
    services.alias_set(registered_model=registered, name="production", version=1, user=alice)
    return registered


def messages(page) -> list[str]:
    return page.locator(".messages .message").all_inner_texts()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/**")


def production(page) -> str:
    return page.locator("#aliases .alias").first.inner_text()


def test_an_owner_protects_production_a_member_asks_and_another_approves(page, xgb):
    project = xgb.project

    # Alice protects production: a condition and one approval. A condition that does not parse
    # is refused with the parser's message, and the form keeps what she typed.
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/projects/{project.pk}/")
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url(f"**/projects/{project.pk}/settings/")
    new_rule = page.locator("#rule-new")
    new_rule.get_by_label("Pattern").fill("production")
    new_rule.get_by_label("Condition").fill("metrics.accuracy >>= 0.85")
    new_rule.get_by_label("Approvals required").fill("1")
    new_rule.get_by_role("button", name="Create the rule").click()
    expect(new_rule.locator(".error")).to_contain_text("Expected a value")
    assert not AliasRule.objects.exists()
    new_rule.get_by_label("Condition").fill("metrics.accuracy >= 0.85")
    new_rule.get_by_role("button", name="Create the rule").click()
    page.wait_for_url("**/settings/#rules")
    assert "The rule for production is saved." in messages(page)
    expect(page.locator("#rules .rule")).to_contain_text("metrics.accuracy >= 0.85")
    expect(page.locator("#rules .rule")).to_contain_text("1 approval")
    sign_out(page)

    # Bob asks for v4 first: the rule refuses it and says why; then v3 opens a request.
    sign_in(page, "bob", PASSWORD)
    page.goto(f"/registered-models/{xgb.pk}/")
    page.get_by_text("Set or move an alias").click()
    alias_form = page.locator("#alias-set")
    alias_form.get_by_label("Alias").fill("production")
    alias_form.get_by_label("Version").fill("4")
    alias_form.get_by_role("button", name="Set alias").click()
    expect(page.locator(".messages")).to_contain_text(
        "Metrics.accuracy is 0.7; the rule for production needs metrics.accuracy >= 0.85."
    )
    assert not PromotionRequest.objects.exists()
    alias_form.get_by_label("Version").fill("3")  # the refused form is shown open, as typed
    alias_form.get_by_role("button", name="Set alias").click()
    page.wait_for_url(re.compile(r".*/registered-models/\d+/#promotions$"))
    assert messages(page) == [
        "Promotion request opened to move @production to v3: it needs 1 approval from people other than you "
        "before the alias moves."
    ]
    assert production(page).split() == ["@production", "v1"]
    request = page.locator("#promotions .request")
    expect(request).to_contain_text("Approvals: 0 of 1")
    expect(request.get_by_role("button", name="Cancel request")).to_be_visible()
    expect(request.get_by_role("button", name="Approve")).to_have_count(0)
    sign_out(page)

    # Dave finds it on his dashboard and approves it: production moves now.
    sign_in(page, "dave", PASSWORD)
    waiting = page.locator("#promotions .request")
    expect(waiting).to_contain_text("xgb @production to v3 (now v1)")
    expect(waiting).to_contain_text("Asked by Bob")
    waiting.get_by_placeholder("Comment (optional)").fill("backtest looks fine")
    waiting.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert messages(page) == ["Approved: @production now names v3."]
    expect(page.locator("#promotions")).to_have_count(0)  # nothing left waiting

    assert Alias.objects.get(registered_model=xgb, name="production").version.version == 3
    page.goto(f"/registered-models/{xgb.pk}/")
    assert production(page).split() == ["@production", "v3"]
    expect(page.locator("#promotions")).to_contain_text("No pending requests.")
    timeline = page.locator("#timeline .timeline__item")
    kinds = [timeline.nth(i).get_attribute("data-kind") for i in range(3)]
    assert kinds == ["promotion.completed", "alias.moved", "promotion.approved"]
    moved = page.locator("#timeline [data-kind='alias.moved']").first
    expect(moved.locator(".timeline__actor")).to_have_text("dave")  # the last approver moved it
    expect(moved).to_contain_text("Moved @production of xgb from v1 to v3")
    # The refused posts answered 400 and 409 on purpose; nothing else went wrong in the page.
    refused = [e for e in page.console_errors if re.search(r"status of (400|409) ", e)]
    assert len(refused) == 2 and [e for e in page.console_errors if e not in refused] == []
