"""The main journey in a real browser: sign in, open a project, add a metric column and sort by it,
filter with the panel and the query box, compare two models, upload a file, download it back."""

import hashlib
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import PASSWORD, make_user
from registry import services
from registry.models import MLModel, Role
from registry.tests.factories import upload
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project():
    alice = make_user("alice")
    workspace = services.workspace_create(user=alice, name="Vision")
    services.membership_set(workspace=workspace, actor=alice, user=make_user("bob"), role=Role.MEMBER)
    project = services.project_create(user=alice, workspace=workspace, name="resnets")
    for name, lr, optimizer, accuracy, f1 in [
        ("alpha", 0.1, "sgd", 0.71, 0.5),
        ("beta", 0.01, "adam", 0.93, 0.8),
        ("gamma", 0.001, "adam", 0.88, 0.9),
        ("delta", 0.0001, "sgd", 0.65, 0.4),
    ]:
        upload(
            alice,
            project,
            name=name,
            hyperparameters={"lr": lr, "optimizer": optimizer},
            metrics={"accuracy": accuracy, "f1": f1},
        )
    return project


def table_names(page) -> list[str]:
    return page.locator("table.table--models tbody th.col-name a").all_inner_texts()


def query(page) -> dict:
    return parse_qs(urlparse(page.url).query, keep_blank_values=True)


def submit_query(page, text: str) -> None:
    box = page.get_by_label("Query")
    box.fill(text)
    box.press("Enter")


def test_browse_filter_sort_and_compare(page, project):
    sign_in(page, "alice", PASSWORD)
    page.get_by_role("link", name="resnets").first.click()
    page.wait_for_url(f"**/projects/{project.pk}/")
    assert sorted(table_names(page)) == ["alpha", "beta", "delta", "gamma"]

    # Start from no key columns, then add the accuracy metric with the column chooser.
    page.goto(f"/projects/{project.pk}/?col=")
    assert page.locator("thead").get_by_role("link", name="accuracy").count() == 0
    page.locator("#column-chooser summary").click()
    page.locator("#column-search").fill("accu")
    page.get_by_role("checkbox", name="accuracy").check()
    page.get_by_role("button", name="Show columns").click()
    page.wait_for_url("**col=metrics.accuracy**")
    header = page.locator("thead").get_by_role("link", name="accuracy")
    assert header.count() == 1

    # Sort by it: largest first, then a second click reverses.
    header.click()
    page.wait_for_url("**ordering=-metrics.accuracy**")
    assert table_names(page) == ["beta", "gamma", "alpha", "delta"]
    page.locator("thead").get_by_role("link", name="accuracy").click()
    page.wait_for_url("**ordering=metrics.accuracy**")
    assert table_names(page) == ["delta", "alpha", "gamma", "beta"]

    # The filter panel: accuracy at least 0.8.
    page.get_by_label("accuracy at least").fill("0.8")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**min.metrics.accuracy=0.8**")
    assert table_names(page) == ["gamma", "beta"]
    assert query(page)["ordering"] == ["metrics.accuracy"]  # the sort survives the filter
    assert page.get_by_role("link", name="metrics.accuracy ≥ 0.8").is_visible()

    # The query box: the search language, in the URL as `q`, joined with the panel's filters.
    submit_query(page, 'hp.optimizer = "adam" and metrics.f1 > 0.85')
    page.wait_for_url("**q=**")
    assert query(page)["q"] == ['hp.optimizer = "adam" and metrics.f1 > 0.85']
    assert table_names(page) == ["gamma"]
    page.get_by_role("link", name="metrics.accuracy ≥ 0.8").click()  # remove the panel filter
    submit_query(page, "")
    page.wait_for_function("!location.search.includes('q=')")
    assert sorted(table_names(page)) == ["alpha", "beta", "delta", "gamma"]

    # A malformed query: its error inline, saying where; the text stays in the box and the URL.
    submit_query(page, "metrics.f1 >")
    page.wait_for_function("location.search.includes('q=metrics.f1')")
    assert query(page)["q"] == ["metrics.f1 >"]
    alert = page.get_by_role("alert")
    assert alert.is_visible()
    assert "Expected a value (a number, a quoted string, true, false or null) at offset 12" in alert.inner_text()
    assert page.get_by_label("Query").input_value() == "metrics.f1 >"
    assert table_names(page) == []
    submit_query(page, "")
    page.wait_for_function("!location.search.includes('q=')")
    assert sorted(table_names(page)) == ["alpha", "beta", "delta", "gamma"]

    # Select two rows and compare them; the better accuracy is highlighted.
    compare = page.get_by_role("button", name="Compare selected")
    assert compare.is_disabled()
    page.get_by_label("Select beta v1").check()
    page.get_by_label("Select delta v1").check()
    compare.click()
    page.wait_for_url("**/models/compare/**")
    best = page.locator("td.best")
    assert best.count() == 2  # accuracy and f1, both beta's
    assert best.first.inner_text().startswith("0.93")
    page.get_by_label("Differences only").check()
    page.wait_for_url("**diff=1**")
    assert page.locator("tbody th", has_text="Project").count() == 0
    assert page.console_errors == []


def test_upload_through_the_form_then_download(page, project, tmp_path):
    content = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit, so the progress bar moves
    path = tmp_path / "weights.pt"
    path.write_bytes(content)
    sign_in(page, "bob", PASSWORD)
    posts = []
    page.on("request", lambda r: posts.append(r.headers.get("x-requested-with")) if r.method == "POST" else None)
    page.goto(f"/models/upload/?project={project.pk}")
    page.locator("#id_name").fill("browser-upload")
    page.locator("#id_file").set_input_files(str(path))
    page.locator("#id_metrics").fill('{"accuracy": 0.97}')
    page.locator("#id_tags").fill("e2e, uploaded")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/models/*/")
    # upload.js checks the metadata first, then sends the file with a progress bar: no plain form post.
    assert posts == ["XMLHttpRequest", "XMLHttpRequest"]
    model = MLModel.objects.get(name="browser-upload")
    assert page.url.endswith(f"/models/{model.pk}/")
    assert model.file_sha256 == hashlib.sha256(content).hexdigest()
    assert page.locator("#sha256").inner_text() == model.file_sha256  # the File card (the timeline has it too)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "weights.pt"
    assert hashlib.sha256(download.path().read_bytes()).hexdigest() == model.file_sha256
    assert page.console_errors == []


def test_upload_errors_show_in_the_form(page, project, tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(b"x")
    sign_in(page, "bob", PASSWORD)
    page.goto(f"/models/upload/?project={project.pk}")
    page.locator("#id_name").fill("broken")
    page.locator("#id_file").set_input_files(str(path))
    page.locator("#id_metrics").fill("{not json")
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("This is not valid JSON").wait_for()
    assert not MLModel.objects.filter(name="broken").exists()
