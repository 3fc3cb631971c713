"""GET /api/v1/models/<id>/formats/: the facts of a version and of each file, to those who see it."""

import pytest

from formats import services
from formats.tests import builders
from registry.tests.factories import folder_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkpoint(alice, project, tmp_path):
    files = {"model.safetensors": builders.safetensors_bytes(), "evil.pkl": builders.malicious_pickle(tmp_path / "s")}
    return folder_version(alice, project, files, private=True)


def url(model):
    return f"/api/v1/models/{model.pk}/formats/"


def test_the_owner_reads_the_version_and_file_facts(api, alice, checkpoint):
    services.version_introspect(model=checkpoint)
    data = api.as_user(alice).get(url(checkpoint)).json()["data"]
    assert (data["read"], data["format"], data["params"], data["verdict"]) == (True, "safetensors", 21, "suspicious")
    assert data["verdict_path"] == "evil.pkl" and "loading it runs them" in data["verdict_sentence"]
    files = {f["path"]: f for f in data["files"]}
    assert files["model.safetensors"]["bytes_by_dtype"] == {"float32": 48, "float16": 10, "int64": 32}
    assert files["model.safetensors"]["verdict"] == "safe"
    assert "posix.system" in files["evil.pkl"]["globals"]


def test_a_version_not_read_yet_says_so(api, alice, checkpoint):
    data = api.as_user(alice).get(url(checkpoint)).json()["data"]
    assert (data["read"], data["verdict"]) == (False, None)
    assert {f["path"]: f["read"] for f in data["files"]} == {"evil.pkl": False, "model.safetensors": False}


@pytest.mark.parametrize("who", ["bob", "eve"])
def test_others_get_a_404_for_a_private_version(api, request, checkpoint, who):
    assert api.as_user(request.getfixturevalue(who)).get(url(checkpoint)).status_code == 404


def test_anonymous_callers_must_sign_in(api, checkpoint):
    assert api.as_user(None).get(url(checkpoint)).status_code == 401
