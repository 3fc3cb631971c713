"""The query box completes fields and keys in a real browser (issue 18): typing `m.acc` offers
`metrics.accuracy`, the arrow keys and Enter pick it, and the query then runs. With
MAISIE_SCREENSHOTS=1 it saves docs/screenshots/query-completion.png."""

import pytest

from conftest import PASSWORD, make_user
from registry import services
from registry.tests.factories import upload
from tests.e2e.conftest import sign_in
from tests.e2e.test_screenshots import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project():
    alice = make_user("alice")
    workspace = services.workspace_create(user=alice, name="Vision")
    project = services.project_create(user=alice, workspace=workspace, name="resnets")
    for name, accuracy, lr in (("good", 0.95, 0.1), ("bad", 0.5, 1)):
        metrics = {"accuracy": accuracy, "acc_top5": accuracy + 0.04}
        upload(alice, project, name, metrics=metrics, hyperparameters={"optimizer": {"lr": lr}})
    return project


def options(page) -> list[str]:
    return page.eval_on_selector_all("#q-complete [role=option]", "items => items.map(i => i.firstChild.textContent)")


def test_typing_m_acc_offers_metrics_accuracy_and_the_keyboard_picks_it(page, project):
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/projects/{project.pk}/")
    box = page.locator("#q")
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-autocomplete") == "list"

    box.click()
    box.press_sequentially("m.acc")
    listbox = page.get_by_role("listbox", name="Fields and keys")
    listbox.wait_for()
    assert options(page) == ["metrics.acc_top5", "metrics.accuracy"]
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("aria-activedescendant") == "q-complete-0"
    shoot(page, "query-completion", full_page=False)

    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "q-complete-1"
    assert page.locator("#q-complete-1").get_attribute("aria-selected") == "true"
    box.press("Enter")  # picks; it does not submit
    assert box.input_value() == "metrics.accuracy"
    assert listbox.is_hidden()
    assert box.get_attribute("aria-expanded") == "false"

    box.press_sequentially(" > 0.9")
    box.press("Enter")  # the list is closed: Enter submits the query
    page.wait_for_url("**q=metrics.accuracy*")
    assert page.locator("table.table--models tbody tr").count() == 1
    assert "good" in page.locator("table.table--models tbody").inner_text()
    assert page.console_errors == []


def test_it_completes_the_word_at_the_cursor_and_nested_keys(page, project):
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/projects/{project.pk}/")
    box = page.locator("#q")
    box.click()
    box.press_sequentially("m.accuracy > 0.1 and hp.opt")
    page.get_by_role("listbox").wait_for()
    assert options(page) == ["hyperparameters.optimizer.lr"]
    box.press("Tab")
    assert box.input_value() == "m.accuracy > 0.1 and hyperparameters.optimizer.lr"
    box.press_sequentially(" <")
    box.press("Escape")
    assert page.get_by_role("listbox").is_hidden()
