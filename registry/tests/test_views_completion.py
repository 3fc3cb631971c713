"""/projects/<id>/keys.json and /models/keys.json: the query box's fields and keys, as the user sees them.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py)."""

import pytest

from registry import services
from registry.tests.factories import upload


@pytest.fixture
def keys(project, alice, bob):
    upload(alice, project, "a", metrics={"accuracy": 0.9, "val acc": 1}, hyperparameters={"optimizer": {"lr": 0.1}})
    upload(bob, project, "secret", metrics={"secret_f1": 0.5}, private=True)


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [key["name"] for key in response.json()["keys"]]


def test_it_lists_the_projects_keys_spelled_for_the_query_box(client, alice, project, keys):
    client.force_login(alice)
    response = client.get(f"/projects/{project.pk}/keys.json")
    body = response.json()
    assert names(response) == ["hyperparameters.optimizer.lr", "metrics.accuracy", "metrics.`val acc`"]
    kinds = {key["name"]: key["kind"] for key in body["keys"]}
    assert kinds["metrics.accuracy"] == "number"
    fields = {field["name"]: field for field in body["fields"]}
    assert fields["m."] == {"name": "m.", "kind": "json", "section": "metrics"}
    assert {"git.dirty", "git.remote", "name", "created"} <= set(fields)


def test_someone_elses_private_keys_are_not_offered(client, carol, bob, project, keys):
    client.force_login(carol)
    assert "metrics.secret_f1" not in names(client.get(f"/projects/{project.pk}/keys.json"))
    client.force_login(bob)
    assert "metrics.secret_f1" in names(client.get(f"/projects/{project.pk}/keys.json"))


def test_an_outsider_gets_a_404_and_no_keys(client, eve, project, keys):
    client.force_login(eve)
    response = client.get(f"/projects/{project.pk}/keys.json")
    assert response.status_code == 404
    assert b"accuracy" not in response.content
    assert names(client.get("/models/keys.json")) == []


def test_anonymous_is_sent_to_sign_in(client, project, keys):
    response = client.get(f"/projects/{project.pk}/keys.json")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_models_list_offers_the_keys_of_every_visible_project(client, alice, workspace, project, keys):
    other = services.project_create(user=alice, workspace=workspace, name="other")
    upload(alice, other, "b", metrics={"bleu": 30})
    client.force_login(alice)
    assert {"metrics.accuracy", "metrics.bleu"} <= set(names(client.get("/models/keys.json")))
    assert "metrics.bleu" not in names(client.get(f"/projects/{project.pk}/keys.json"))


def test_the_pages_load_the_completion_script_with_their_keys_url(client, alice, project, keys):
    client.force_login(alice)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert f'data-keys-url="/projects/{project.pk}/keys.json"' in page
    assert "maisie/complete.js" in page
    assert 'data-keys-url="/models/keys.json"' in client.get("/models/").content.decode()
