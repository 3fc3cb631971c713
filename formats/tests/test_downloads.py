"""Downloads say what the scan found: a header from the API, a question from the web page."""

import pytest

from formats import services
from formats.tests import builders
from registry.tests.factories import folder_version, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def evil(alice, project, tmp_path):
    model = upload(alice, project, "evil", content=builders.malicious_pickle(tmp_path / "sentinel"))
    services.version_introspect(model=model)
    return model


@pytest.fixture
def folder(alice, project, tmp_path):
    files = {"model.safetensors": builders.safetensors_bytes(), "extra.pkl": builders.malicious_pickle(tmp_path / "s")}
    model = folder_version(alice, project, files, name="folder")
    services.version_introspect(model=model)
    return model


@pytest.fixture
def safe(alice, project):
    model = upload(alice, project, "safe", content=builders.safetensors_bytes())
    services.version_introspect(model=model)
    return model


def test_the_api_marks_a_suspicious_version_and_still_sends_it(api, alice, evil, tmp_path):
    response = api.as_user(alice).get(f"/api/v1/models/{evil.pk}/download/")
    assert response.status_code == 200
    assert (response["X-Maisie-Unsafe"], response["X-Maisie-Verdict"]) == ("suspicious", "suspicious")
    assert b"".join(response.streaming_content) == builders.malicious_pickle(tmp_path / "sentinel")


def test_a_safe_version_is_not_marked_unsafe(api, alice, safe):
    response = api.as_user(alice).get(f"/api/v1/models/{safe.pk}/download/")
    assert response.status_code == 200
    assert "X-Maisie-Unsafe" not in response
    assert response["X-Maisie-Verdict"] == "safe"


def test_a_folder_is_marked_by_its_worst_file_and_each_file_by_its_own(api, alice, folder):
    client = api.as_user(alice)
    assert client.get(f"/api/v1/models/{folder.pk}/download/")["X-Maisie-Unsafe"] == "suspicious"
    assert client.get(f"/api/v1/models/{folder.pk}/files/extra.pkl")["X-Maisie-Unsafe"] == "suspicious"
    one = client.get(f"/api/v1/models/{folder.pk}/files/model.safetensors")
    assert "X-Maisie-Unsafe" not in one and one["X-Maisie-Verdict"] == "safe"


def test_the_web_page_asks_before_sending_a_suspicious_version(client, alice, evil):
    client.force_login(alice)
    question = client.get(f"/models/{evil.pk}/download/")
    assert question.status_code == 200 and question["Content-Type"].startswith("text/html")
    assert "Download a suspicious model?" in question.content.decode()
    confirmed = client.get(f"/models/{evil.pk}/download/?unsafe=confirmed")
    assert confirmed.status_code == 200 and confirmed["X-Maisie-Unsafe"] == "suspicious"
    assert confirmed["Content-Disposition"].startswith("attachment")
    page = client.get(f"/models/{evil.pk}/").content.decode()
    assert f'href="/models/{evil.pk}/download/">Download</a>' in page  # no `download`: the question opens


def test_the_web_page_sends_a_safe_version_at_once(client, alice, safe):
    client.force_login(alice)
    response = client.get(f"/models/{safe.pk}/download/")
    assert response["Content-Disposition"].startswith("attachment")
    assert (
        f'href="/models/{safe.pk}/download/" download>Download</a>'
        in client.get(f"/models/{safe.pk}/").content.decode()
    )


def test_others_still_cannot_download_it(client, eve, evil):
    client.force_login(eve)
    assert client.get(f"/models/{evil.pk}/download/").status_code == 404
