"""Registered models in a real browser: the project's Models view, a registered model's page (its
card, which may hold hostile HTML that must never run, its edit form and timeline), a version's
aliases and timeline, and the workspace's audit page with its filters."""

from urllib.parse import parse_qs, urlparse

import pytest

from conftest import PASSWORD, make_user
from registry import services
from registry.models import RegisteredModel, Role
from registry.tests.factories import upload
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOSTILE_CARD = (
    "# Fraud detector\n\n"
    "<script>window.__pwned = 'script'</script>\n\n"
    '<img src="/nothing.png" onerror="window.__pwned = \'onerror\'">\n\n'
    "[click me](javascript:window.__pwned='link')\n\n"
    "Precision **0.97** at recall 0.80.\n"
)


@pytest.fixture
def project():
    alice = make_user("alice")
    bob = make_user("bob")
    workspace = services.workspace_create(user=alice, name="Risk")
    services.membership_set(workspace=workspace, actor=alice, user=bob, role=Role.MEMBER)
    project = services.project_create(user=alice, workspace=workspace, name="fraud")
    for accuracy in (0.81, 0.86, 0.90):
        upload(bob, project, name="xgb", metrics={"accuracy": accuracy})
    upload(alice, project, name="mlp", metrics={"accuracy": 0.77})
    upload(bob, project, name="rules", metrics={"accuracy": 0.6})
    xgb = RegisteredModel.objects.get(name="xgb")
    services.alias_set(registered_model=xgb, name="production", version=2, user=alice)
    services.registered_model_update(registered_model=xgb, user=alice, description=HOSTILE_CARD)
    return project


def names(page) -> list[str]:
    return page.locator("table.table--registered tbody th.col-name a").all_inner_texts()


def tabs(page):
    return page.get_by_role("navigation", name="Views of the project")


def query(page) -> dict:
    return parse_qs(urlparse(page.url).query, keep_blank_values=True)


def test_the_models_view_lists_one_row_per_model_and_keeps_the_table_state(page, project):
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/projects/{project.pk}/?col=metrics.accuracy&ordering=-metrics.accuracy")
    tabs(page).get_by_role("link", name="Models").click()
    page.wait_for_url(f"**/projects/{project.pk}/models/?col=metrics.accuracy&ordering=-metrics.accuracy")
    assert names(page) == ["mlp", "rules", "xgb"]
    row = page.locator("tr", has=page.get_by_role("link", name="xgb", exact=True))
    assert row.locator(".alias").inner_text().split() == ["@production", "v2"]
    assert row.locator("td.num").all_inner_texts()[:3] == ["v3", "3", "0.9"]  # latest, count, its accuracy

    # The values of @production instead of the latest: xgb v2's accuracy; the others have none.
    page.get_by_label("Values of").select_option("production")
    page.wait_for_url("**of=production**")
    row = page.locator("tr", has=page.get_by_role("link", name="xgb", exact=True))
    assert row.locator("td.num").all_inner_texts()[-2:] == ["v2", "0.86"]
    assert query(page)["ordering"] == ["-metrics.accuracy"]  # the versions table's sort is kept

    # The versions table's filters narrow the view to models with a matching version.
    page.goto(f"/projects/{project.pk}/?col=metrics.accuracy&min.metrics.accuracy=0.85")
    tabs(page).get_by_role("link", name="Models").click()
    page.wait_for_url("**/models/?**")
    assert names(page) == ["xgb"]
    page.get_by_role("link", name="Show every model").click()
    page.wait_for_function("!location.search.includes('min.')")
    assert names(page) == ["mlp", "rules", "xgb"]

    # And back to all versions, with the columns kept.
    tabs(page).get_by_role("link", name="All versions").click()
    page.wait_for_url(f"**/projects/{project.pk}/?**")
    assert query(page)["col"] == ["metrics.accuracy"]
    assert page.locator("table.table--models tbody tr").count() == 5
    assert page.console_errors == []


def test_the_registered_model_page_shows_a_hostile_card_as_text_and_edits_it(page, project):
    sign_in(page, "bob", PASSWORD)
    page.goto(f"/projects/{project.pk}/models/")
    page.get_by_role("link", name="xgb", exact=True).click()
    page.wait_for_url("**/registered-models/*/")

    card = page.locator("#card .markdown")
    assert card.locator("h3").inner_text() == "Fraud detector"
    assert card.locator("strong").inner_text() == "0.97"
    assert "<script>window.__pwned = 'script'</script>" in card.inner_text()  # shown, as text
    assert card.locator("script, img, iframe, [onerror], a[href^='javascript']").count() == 0
    card.get_by_text("click me").click()  # not a link: nothing happens
    assert page.evaluate("window.__pwned") is None

    # Aliases and versions, each linking to its version's page.
    assert page.locator("#aliases .alias").inner_text().split() == ["@production", "v2"]
    assert page.locator("#versions tbody tr td.num a").all_inner_texts() == ["v3", "v2", "v1"]

    # Edit the card through the form: it is saved, shown, and the timeline says so first.
    page.get_by_text("Edit the model card").click()
    page.get_by_label("Card text (Markdown)").fill("# Fraud detector\n\nGradient boosting on 2024 transactions.\n")
    page.get_by_role("button", name="Save the card").click()
    page.wait_for_url("**/registered-models/*/#card")
    assert page.get_by_text("The model card of xgb is saved.").is_visible()
    assert card.locator("p").inner_text() == "Gradient boosting on 2024 transactions."
    assert RegisteredModel.objects.get(name="xgb").description.startswith("# Fraud detector\n\nGradient")
    first = page.locator("#timeline .timeline__item").first
    assert first.locator(".timeline__actor").inner_text() == "bob"
    assert "Changed the model card of xgb" in first.inner_text()
    first.get_by_text("Details").click()
    assert "Gradient boosting on 2024 transactions." in first.locator(".table--changes").inner_text()

    # The version page names its aliases and has its own timeline; the breadcrumb leads back.
    page.locator("#aliases .alias").click()
    page.wait_for_url("**/models/*/")
    assert page.locator(".alias-line .alias").inner_text() == "@production"
    assert "Pointed @production of xgb at v2" in page.locator("#timeline").inner_text()
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="xgb").click()
    page.wait_for_url("**/registered-models/*/")
    assert page.evaluate("window.__pwned") is None
    assert page.console_errors == []


def test_the_audit_page_filters_like_the_api(page, project):
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/workspaces/{project.workspace_id}/")
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/audit/")
    items = page.locator(".timeline__item")
    assert items.count() > 5
    assert "Added bob as member" in page.locator(".timeline").inner_text()  # Alice owns the workspace

    page.get_by_label("Kind").select_option("alias.set")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**kind=alias.set**")
    assert items.all_inner_texts() and all("alias.set" in text for text in items.all_inner_texts())
    assert "Pointed @production of xgb at v2" in items.first.inner_text()

    page.get_by_label("Kind").select_option("model")  # a whole family
    page.get_by_label("Actor").select_option(label="Alice (alice)")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**actor=**")
    assert [text.split("\n")[0] for text in page.locator(".timeline__what a").all_inner_texts()] == ["Uploaded mlp v1"]

    page.get_by_label("Kind").select_option("")
    page.get_by_label("Actor").select_option("")
    page.get_by_label("From (UTC)").fill("last tuesday")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**since=last**")
    assert "From (ISO 8601): Not a time" in page.get_by_role("alert").inner_text()
    assert items.count() == 0
    page.get_by_role("link", name="Clear the filters").click()
    page.wait_for_function("!location.search.includes('since')")
    assert items.count() > 5

    # Bob, a member, reads the same page without the membership events.
    page.context.clear_cookies()
    sign_in(page, "bob", PASSWORD)
    page.goto(f"/workspaces/{project.workspace_id}/audit/")
    assert "Added bob as member" not in page.locator(".timeline").inner_text()
    assert all("400" in error for error in page.console_errors)  # only the refused filter's answer
