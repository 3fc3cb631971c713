"""A version's files in a real browser: the model page's tree (templates/registry/_files.html) with
and without JavaScript, per-file downloads with the page's session, and folders and several files
uploaded through the upload page (static/maisie/upload.js) over the upload session API, including
a part lost on the way and resumed, and files the server already holds not being sent again."""

import hashlib
from pathlib import Path

import pytest

from conftest import PASSWORD, make_user
from registry import manifests, services
from registry.models import MLModel, Role
from registry.tests.factories import folder_version
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHECKPOINT = {
    "config.json": b'{"layers": 12}',
    "tokenizer/vocab.txt": b"a\nb\nc\n",
    "weights/model-00001.safetensors": bytes(range(256)) * 64,
    "weights/model-00002.safetensors": b"\x01" * 20_000,
}


@pytest.fixture
def project():
    alice = make_user("alice")
    workspace = services.workspace_create(user=alice, name="Vision")
    services.membership_set(workspace=workspace, actor=alice, user=make_user("bob"), role=Role.MEMBER)
    return services.project_create(user=alice, workspace=workspace, name="resnets")


@pytest.fixture
def bob(project):
    return project.workspace.memberships.get(role=Role.MEMBER).user


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def digest_of(files: dict[str, bytes]) -> str:
    return manifests.digest(manifests.manifest_of((p, len(d), hashlib.sha256(d).hexdigest()) for p, d in files.items()))


def manifest(model) -> dict[str, str]:
    return {entry.path: entry.blob.sha256 for entry in model.entries.select_related("blob")}


def test_the_model_page_shows_a_folder_as_a_tree_and_downloads_each_file(page, project, bob):
    model = folder_version(bob, project, CHECKPOINT)
    sign_in(page, "bob", PASSWORD)
    page.goto(f"/models/{model.pk}/")

    tree = page.locator("#files")
    assert tree.get_by_text("4 files").first.is_visible()
    vocab = tree.get_by_role("link", name="vocab.txt")
    assert vocab.is_visible()
    # Exact sizes and whole hashes on hover; the copy button copies the whole hash.
    row = tree.locator(".file-tree__file", has=page.get_by_role("link", name="vocab.txt"))
    assert row.locator(".file-tree__size").get_attribute("title") == "6 bytes"
    sha = hashlib.sha256(CHECKPOINT["tokenizer/vocab.txt"]).hexdigest()
    assert row.locator("code").get_attribute("title") == f"SHA-256 {sha}"
    assert row.locator("code").text_content() == sha
    assert row.locator("code").bounding_box()["width"] < 120  # shown short

    # Folders fold: a click on the folder hides what it holds.
    tree.locator("summary", has_text="tokenizer/").click()
    assert not vocab.is_visible()
    tree.locator("summary", has_text="tokenizer/").click()
    assert vocab.is_visible()

    # Each file downloads on its own, with the page's session, as the manifest says.
    for path in ["tokenizer/vocab.txt", "weights/model-00002.safetensors"]:
        name = path.rsplit("/", 1)[1]
        with page.expect_download() as info:
            tree.get_by_role("link", name=name).click()
        assert info.value.suggested_filename == name
        assert info.value.path().read_bytes() == CHECKPOINT[path]

    assert page.locator("#digest").text_content() == f"sha256:{digest_of(CHECKPOINT)}"
    page.screenshot(path=str(SHOTS / "model-files.png"), full_page=False)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1]
    assert page.console_errors == []


def test_the_tree_reads_without_javascript(browser, live_server, _no_media_url, project, bob):
    model = folder_version(bob, project, CHECKPOINT)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "bob", PASSWORD)
        page.goto(f"/models/{model.pk}/")
        for path in CHECKPOINT:
            assert page.locator("#files").get_by_role("link", name=path.rsplit("/", 1)[-1]).is_visible()
    finally:
        context.close()


def upload_page(page, project, name: str, signed_in=False):
    if not signed_in:
        sign_in(page, "bob", PASSWORD)
    page.goto(f"/models/upload/?project={project.pk}")
    page.locator("#id_name").fill(name)


def record(page, method: str) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url) if r.method == method else None)
    return urls


def test_a_folder_uploads_through_the_page(page, project, bob, tmp_path):
    folder = write_folder(tmp_path / "checkpoint", CHECKPOINT)
    upload_page(page, project, "bert-tiny")
    puts = record(page, "PUT")
    page.locator("#id_folder").set_input_files(str(folder))
    page.get_by_text("4 files chosen").wait_for()
    page.locator("#id_hyperparameters").fill('{"lr": 0.001}')
    page.locator("#id_tags").fill("nlp, tiny")
    page.locator("[data-upload-many]").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "upload-folder.png"), full_page=False)
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/models/*/")

    model = MLModel.objects.get(name="bert-tiny")
    # The folder's own name is left out: the paths are those inside it, as the CLI sends them.
    assert manifest(model) == {path: hashlib.sha256(data).hexdigest() for path, data in CHECKPOINT.items()}
    assert model.digest == digest_of(CHECKPOINT) and not model.file
    assert model.hyperparameters == {"lr": 0.001} and sorted(tag.name for tag in model.tag_list) == ["nlp", "tiny"]
    assert len(puts) == len(CHECKPOINT)  # one part per blob
    assert page.locator("#files").get_by_role("link", name="vocab.txt").is_visible()

    # The same folder under another name: the server holds every blob for bob, nothing is sent.
    puts.clear()
    upload_page(page, project, "bert-tiny-again", signed_in=True)
    page.locator("#id_folder").set_input_files(str(folder))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/models/*/")
    again = MLModel.objects.get(name="bert-tiny-again")
    assert puts == [] and again.digest == model.digest
    # Parts go up in parallel; SQLite (one writer) may answer one of them 503 "database is locked",
    # which the page retries: the files above arrived all the same.
    assert [e for e in page.console_errors if "status of 503" not in e] == []


def test_several_files_upload_and_a_lost_part_resumes(page, project, bob, tmp_path, settings):
    settings.MAISIE_UPLOAD_PART_BYTES = 5 * 1024**2
    big = hashlib.sha256(b"seed").digest() * (11 * 1024**2 // 32)  # 11 MiB: three parts
    files = {"weights.bin": big, "labels.txt": b"cat\ndog\n"}
    write_folder(tmp_path, files)
    upload_page(page, project, "resnet-parts")
    puts = record(page, "PUT")
    lost = []

    def drop_part_one_once(route):
        if route.request.url.endswith("/parts/1") and not lost:
            lost.append(route.request.url)
            route.abort("connectionreset")  # the connection drops while part 1 is on its way
        else:
            route.continue_()

    page.route("**/api/v1/uploads/**/parts/*", drop_part_one_once)
    # Every file hashed by js-sha256 in 8 MiB slices (the path of files past crypto.subtle's
    # limit): the server checks each blob's SHA-256, so a wrong one could not make the version.
    page.locator("#upload-form").evaluate("form => { form.dataset.subtleMaxBytes = '0'; }")
    page.evaluate(
        "() => { const create = sha256.create; sessionStorage.hashers = 0;"
        " sha256.create = (...a) => { sessionStorage.hashers++; return create(...a); }; }"
    )
    page.locator("#id_files").set_input_files([str(tmp_path / name) for name in files])
    page.get_by_text("2 files chosen").wait_for()
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/models/*/", timeout=60_000)

    model = MLModel.objects.get(name="resnet-parts")
    assert manifest(model) == {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    assert model.file_size == len(big) + 8
    assert page.evaluate("() => sessionStorage.hashers") == "2"  # one js-sha256 per file
    big_parts = sorted(url.rsplit("/", 1)[1] for url in puts if hashlib.sha256(big).hexdigest() in url)
    assert lost and big_parts == ["0", "1", "1", "2"]  # part 0 never again: resumed from what was acknowledged
    assert [e for e in page.console_errors if "ERR_CONNECTION_RESET" not in e and "status of 503" not in e] == []


def test_one_file_still_uploads_without_javascript(browser, live_server, _no_media_url, project, bob, tmp_path):
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"plain form" * 1000)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "bob", PASSWORD)
        page.goto(f"/models/upload/?project={project.pk}")
        assert not page.locator("#id_folder").is_visible()  # the folder choice needs the script
        page.locator("#id_name").fill("no-script")
        page.locator("#id_file").set_input_files(str(weights))
        page.get_by_role("button", name="Upload").click()
        page.wait_for_url("**/models/*/")
    finally:
        context.close()
    model = MLModel.objects.get(name="no-script")
    assert model.file_sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()


def test_a_reloaded_page_resumes_the_same_upload(page, project, bob, tmp_path, settings):
    """The browser's side of a client restart: the session id is kept (localStorage) under the
    request (metadata and manifest), so choosing the same files again goes on from the server's bytes."""
    settings.MAISIE_UPLOAD_PART_BYTES = 5 * 1024**2
    big = hashlib.sha256(b"other seed").digest() * (11 * 1024**2 // 32)
    (tmp_path / "weights.bin").write_bytes(big)
    upload_page(page, project, "resumed")
    puts, gets = record(page, "PUT"), record(page, "GET")
    page.route("**/api/v1/uploads/**/parts/1", lambda route: route.abort("connectionreset"))
    page.locator("#id_files").set_input_files(str(tmp_path / "weights.bin"))
    with page.expect_event("requestfailed"):
        page.get_by_role("button", name="Upload").click()

    # The page goes away while it waits to retry; a new one gets the same file chosen again.
    page.unroute("**/api/v1/uploads/**/parts/1")
    upload_page(page, project, "resumed", signed_in=True)
    page.locator("#id_files").set_input_files(str(tmp_path / "weights.bin"))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/models/*/", timeout=60_000)

    assert MLModel.objects.get(name="resumed").digest == digest_of({"weights.bin": big})
    assert [url.rsplit("/", 1)[1] for url in puts] == ["0", "1", "1", "2"]  # part 0 once
    assert any("/api/v1/uploads/" in url for url in gets)  # it asked what the server had


def test_a_refused_upload_says_why_before_sending_any_byte(page, project, bob, tmp_path):
    workspace = project.workspace
    workspace.quota_bytes = 1000
    workspace.save()
    folder = write_folder(tmp_path / "checkpoint", CHECKPOINT)  # 36 KB
    upload_page(page, project, "too-big")
    puts = record(page, "PUT")
    page.locator("#id_folder").set_input_files(str(folder))
    page.get_by_role("button", name="Upload").click()
    status = page.locator("[data-upload-status]")
    status.get_by_text("The server refused the upload").wait_for()
    assert "quota" in status.text_content().lower()
    assert puts == [] and not MLModel.objects.filter(name="too-big").exists()
    assert page.get_by_role("button", name="Upload").is_enabled()

    # A name no file system can hold everywhere is refused by the manifest's rules, naming it.
    workspace.quota_bytes = None
    workspace.save()
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "a:b.txt").write_bytes(b"x")
    page.locator("#id_folder").set_input_files(str(tmp_path / "odd"))
    page.get_by_role("button", name="Upload").click()
    status.get_by_text("a:b.txt").wait_for()
    assert puts == [] and not MLModel.objects.filter(name="too-big").exists()
