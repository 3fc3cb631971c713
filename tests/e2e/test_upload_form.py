"""The upload form in a real browser (static/maisie/upload.js): bad metadata is refused before the
file is sent, a refusal keeps the chosen file, and the model page holds a long remote and commit
without overflowing at 1440 px."""

from pathlib import Path

import pytest

from conftest import PASSWORD, make_user
from registry import services
from registry.models import MLModel, Role
from registry.tests.factories import upload
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MARKER = b"MAISIE-E2E-WEIGHTS-"  # in the file, so a request carrying it is found


@pytest.fixture
def project():
    alice = make_user("alice")
    workspace = services.workspace_create(user=alice, name="Vision")
    services.membership_set(workspace=workspace, actor=alice, user=make_user("bob"), role=Role.MEMBER)
    return services.project_create(user=alice, workspace=workspace, name="resnets")


@pytest.fixture
def weights(tmp_path) -> Path:
    path = tmp_path / "weights.pt"
    path.write_bytes(MARKER * 20_000)  # ~380 KB
    return path


def record_posts(page) -> list[bytes]:
    bodies: list[bytes] = []
    page.on("request", lambda r: bodies.append(r.post_data_buffer or b"") if r.method == "POST" else None)
    return bodies


def stored_files(settings) -> list[Path]:
    media = Path(settings.MEDIA_ROOT)
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


def chosen_file(page) -> str | None:
    return page.locator("#id_file").evaluate("input => input.files.length ? input.files[0].name : null")


def test_bad_metadata_is_shown_before_the_file_is_sent(page, project, weights, settings):
    sign_in(page, "bob", PASSWORD)
    posts = record_posts(page)
    page.goto(f"/models/upload/?project={project.pk}")
    page.locator("#id_name").fill("refused-early")
    page.locator("#id_file").set_input_files(str(weights))
    page.locator("#id_hyperparameters").fill("[1, 2]")
    page.get_by_role("button", name="Upload").click()

    page.get_by_text("Give a JSON object").wait_for()
    assert len(posts) == 1 and b"validate_only" in posts[0]
    assert MARKER not in posts[0] and len(posts[0]) < 10_000  # the file (380 KB) never left the browser
    assert not MLModel.objects.exists() and stored_files(settings) == []
    assert chosen_file(page) == "weights.pt"  # and it is still chosen
    assert page.locator("#id_name").input_value() == "refused-early"

    # Fixed, the same file goes up without being chosen again.
    page.locator("#id_hyperparameters").fill('{"lr": 0.1}')
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/models/*/")
    model = MLModel.objects.get(name="refused-early")
    assert model.file_size == weights.stat().st_size and model.hyperparameters == {"lr": 0.1}
    assert len(posts) == 3  # the second check, then the upload
    # The refused check is a 400, which Chromium logs; nothing else may be.
    assert [e for e in page.console_errors if "status of 400" not in e] == []


def test_a_refusal_after_sending_keeps_the_chosen_file(page, project, weights, settings):
    settings.MAISIE_MAX_UPLOAD_BYTES = 1000  # the metadata passes; the file is too large
    sign_in(page, "bob", PASSWORD)
    page.goto(f"/models/upload/?project={project.pk}")
    page.locator("#id_name").fill("refused-late")
    page.locator("#id_file").set_input_files(str(weights))
    page.get_by_role("button", name="Upload").click()

    page.locator(".field--error").first.wait_for()
    assert not MLModel.objects.exists()
    assert chosen_file(page) == "weights.pt"
    assert page.locator("#id_name").input_value() == "refused-late"

    settings.MAISIE_MAX_UPLOAD_BYTES = 10 * 1024**2  # the limit raised: send again, no new choice
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/models/*/")
    assert MLModel.objects.get(name="refused-late").file_size == weights.stat().st_size


def test_the_model_page_holds_a_long_remote_and_commit_at_1440_px(page, project):
    bob = project.workspace.memberships.get(role=Role.MEMBER).user
    remote = "https://git.example.com/" + "a-rather-long-group-name/" * 12 + "repository.git"
    model = upload(
        bob,
        project,
        name="provenance",
        git_remote_url=remote,
        git_branch="feature/" + "x" * 120,
        git_commit="0123456789abcdef0123456789abcdef01234567",
        git_dirty=True,
        hyperparameters={"seed": None},
    )
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "bob", PASSWORD)
    page.goto(f"/models/{model.pk}/")

    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1]
    link = page.locator("#git-remote")
    assert link.get_attribute("href") == remote and link.get_attribute("title") == remote
    box = page.locator("aside").bounding_box()
    assert link.bounding_box()["x"] + link.bounding_box()["width"] <= box["x"] + box["width"] + 1
    assert page.locator("#git-commit").inner_text() == model.git_commit
    assert page.get_by_text("Trained from uncommitted changes.").is_visible()
    page.screenshot(path=str(SHOTS / "model-provenance.png"), full_page=False)
    assert page.console_errors == []
