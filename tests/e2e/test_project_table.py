"""The project table in a real browser (issue 18): choose four key columns, reorder them, hide
Uploader, open a model, come back through the breadcrumb: the view is restored and the fourth key
column is on screen at 1440 px, with the name pinned when the table scrolls sideways; on a phone
(390 px) the name and the chosen keys come first; a saved view is shared, reachable by URL, and
the owner's default greets a member. With MAISIE_SCREENSHOTS=1 it saves
docs/screenshots/project-table.png and project-table-phone.png."""

from urllib.parse import parse_qs, urlparse

import pytest

from conftest import PASSWORD, make_user
from registry import services
from registry.tests.factories import upload
from tests.e2e.conftest import sign_in
from tests.e2e.test_screenshots import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHOSEN = ["hyperparameters.lr", "hyperparameters.optimizer", "metrics.accuracy", "metrics.loss"]


@pytest.fixture
def project():
    alice = make_user("alice")
    workspace = services.workspace_create(user=alice, name="Vision")
    project = services.project_create(user=alice, workspace=workspace, name="resnets")
    for i in range(6):
        upload(
            alice,
            project,
            name=f"resnet-{i}",
            hyperparameters={
                "lr": 10**-i,
                "optimizer": "adam" if i % 2 else "sgd",
                "batch_size": 32 * (i + 1),
                "dropout": 0.1 * i,
                "arch": f"resnet{18 + i}",
                "epochs": 90,
            },
            metrics={"accuracy": 0.7 + i / 50, "f1": 0.6 + i / 40, "loss": 1 - i / 10, "precision": 0.8, "recall": 0.7},
        )
    return project


def shown_columns(page) -> list[str]:
    """The header cells a user sees, left to right (the phone's copies and the hidden ones aside)."""
    return page.eval_on_selector_all(
        "table.table--models thead th[data-column]",
        "cells => cells.filter(c => getComputedStyle(c).display !== 'none').map(c => c.dataset.column)",
    )


def test_the_chosen_view_comes_back_through_the_breadcrumb_with_its_fourth_key_on_screen(page, browser, project):
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/projects/{project.pk}/")
    # The default: the keys most models hold (all hold all: metrics first), after the fixed columns.
    assert shown_columns(page) == [
        "version",
        "user",
        "created",
        "tags",
        "metrics.accuracy",
        "metrics.f1",
        "metrics.loss",
        "metrics.precision",
    ]

    page.locator("#column-chooser summary").click()
    page.locator("#column-chooser [data-check-all]").click()  # "None": no key column
    for field in CHOSEN:  # accuracy and loss are in the ordered list already, lr and optimizer join its end
        page.locator(f'#column-chooser input[name=col][value="{field}"]').check()
    # version, user, created, tags, accuracy, f1, loss, precision, lr, optimizer: lr and optimizer
    # move up ahead of accuracy.
    for field in ("hyperparameters.lr", "hyperparameters.optimizer"):
        for _ in range(4):
            page.locator(f'#column-order [data-column-item="{field}"] [data-move="-1"]').click()
    page.locator('#column-order input[value="user"]').uncheck()
    page.get_by_role("button", name="Show columns").click()
    page.wait_for_url("**/projects/*/?*")
    asked = parse_qs(urlparse(page.url).query)
    assert asked["col"] == [
        "version",
        "created",
        "tags",
        "hyperparameters.lr",
        "hyperparameters.optimizer",
        "metrics.accuracy",
        "metrics.loss",
    ]
    assert asked["hide"] == ["user"]
    chosen_url = page.url
    expected = ["version", "created", "tags", *CHOSEN]
    assert shown_columns(page) == expected

    page.locator("table.table--models tbody th.col-name a").first.click()
    page.wait_for_url("**/models/*/")
    versions = page.locator("table.table--versions thead th[data-column]").evaluate_all(
        "cells => cells.map(c => c.dataset.column)"
    )
    assert versions == ["metrics.accuracy", "metrics.loss"]  # the view's metric columns
    page.locator("nav.breadcrumbs").get_by_role("link", name="resnets").click()
    page.wait_for_url("**/projects/*/?*")
    assert page.url == chosen_url
    assert shown_columns(page) == expected

    # The fourth key column is on screen at 1440 px, without scrolling.
    loss = page.locator('table.table--models thead th[data-column="metrics.loss"]').bounding_box()
    assert loss["x"] >= 0 and loss["x"] + loss["width"] <= 1440
    shoot(page, "project-table", full_page=False)

    # Scrolled sideways as far as it goes, the name column stays pinned at the left of the table.
    scroller = page.locator(".table-scroll--models")
    before = page.locator("table.table--models tbody th.col-name").first.bounding_box()
    scroller.evaluate("box => { box.style.maxWidth = '700px'; box.scrollLeft = box.scrollWidth; }")
    assert scroller.evaluate("box => box.scrollLeft") > 0
    after = page.locator("table.table--models tbody th.col-name").first.bounding_box()
    assert after["x"] == pytest.approx(before["x"], abs=1)
    assert page.console_errors == []

    # On a phone, the same view (restored again) shows the name and the chosen keys first.
    phone = browser.new_context(base_url=page.url.split("/projects/")[0], viewport={"width": 390, "height": 844})
    try:
        small = phone.new_page()
        sign_in(small, "alice", PASSWORD)
        small.goto(f"/projects/{project.pk}/")
        assert small.url == chosen_url
        assert shown_columns(small) == [*CHOSEN, "version", "created", "tags"]
        first = small.locator("table.table--models tbody tr").first
        cells = first.locator("th, td").evaluate_all(
            "cells => cells.filter(c => getComputedStyle(c).display !== 'none').map(c => c.textContent.trim())"
        )
        assert cells[1].startswith("resnet-") and cells[2] in {"1", "0.1", "0.01", "0.001", "0.0001", "1e-05"}
        shoot(small, "project-table-phone", full_page=False)
    finally:
        phone.close()


def test_a_saved_view_is_shared_and_the_owners_default_greets_a_member(page, browser, project):
    from registry.models import Role

    services.membership_set(
        workspace=project.workspace, actor=project.created_by, user=make_user("bob"), role=Role.MEMBER
    )
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/projects/{project.pk}/?col=hp.lr&col=m.loss&ordering=m.loss")
    page.locator("#saved-views summary").click()
    page.get_by_label("Save this view as").fill("Lowest loss")
    page.get_by_label("the project's default view").check()
    page.get_by_role("button", name="Save view").click()
    page.wait_for_url("**/projects/*/?*")
    assert urlparse(page.url).query == "col=hp.lr&col=m.loss&ordering=m.loss"  # the view, as it was shown
    page.locator("#saved-views summary").click()
    assert page.locator("#saved-views a[aria-current]").inner_text() == "Lowest loss"

    # Bob, a member with no view of his own, gets the project's default; the view has its URL too.
    other = browser.new_context(base_url=page.url.split("/projects/")[0], viewport={"width": 1440, "height": 900})
    try:
        bob = other.new_page()
        sign_in(bob, "bob", PASSWORD)
        bob.goto(f"/projects/{project.pk}/")
        assert shown_columns(bob)[-2:] == ["hyperparameters.lr", "metrics.loss"]
        bob.goto(f"/projects/{project.pk}/?view=default")
        assert urlparse(bob.url).query == "col=hp.lr&col=m.loss&ordering=m.loss"
        bob.goto(f"/projects/{project.pk}/?view=lowest-loss")
        assert urlparse(bob.url).query == "col=hp.lr&col=m.loss&ordering=m.loss"
        bob.locator("#saved-views summary").click()
        assert bob.locator("#saved-views").get_by_role("button", name="Delete").count() == 0  # not his
    finally:
        other.close()
