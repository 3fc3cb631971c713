"""The charts and the compare page in a real browser: linear axes until a log box is ticked, a
categorical axis for a text key, the colour legend, a click on a point opening its model, a brush
on a parallel axis becoming the query, the selection kept across pages, and the compare page's
baseline deltas and "differences only". With MAISIE_SCREENSHOTS=1 it saves docs/screenshots/
charts.png and compare.png."""

import os
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import PASSWORD, make_user
from registry import services
from registry.models import Role
from registry.tests.factories import upload
from registry.web import charts
from tests.e2e.conftest import sign_in
from tests.e2e.demo import seed_demo
from tests.e2e.test_screenshots import SHOTS, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RUNS = [
    # name, lr, optimizer, warmup, accuracy, loss
    ("alpha", 0.1, "sgd", 100, 0.71, 0.9),
    ("beta", 0.01, "adam", 200, 0.93, 0.3),
    ("gamma", 0.001, "adam", 300, 0.88, 0.4),
    ("delta", 0.0001, "sgd", 400, 0.65, 1.2),
]
COLUMNS = "col=hp.lr&col=hp.optimizer&col=m.accuracy&col=m.loss"


@pytest.fixture
def project():
    alice = make_user("alice")
    workspace = services.workspace_create(user=alice, name="Vision")
    services.membership_set(workspace=workspace, actor=alice, user=make_user("bob"), role=Role.MEMBER)
    project = services.project_create(user=alice, workspace=workspace, name="resnets")
    project.runs = {}
    for name, lr, optimizer, warmup, accuracy, loss in RUNS:
        project.runs[name] = upload(
            alice,
            project,
            name=name,
            hyperparameters={"lr": lr, "optimizer": optimizer, "sched": {"warmup": warmup}},
            metrics={"accuracy": accuracy, "loss": loss},
        )
    return project


def shoot_element(locator, name: str) -> None:
    if os.environ.get("MAISIE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        locator.screenshot(path=str(SHOTS / f"{name}.png"))


def table_names(page) -> list[str]:
    return page.locator("table.table--models tbody th.col-name a").all_inner_texts()


def query(page) -> dict:
    return parse_qs(urlparse(page.url).query, keep_blank_values=True)


def open_charts(page, project, extra: str = "") -> None:
    page.goto(f"/projects/{project.pk}/?{COLUMNS}&charts=1&x=hp.lr&y=m.accuracy{extra}")
    page.wait_for_selector("[data-chart=scatter] svg circle")
    page.wait_for_selector("[data-chart=parallel] svg path")


def test_axes_are_linear_until_the_user_ticks_log(page, project):
    sign_in(page, "alice", PASSWORD)
    open_charts(page, project)
    x_log = page.locator("[data-chart-log=x]")
    assert not x_log.is_checked()
    title = page.locator("[data-chart=scatter] [data-axis-title=x]")
    assert title.text_content() == "hp.lr"
    assert "xlog" not in query(page)

    x_log.check()
    assert title.text_content() == "hp.lr (log)"
    assert query(page)["xlog"] == ["1"]
    page.reload()
    page.wait_for_selector("[data-chart=scatter] svg circle")
    assert page.locator("[data-chart-log=x]").is_checked()
    assert page.locator("[data-chart=scatter] [data-axis-title=x]").text_content() == "hp.lr (log)"

    # A parallel axis has its own box, off by default, kept in the URL as `log=<key>`.
    axis_log = page.locator("[data-chart-axis-log][value='hyperparameters.lr']")
    assert not axis_log.is_checked()
    axis_log.check()
    assert query(page)["log"] == ["hyperparameters.lr"]
    assert page.locator("[data-chart=parallel] svg text", has_text="hp.lr (log)").count() == 1
    assert page.console_errors == []


def test_a_text_key_is_a_categorical_axis_and_the_legend_names_the_colours(page, project):
    sign_in(page, "alice", PASSWORD)
    open_charts(page, project, "&color=hp.optimizer")
    page.locator("[data-chart-pick=x]").select_option("hyperparameters.optimizer")
    page.wait_for_url("**x=hyperparameters.optimizer**")
    page.wait_for_selector("[data-chart=scatter] svg circle")
    categories = page.locator("[data-chart=scatter] .chart-category").all_text_contents()
    assert categories == ["adam", "sgd"]
    assert page.locator("[data-chart-log=x]").is_disabled()

    legend = page.locator("[data-chart-legend]")
    assert legend.is_visible()
    assert "Colour: hp.optimizer" in legend.inner_text()
    assert legend.locator("li").all_inner_texts() == ["adam (2)", "sgd (2)"]
    note = page.locator("[data-chart-note]").inner_text()
    assert "Plotted 4 models" in note


def test_the_demo_registry_is_plotted_whole_with_its_legend(page):
    demo = seed_demo()
    sign_in(page, "alice", PASSWORD)
    page.goto(
        f"/projects/{demo['project'].pk}/?col=hp.lr&col=hp.optimizer&col=hp.batch_size&col=m.accuracy&col=m.loss"
        "&x=hp.lr&y=m.accuracy&color=hp.optimizer&xlog=1&log=hyperparameters.lr&charts=1&per_page=25"
    )
    page.wait_for_selector("[data-chart=scatter] svg circle")
    # Bob's private model is not Alice's to see; the other 35 are plotted, past the table's page of 25.
    assert page.locator("[data-chart=scatter] circle").count() == 35
    assert page.locator("[data-chart=parallel] path.chart-line").count() == 35
    assert page.locator("[data-chart-note]").inner_text().startswith("Plotted 35 models")
    assert page.locator("[data-chart-legend] li").count() == 3
    assert page.locator("[data-chart=scatter] [data-axis-title=x]").text_content() == "hp.lr (log)"
    assert page.console_errors == []
    shoot_element(page.locator("#charts"), "charts")


def test_clicking_a_point_or_a_line_opens_its_model(page, project):
    sign_in(page, "alice", PASSWORD)
    open_charts(page, project)
    gamma = project.runs["gamma"]
    page.locator(f"[data-chart=scatter] circle[data-id='{gamma.pk}']").click()
    page.wait_for_url(f"**/models/{gamma.pk}/")

    open_charts(page, project)
    alpha = project.runs["alpha"]
    page.locator(f"[data-chart=parallel] path[data-id='{alpha.pk}']").dispatch_event("click")
    page.wait_for_url(f"**/models/{alpha.pk}/")


def brush(page, key: str, start: float, end: float) -> None:
    """Drag along a parallel axis from `start` to `end` (0 is its top, 1 its bottom)."""
    box = page.locator(f"[data-chart=parallel] .chart-brush-area[data-key='{key}']").bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * start)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * (start + end) / 2, steps=4)
    page.mouse.move(x, box["y"] + box["height"] * end, steps=4)
    page.mouse.up()


def test_brushing_a_parallel_axis_writes_the_query_and_filters_the_table(page, project):
    sign_in(page, "alice", PASSWORD)
    open_charts(page, project, "&q=hp.lr > 0")
    # From the top of the axis (the best accuracy) to just below its middle.
    brush(page, "metrics.accuracy", 0.002, 0.55)
    page.wait_for_url("**q=**accuracy**")
    page.wait_for_selector("table.table--models")

    written = page.locator("#q").input_value()
    assert written.startswith("hp.lr > 0 and m.accuracy >= ") and " and m.accuracy <= " in written
    assert query(page)["q"] == [written]
    assert sorted(table_names(page)) == ["beta", "gamma"]
    assert page.console_errors == []


def test_brushing_a_text_axis_or_a_nested_key_writes_their_spelling(page, project):
    sign_in(page, "alice", PASSWORD)
    open_charts(page, project)
    # The categories run adam, sgd from the bottom: the lower half is adam.
    brush(page, "hyperparameters.optimizer", 0.6, 0.998)
    page.wait_for_url("**q=**optimizer**")
    assert page.locator("#q").input_value() == 'hp.optimizer = "adam"'
    assert sorted(table_names(page)) == ["beta", "gamma"]

    page.goto(f"/projects/{project.pk}/?col=hp.sched.warmup&col=m.accuracy&charts=1")
    page.wait_for_selector("[data-chart=parallel] svg path")
    brush(page, "hyperparameters.sched.warmup", 0.002, 0.5)  # the top half: 250 to 400
    page.wait_for_url("**q=**warmup**")
    written = page.locator("#q").input_value()
    assert written.startswith("hp.sched.warmup >= 2") and written.endswith("and hp.sched.warmup <= 400")
    assert sorted(table_names(page)) == ["delta", "gamma"]
    assert page.console_errors == []


def test_the_note_says_how_many_are_plotted_and_when_the_cap_is_hit(page, project, monkeypatch):
    sign_in(page, "alice", PASSWORD)
    open_charts(page, project)
    assert page.locator("[data-chart-note]").inner_text() == (
        "Plotted 4 models: every model the filters match (up to 5,000)."
    )
    monkeypatch.setattr(charts, "CHART_CAP", 3)
    open_charts(page, project)
    assert page.locator("[data-chart=scatter] circle").count() == 3
    assert page.locator("[data-chart-note]").inner_text() == (
        "Plotted 3 models: the cap. 4 models match; these are the newest 3. Narrow the filters to see the others."
    )


def test_the_selection_is_kept_across_pages_and_compared_against_a_baseline(page, project):
    alice = project.runs["alpha"].uploader
    for i in range(30):
        hyperparameters = {"lr": 0.5, "sched": {"warmup": 200}}
        upload(alice, project, name=f"run{i:02d}", hyperparameters=hyperparameters, metrics={"accuracy": 0.5})
    sign_in(page, "alice", PASSWORD)
    page.goto(f"/projects/{project.pk}/?{COLUMNS}&per_page=25&ordering=name")
    assert table_names(page)[:4] == ["alpha", "beta", "delta", "gamma"]
    page.get_by_label("Select beta v1").check()
    compare = page.locator("#compare-button")
    assert compare.inner_text() == "Compare selected (1)"

    page.locator(".pagination a[rel=next]").click()
    page.wait_for_url("**page=2**")
    assert "beta" not in table_names(page)
    assert page.locator("#compare-button").inner_text() == "Compare selected (1)"
    page.get_by_label("Select run29 v1").check()
    assert page.locator("#compare-button").inner_text() == "Compare selected (2)"

    # Sorting and paging back keep both ticks.
    page.goto(f"/projects/{project.pk}/?{COLUMNS}&per_page=25&ordering=name")
    assert page.get_by_label("Select beta v1").is_checked()
    page.locator("#compare-button").click()
    page.wait_for_url("**/models/compare/**")
    headers = page.locator("table.table--compare thead th a:not(.compare-rebase)").all_text_contents()
    assert headers == ["beta", "run29"]
    baseline = page.locator("table.table--compare thead th.baseline")
    assert "beta" in baseline.text_content() and "baseline" in baseline.text_content()

    accuracy = page.locator("table.table--compare tbody tr", has=page.locator("th", has_text="accuracy"))
    assert "-0.43 (-46.2%)" in accuracy.locator("td").nth(1).inner_text()
    assert page.locator("table.table--compare tbody th", has_text="sched.warmup").count() == 1
    shoot(page, "compare")

    page.get_by_label("Differences only").check()
    page.wait_for_url("**diff=1**")
    assert page.locator("table.table--compare tbody th", has_text="sched.warmup").count() == 0
    assert page.locator("table.table--compare tbody th", has_text="accuracy").count() == 1

    # "Clear selection" empties it on the table.
    page.goto(f"/projects/{project.pk}/?per_page=25&ordering=name")
    page.locator("#compare-clear").click()
    assert not page.get_by_label("Select beta v1").is_checked()
    assert page.locator("#compare-button").inner_text() == "Compare selected"
    page.reload()
    assert not page.get_by_label("Select beta v1").is_checked()
    assert page.console_errors == []
