"""Every state change writes exactly one event of its kind, with its actor, subject and values.

Each change goes through the API (the full request stack), as a user would make it.
"""

import json

import pytest

from accounts import services as account_services
from events.models import Event
from events.tests.helpers import events_of, only_event
from registry import services
from registry.models import MLModel, Role, Tag
from registry.tests.factories import upload, upload_form

MODELS = "/api/v1/models/"
REQUEST_ID = "test-request-0001"


@pytest.fixture
def model(bob, project):
    return upload(bob, project, name="resnet", metrics={"accuracy": 0.9}, tags=["cnn"])


# ----------------------------------------------------------------------------- models


def test_an_upload_records_model_created_with_its_actor_subject_and_fields(api, bob, project):
    response = api.as_user(bob).post(MODELS, upload_form(project, tags="cnn,best"), HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 201, response.content
    model = MLModel.objects.get(pk=response.json()["data"]["id"])

    event = only_event("model.created", model_id=model.pk)
    assert (event.actor_id, event.actor_login) == (bob.pk, "bob")
    assert (event.subject_type, event.subject_id, event.subject_name) == ("model", model.pk, "resnet v1")
    assert (event.workspace_id, event.project_id) == (project.workspace_id, project.pk)
    assert event.request_id == REQUEST_ID
    assert event.api_token_id is None  # signed in with a JWT
    assert event.before is None
    assert event.after["name"] == "resnet"
    assert event.after["version"] == 1
    assert event.after["project_id"] == project.pk
    assert event.after["metrics"] == {"accuracy": 0.9}
    assert event.after["tags"] == ["best", "cnn"]
    assert event.after["file_sha256"] == model.file_sha256


def test_a_change_made_with_an_api_token_records_the_tokens_id(api, bob, project):
    token, secret = account_services.api_token_create(user=bob, name="ci")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = api.post(MODELS, upload_form(project))

    assert response.status_code == 201, response.content
    event = only_event("model.created", model_id=response.json()["data"]["id"])
    assert event.api_token_id == token.pk
    assert event.actor_id == bob.pk
    assert event.request_id == response["X-Request-ID"]


def test_the_token_of_one_request_is_not_recorded_for_the_next(api, bob, project):
    _, secret = account_services.api_token_create(user=bob, name="ci")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.post(MODELS, upload_form(project, name="first")).status_code == 201

    response = api.as_user(bob).post(MODELS, upload_form(project, name="second"))

    assert only_event("model.created", model_id=response.json()["data"]["id"]).api_token_id is None


def test_an_edit_records_model_updated_with_only_the_changed_fields(api, bob, model):
    response = api.as_user(bob).patch(
        f"{MODELS}{model.pk}/", {"metrics": {"accuracy": 0.95}, "git_active_branch": "main"}, format="json"
    )
    assert response.status_code == 200, response.content

    event = only_event("model.updated", model_id=model.pk)
    assert event.actor_id == bob.pk
    assert event.before == {"metrics": {"accuracy": 0.9}, "git_branch": ""}
    assert event.after == {"metrics": {"accuracy": 0.95}, "git_branch": "main"}
    assert not events_of("model.visibility_changed") and not events_of("model.tags_changed")


def test_a_rename_records_the_new_name_and_version(api, bob, project, model):
    upload(bob, project, name="vit")

    api.as_user(bob).patch(f"{MODELS}{model.pk}/", {"name": "vit"}, format="json")

    event = only_event("model.updated", model_id=model.pk)
    assert event.before == {"name": "resnet", "version": 1}
    assert event.after == {"name": "vit", "version": 2}
    assert event.subject_name == "vit v2"


def test_an_edit_that_changes_nothing_records_nothing(api, bob, model):
    response = api.as_user(bob).patch(f"{MODELS}{model.pk}/", {"metrics": {"accuracy": 0.9}}, format="json")

    assert response.status_code == 200
    assert not Event.objects.filter(model_id=model.pk).exclude(kind__endswith=".created").exists()


@pytest.mark.parametrize(("visibility", "before", "after"), [("private", False, True), ("public", True, False)])
def test_making_a_model_private_or_public_records_model_visibility_changed(
    api, bob, project, visibility, before, after
):
    model = upload(bob, project, private=before)

    response = api.as_user(bob).patch(f"{MODELS}{model.pk}/", {"visibility": visibility}, format="json")

    assert response.status_code == 200, response.content
    event = only_event("model.visibility_changed", model_id=model.pk)
    assert (event.actor_id, event.subject_id) == (bob.pk, model.pk)
    assert event.before == {"private": before}
    assert event.after == {"private": after}
    assert not events_of("model.updated")


def test_adding_a_tag_records_model_tags_changed(api, bob, model):
    tag = Tag.objects.create(workspace_id=model.project.workspace_id, name="best")

    response = api.as_user(bob).post(f"{MODELS}{model.pk}/tags/{tag.pk}/")

    assert response.status_code == 200, response.content
    event = only_event("model.tags_changed", model_id=model.pk)
    assert event.actor_id == bob.pk
    assert event.before == {"tags": ["cnn"]}
    assert event.after == {"tags": ["best", "cnn"]}


def test_removing_a_tag_records_model_tags_changed(api, bob, model):
    tag = model.tags.get()

    response = api.as_user(bob).delete(f"{MODELS}{model.pk}/tags/{tag.pk}/")

    assert response.status_code == 200, response.content
    event = only_event("model.tags_changed", model_id=model.pk)
    assert (event.before, event.after) == ({"tags": ["cnn"]}, {"tags": []})


def test_setting_the_tags_in_an_edit_records_model_tags_changed(api, bob, model):
    api.as_user(bob).patch(f"{MODELS}{model.pk}/", {"tags": ["cnn", "prod"]}, format="json")

    event = only_event("model.tags_changed", model_id=model.pk)
    assert (event.before, event.after) == ({"tags": ["cnn"]}, {"tags": ["cnn", "prod"]})


def test_adding_a_tag_the_model_has_records_nothing(api, bob, model):
    api.as_user(bob).post(f"{MODELS}{model.pk}/tags/{model.tags.get().pk}/")

    assert not events_of("model.tags_changed")


def test_a_delete_records_model_deleted_and_the_event_outlives_the_model(api, alice, bob, model):
    response = api.as_user(alice).delete(f"{MODELS}{model.pk}/")

    assert response.status_code == 200, response.content
    assert not MLModel.objects.filter(pk=model.pk).exists()
    event = only_event("model.deleted", model_id=model.pk)
    assert (event.actor_id, event.actor_login) == (alice.pk, "alice")
    assert (event.subject_type, event.subject_id, event.subject_name) == ("model", model.pk, "resnet v1")
    assert event.before["name"] == "resnet"
    assert event.before["uploader_id"] == bob.pk
    assert event.after is None


def test_a_web_form_change_is_recorded_too(client, bob, model):
    client.force_login(bob)

    response = client.post(f"/models/{model.pk}/delete/")

    assert response.status_code == 302, response.content
    assert only_event("model.deleted", model_id=model.pk).actor_id == bob.pk


# ----------------------------------------------------------------------------- workspaces and projects


def test_creating_a_workspace_records_it_and_its_first_owner(api, alice):
    response = api.as_user(alice).post("/api/v1/workspaces/", {"name": "vision", "description": "cv"})

    assert response.status_code == 201, response.content
    workspace_id = response.json()["data"]["id"]
    event = only_event("workspace.created", workspace_id=workspace_id)
    assert (event.actor_id, event.subject_type, event.subject_id) == (alice.pk, "workspace", workspace_id)
    assert (event.subject_name, event.after) == ("vision", {"name": "vision", "description": "cv"})
    owner = only_event("membership.added", workspace_id=workspace_id)
    assert owner.after == {"user_id": alice.pk, "login": "alice", "role": "owner"}


def test_renaming_a_workspace_records_workspace_renamed(api, alice, workspace):
    response = api.as_user(alice).patch(f"/api/v1/workspaces/{workspace.pk}/", {"name": "Sight"}, format="json")

    assert response.status_code == 200, response.content
    event = only_event("workspace.renamed", workspace_id=workspace.pk)
    assert (event.actor_id, event.subject_name) == (alice.pk, "Sight")
    assert (event.before, event.after) == ({"name": "Vision"}, {"name": "Sight"})


def test_describing_a_workspace_records_workspace_updated(api, alice, workspace):
    api.as_user(alice).patch(f"/api/v1/workspaces/{workspace.pk}/", {"description": "eyes"}, format="json")

    event = only_event("workspace.updated", workspace_id=workspace.pk)
    assert (event.before, event.after) == ({"description": "image models"}, {"description": "eyes"})


def test_deleting_a_workspace_records_it_and_keeps_its_events(api, alice, workspace, project, model):
    response = api.as_user(alice).delete(f"/api/v1/workspaces/{workspace.pk}/")

    assert response.status_code == 200, response.content
    event = only_event("workspace.deleted", workspace_id=workspace.pk)
    assert (event.actor_id, event.subject_name, event.before["name"]) == (alice.pk, "Vision", "Vision")
    kept = set(Event.objects.filter(workspace_id=workspace.pk).values_list("kind", flat=True))
    assert {"workspace.created", "project.created", "model.created", "membership.added"} <= kept


def test_creating_a_project_records_project_created(api, bob, workspace):
    body = {"name": "detr", "workspace_id": workspace.pk, "git_url": "https://example.com/detr"}
    response = api.as_user(bob).post("/api/v1/projects/", body, format="json")

    assert response.status_code == 201, response.content
    project_id = response.json()["data"]["id"]
    event = only_event("project.created", project_id=project_id)
    assert (event.actor_id, event.workspace_id, event.subject_name) == (bob.pk, workspace.pk, "detr")
    assert event.after == {
        "name": "detr",
        "description": "",
        "git_url": "https://example.com/detr",
        "workspace_id": workspace.pk,
    }


def test_renaming_a_project_records_project_renamed(api, alice, project):
    api.as_user(alice).patch(f"/api/v1/projects/{project.pk}/", {"name": "vits", "description": "d"}, format="json")

    event = only_event("project.renamed", project_id=project.pk)
    assert event.before == {"name": "resnets", "description": ""}
    assert event.after == {"name": "vits", "description": "d"}


def test_moving_a_project_records_project_updated_with_both_workspaces(api, alice, project):
    other = services.workspace_create(user=alice, name="Audio")

    api.as_user(alice).patch(f"/api/v1/projects/{project.pk}/", {"workspace_id": other.pk}, format="json")

    event = only_event("project.updated", project_id=project.pk)
    assert (event.before, event.after) == ({"workspace_id": project.workspace_id}, {"workspace_id": other.pk})
    assert event.workspace_id == other.pk


def test_deleting_a_project_records_project_deleted(api, alice, project):
    response = api.as_user(alice).delete(f"/api/v1/projects/{project.pk}/")

    assert response.status_code == 200, response.content
    event = only_event("project.deleted", project_id=project.pk)
    assert (event.actor_id, event.workspace_id, event.before["name"]) == (alice.pk, project.workspace_id, "resnets")


# ----------------------------------------------------------------------------- members


def test_adding_a_member_records_membership_added(api, alice, eve, workspace):
    url = f"/api/v1/workspaces/{workspace.pk}/members/"
    response = api.as_user(alice).post(url, {"user_id": eve.pk, "role": "viewer"}, format="json")

    assert response.status_code == 201, response.content
    event = only_event("membership.added", subject_user_id=eve.pk)
    assert (event.actor_id, event.workspace_id, event.subject_type, event.subject_name) == (
        alice.pk,
        workspace.pk,
        "membership",
        "eve",
    )
    assert (event.before, event.after) == (None, {"user_id": eve.pk, "login": "eve", "role": "viewer"})


def test_changing_a_role_records_membership_role_changed(api, alice, bob, workspace):
    url = f"/api/v1/workspaces/{workspace.pk}/members/"
    response = api.as_user(alice).post(url, {"user_id": bob.pk, "role": "owner"}, format="json")

    assert response.status_code == 200, response.content
    event = only_event("membership.role_changed", subject_user_id=bob.pk)
    assert event.before == {"user_id": bob.pk, "login": "bob", "role": "member"}
    assert event.after == {"user_id": bob.pk, "login": "bob", "role": "owner"}


def test_setting_the_same_role_records_nothing(api, alice, bob, workspace):
    url = f"/api/v1/workspaces/{workspace.pk}/members/"
    api.as_user(alice).post(url, {"user_id": bob.pk, "role": Role.MEMBER}, format="json")

    assert not events_of("membership.role_changed")


def test_removing_a_member_records_membership_removed(api, alice, carol, workspace):
    response = api.as_user(alice).delete(f"/api/v1/workspaces/{workspace.pk}/members/{carol.pk}/")

    assert response.status_code == 200, response.content
    event = only_event("membership.removed", subject_user_id=carol.pk)
    assert (event.actor_id, event.workspace_id) == (alice.pk, workspace.pk)
    assert (event.before, event.after) == ({"user_id": carol.pk, "login": "carol", "role": "viewer"}, None)


# ----------------------------------------------------------------------------- tokens


def test_creating_a_token_records_token_created_without_its_secret(api, bob):
    response = api.as_user(bob).post("/api/v1/auth/tokens/", {"name": "ci", "read_only": True}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    event = only_event("token.created", subject_id=data["id"])
    assert (event.actor_id, event.subject_type, event.subject_name, event.subject_user_id) == (
        bob.pk,
        "token",
        "ci",
        bob.pk,
    )
    assert event.after == {
        "name": "ci",
        "prefix": data["prefix"],
        "read_only": True,
        "expires": None,
        "user_id": bob.pk,
    }
    assert data["token"] not in json.dumps([event.before, event.after])
    assert event.workspace_id is None


def test_revoking_a_token_records_token_revoked(api, bob):
    token, _ = account_services.api_token_create(user=bob, name="ci")

    response = api.as_user(bob).delete(f"/api/v1/auth/tokens/{token.pk}/")

    assert response.status_code == 200, response.content
    event = only_event("token.revoked", subject_id=token.pk)
    assert (event.actor_id, event.subject_user_id, event.subject_name) == (bob.pk, bob.pk, "ci")
    assert event.before["prefix"] == token.prefix


def test_the_file_check_records_the_models_it_removes(bob, model):
    services.models_without_files_remove([model.file.name])

    event = only_event("model.deleted", model_id=model.pk)
    assert (event.actor_id, event.actor_login, event.subject_name) == (None, "", "resnet v1")
