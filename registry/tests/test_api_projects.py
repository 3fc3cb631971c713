"""/api/v1/projects/ through the whole request stack.

Alice owns the workspace "Vision" and created the project "resnets"; Bob is a member, Carol a
viewer, Eve an outsider with a workspace of her own; `staff` is in no workspace.
"""

import pytest
from django.core.files.storage import default_storage

from registry import services
from registry.models import MLModel, Project, Role
from registry.tests.assertions import assert_error
from registry.tests.factories import upload

URL = "/api/v1/projects/"
PROJECT_FIELDS = {
    "id",
    "workspace_id",
    "name",
    "description",
    "git_url",
    "all_hyperparameters",
    "all_parameters",
    "all_metrics",
    "all_users",
    "updated",
    "created",
    "_links",
}


def detail(project) -> str:
    return f"{URL}{project.pk}/"


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["name"] for p in response.json()["data"]]


@pytest.fixture
def elsewhere(eve):
    """Eve's own workspace with a project; nobody else is in it."""
    workspace = services.workspace_create(user=eve, name="Audio")
    services.project_create(user=eve, workspace=workspace, name="wav2vec")
    return workspace


@pytest.fixture
def bobs_project(workspace, bob):
    return services.project_create(user=bob, workspace=workspace, name="bobnets", description="Bob's")


@pytest.fixture
def models(project, alice, bob):
    """Alice's and Bob's public models, and a private model of Bob's with keys of its own."""
    upload(alice, project, name="a", hyperparameters={"lr": 0.1}, parameters={"layers": 50}, metrics={"acc": 0.9})
    upload(bob, project, name="b", hyperparameters={"batch": 32, "lr": 0.2}, metrics={"loss": 0.3})
    upload(
        bob,
        project,
        name="secret",
        private=True,
        hyperparameters={"secret_hp": 1},
        parameters={"secret_param": 2},
        metrics={"secret_metric": 3},
    )


# ----------------------------------------------------------------------------- list


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_it_lists_only_projects_in_the_callers_workspaces(api, project, bobs_project, elsewhere, who, request):
    assert names(api.as_user(request.getfixturevalue(who)).get(URL)) == ["resnets", "bobnets"]


def test_it_lists_an_outsider_only_their_own_projects(api, project, elsewhere, eve):
    assert names(api.as_user(eve).get(URL)) == ["wav2vec"]


def test_it_lists_every_project_to_staff(api, project, elsewhere, staff):
    assert names(api.as_user(staff).get(URL)) == ["resnets", "wav2vec"]


def test_it_refuses_to_list_projects_to_anonymous_callers(api, project):
    body = assert_error(api.as_user(None).get(URL), 401)

    assert "resnets" not in str(body)


def test_it_lists_projects_in_the_wire_format(api, project, workspace, carol):
    body = api.as_user(carol).get(URL).json()

    assert body["pagination"] == {
        "has_next": False,
        "has_prev": False,
        "page": 1,
        "per_page": 20,
        "total_pages": 1,
        "total_items": 1,
    }
    data = body["data"][0]
    assert set(data) == PROJECT_FIELDS
    assert data["id"] == project.pk
    assert data["workspace_id"] == workspace.pk
    assert data["git_url"] == "https://github.com/acme/resnets"
    assert data["_links"] == {
        "self": f"http://testserver/api/v1/projects/{project.pk}/",
        "workspace": f"http://testserver/api/v1/workspaces/{workspace.pk}/",
    }


def test_project_links_lead_to_the_project_and_its_workspace(api, project, workspace, bob):
    client = api.as_user(bob)
    links = client.get(detail(project)).json()["data"]["_links"]

    assert client.get(links["self"]).json()["data"]["id"] == project.pk
    assert client.get(links["workspace"]).json()["data"]["id"] == workspace.pk


def test_it_searches_projects_by_name_ignoring_case(api, project, bobs_project, alice):
    client = api.as_user(alice)

    assert names(client.get(URL, {"search": "RES"})) == ["resnets"]
    assert names(client.get(URL, {"search": "nets"})) == ["resnets", "bobnets"]
    assert names(client.get(URL, {"search": "zzz"})) == []


def test_search_does_not_reveal_projects_of_other_workspaces(api, project, elsewhere, bob):
    assert names(api.as_user(bob).get(URL, {"search": "wav"})) == []


def test_it_filters_projects_by_workspace(api, project, workspace, alice, eve, elsewhere, staff):
    client = api.as_user(staff)

    assert names(client.get(URL, {"workspace": workspace.pk})) == ["resnets"]
    assert names(client.get(URL, {"workspace": elsewhere.pk})) == ["wav2vec"]
    assert names(client.get(f"{URL}?workspace={workspace.pk}&workspace={elsewhere.pk}")) == ["resnets", "wav2vec"]
    assert names(client.get(URL, {"workspace": f"{workspace.pk},{elsewhere.pk}"})) == ["resnets", "wav2vec"]


def test_the_workspace_filter_does_not_reveal_projects_of_other_workspaces(api, project, elsewhere, bob):
    assert names(api.as_user(bob).get(URL, {"workspace": elsewhere.pk})) == []


def test_it_refuses_a_workspace_filter_that_is_not_a_number(api, project, alice):
    body = assert_error(api.as_user(alice).get(URL, {"workspace": "vision"}), 400)

    assert list(body["errors"]) == ["workspace"]


def test_it_pages_projects(api, workspace, alice):
    for i in range(5):
        services.project_create(user=alice, workspace=workspace, name=f"p{i}")

    body = api.as_user(alice).get(URL, {"per_page": 2, "page": 3}).json()

    assert [p["name"] for p in body["data"]] == ["p4"]
    assert body["pagination"] == {
        "has_next": False,
        "has_prev": True,
        "page": 3,
        "per_page": 2,
        "total_pages": 3,
        "total_items": 5,
    }


def test_it_caps_per_page_at_one_thousand(api, project, alice):
    assert api.as_user(alice).get(URL, {"per_page": 1001}).json()["pagination"]["per_page"] == 1000


@pytest.mark.parametrize("rows", [3, 10])
def test_listing_projects_takes_a_fixed_number_of_queries(api, workspace, alice, bob, rows, django_assert_num_queries):
    for i in range(rows):
        project = services.project_create(user=alice, workspace=workspace, name=f"p{i}")
        upload(alice, project, name="a", hyperparameters={f"h{i}": 1})
        upload(bob, project, name="b", metrics={f"m{i}": 1}, private=True)
    client = api.as_user(bob)

    # the user behind the JWT, the count, the page, the visible key counts, the visible uploader
    # counts with their users (registry.keystats)
    with django_assert_num_queries(5):
        response = client.get(URL)

    data = response.json()["data"]
    assert len(data) == rows
    assert data[-1]["all_hyperparameters"] == [f"h{rows - 1}"]
    assert data[-1]["all_metrics"] == [f"m{rows - 1}"]
    assert [u["id"] for u in data[-1]["all_users"]] == [alice.pk, bob.pk]


# ----------------------------------------------------------------------------- all_* key lists


def test_it_lists_the_keys_and_uploaders_of_the_projects_models(api, project, models, alice, bob, carol):
    data = api.as_user(carol).get(detail(project)).json()["data"]

    assert data["all_hyperparameters"] == ["batch", "lr"]
    assert data["all_parameters"] == ["layers"]
    assert data["all_metrics"] == ["acc", "loss"]
    assert data["all_users"] == [{"id": alice.pk, "full_name": "Alice"}, {"id": bob.pk, "full_name": "Bob"}]


def test_a_project_without_models_has_empty_key_lists(api, project, alice):
    data = api.as_user(alice).get(detail(project)).json()["data"]

    assert data["all_hyperparameters"] == []
    assert data["all_parameters"] == []
    assert data["all_metrics"] == []
    assert data["all_users"] == []


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_it_hides_the_keys_of_private_models_from_other_members(api, project, models, who, request):
    client = api.as_user(request.getfixturevalue(who))

    for data in (client.get(detail(project)).json()["data"], client.get(URL).json()["data"][0]):
        assert "secret_hp" not in data["all_hyperparameters"]
        assert data["all_parameters"] == ["layers"]
        assert data["all_metrics"] == ["acc", "loss"]


def test_it_shows_the_uploader_the_keys_of_their_own_private_models(api, project, models, bob):
    client = api.as_user(bob)

    for data in (client.get(detail(project)).json()["data"], client.get(URL).json()["data"][0]):
        assert data["all_hyperparameters"] == ["batch", "lr", "secret_hp"]
        assert data["all_parameters"] == ["layers", "secret_param"]
        assert data["all_metrics"] == ["acc", "loss", "secret_metric"]


def test_it_shows_staff_the_keys_of_every_model(api, project, models, staff):
    data = api.as_user(staff).get(detail(project)).json()["data"]

    assert data["all_hyperparameters"] == ["batch", "lr", "secret_hp"]
    assert data["all_parameters"] == ["layers", "secret_param"]
    assert data["all_metrics"] == ["acc", "loss", "secret_metric"]


def test_it_hides_uploaders_whose_only_models_are_private(api, project, alice, bob, carol):
    upload(alice, project, name="a")
    upload(bob, project, name="b", private=True)
    client = api.as_user(carol)

    assert client.get(detail(project)).json()["data"]["all_users"] == [{"id": alice.pk, "full_name": "Alice"}]
    assert client.get(URL).json()["data"][0]["all_users"] == [{"id": alice.pk, "full_name": "Alice"}]


# ----------------------------------------------------------------------------- create


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owners_and_members_create_projects(api, workspace, who, request):
    user = request.getfixturevalue(who)
    payload = {"name": "vit", "description": "transformers", "git_url": "https://x/vit", "workspace_id": workspace.pk}

    response = api.as_user(user).post(URL, payload, format="json")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert set(data) == PROJECT_FIELDS
    assert (data["name"], data["description"], data["git_url"]) == ("vit", "transformers", "https://x/vit")
    assert data["workspace_id"] == workspace.pk
    assert data["all_users"] == []
    project = Project.objects.get(pk=data["id"])
    assert project.workspace_id == workspace.pk
    assert project.created_by_id == user.pk


def test_it_accepts_form_fields_when_creating_a_project(api, workspace, bob):
    response = api.as_user(bob).post(URL, {"name": "vit", "workspace_id": str(workspace.pk)})

    assert response.status_code == 201, response.content
    assert Project.objects.get(pk=response.json()["data"]["id"]).name == "vit"


def test_staff_create_projects_in_workspaces_they_are_not_in(api, workspace, staff):
    response = api.as_user(staff).post(URL, {"name": "vit", "workspace_id": workspace.pk}, format="json")

    assert response.status_code == 201, response.content
    assert Project.objects.get(pk=response.json()["data"]["id"]).workspace_id == workspace.pk


def test_a_viewer_cannot_create_projects(api, workspace, carol):
    assert_error(api.as_user(carol).post(URL, {"name": "vit", "workspace_id": workspace.pk}, format="json"), 403)

    assert not Project.objects.filter(name="vit").exists()


def test_it_refuses_a_workspace_the_caller_cannot_see(api, workspace, eve):
    body = assert_error(api.as_user(eve).post(URL, {"name": "vit", "workspace_id": workspace.pk}, format="json"), 400)

    assert list(body["errors"]) == ["workspace_id"]
    assert not Project.objects.filter(name="vit").exists()


def test_an_invisible_workspace_reads_like_one_that_does_not_exist(api, workspace, eve):
    client = api.as_user(eve)

    hidden = client.post(URL, {"name": "vit", "workspace_id": workspace.pk}, format="json").json()["errors"]
    missing = client.post(URL, {"name": "vit", "workspace_id": 999999}, format="json").json()["errors"]

    assert hidden == {"workspace_id": [missing["workspace_id"][0].replace("999999", str(workspace.pk))]}


def test_it_requires_a_name_and_a_workspace(api, workspace, alice):
    body = assert_error(api.as_user(alice).post(URL, {}, format="json"), 400)

    assert set(body["errors"]) == {"name", "workspace_id"}


def test_it_refuses_a_second_project_of_the_same_name_in_a_workspace(api, project, workspace, bob):
    payload = {"name": "resnets", "workspace_id": workspace.pk}

    body = assert_error(api.as_user(bob).post(URL, payload, format="json"), 400)

    assert "name" in str(body["errors"])
    assert Project.objects.filter(workspace=workspace, name="resnets").count() == 1


def test_it_allows_the_same_project_name_in_another_workspace(api, project, elsewhere, eve):
    response = api.as_user(eve).post(URL, {"name": "resnets", "workspace_id": elsewhere.pk}, format="json")

    assert response.status_code == 201, response.content
    assert Project.objects.filter(name="resnets").count() == 2


def test_anonymous_callers_cannot_create_projects(api, workspace):
    assert_error(api.as_user(None).post(URL, {"name": "vit", "workspace_id": workspace.pk}, format="json"), 401)

    assert not Project.objects.filter(name="vit").exists()


# ----------------------------------------------------------------------------- retrieve


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "staff"])
def test_members_and_staff_get_a_project(api, project, workspace, who, request):
    response = api.as_user(request.getfixturevalue(who)).get(detail(project))

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert set(data) == PROJECT_FIELDS
    assert (data["id"], data["name"], data["workspace_id"]) == (project.pk, "resnets", workspace.pk)


def test_an_outsider_gets_404_for_a_project(api, project, models, eve):
    body = assert_error(api.as_user(eve).get(detail(project)), 404)

    assert "resnets" not in str(body)
    assert "lr" not in str(body)


def test_anonymous_callers_get_401_for_a_project(api, project):
    assert_error(api.as_user(None).get(detail(project)), 401)


def test_it_answers_404_for_a_project_that_does_not_exist(api, alice):
    assert_error(api.as_user(alice).get(f"{URL}999999/"), 404)


# ----------------------------------------------------------------------------- update


@pytest.mark.parametrize("method", ["put", "patch"])
def test_the_owner_changes_only_the_fields_sent(api, project, workspace, alice, method):
    response = getattr(api.as_user(alice), method)(detail(project), {"description": "deep"}, format="json")

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["name"], data["description"], data["workspace_id"]) == ("resnets", "deep", workspace.pk)
    project.refresh_from_db()
    assert (project.name, project.description, project.git_url) == (
        "resnets",
        "deep",
        "https://github.com/acme/resnets",
    )


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_member_changes_their_own_project(api, bobs_project, bob, method):
    response = getattr(api.as_user(bob), method)(detail(bobs_project), {"name": "bobnets2"}, format="json")

    assert response.status_code == 200, response.content
    bobs_project.refresh_from_db()
    assert (bobs_project.name, bobs_project.description) == ("bobnets2", "Bob's")


def test_the_owner_changes_a_members_project(api, bobs_project, alice):
    assert api.as_user(alice).patch(detail(bobs_project), {"git_url": "g"}, format="json").status_code == 200

    bobs_project.refresh_from_db()
    assert bobs_project.git_url == "g"


def test_staff_change_a_project_in_a_workspace_they_are_not_in(api, project, staff):
    assert api.as_user(staff).patch(detail(project), {"name": "renamed"}, format="json").status_code == 200

    project.refresh_from_db()
    assert project.name == "renamed"


def test_an_updated_project_still_lists_its_model_keys(api, project, models, staff):
    data = api.as_user(staff).patch(detail(project), {"description": "x"}, format="json").json()["data"]

    assert data["all_hyperparameters"] == ["batch", "lr", "secret_hp"]


def test_an_updated_project_does_not_leak_private_keys_to_other_members(api, project, models, alice):
    data = api.as_user(alice).patch(detail(project), {"description": "x"}, format="json").json()["data"]

    assert data["all_hyperparameters"] == ["batch", "lr"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_member_cannot_change_someone_elses_project(api, project, bob, method):
    assert_error(getattr(api.as_user(bob), method)(detail(project), {"name": "mine"}, format="json"), 403)

    project.refresh_from_db()
    assert project.name == "resnets"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_viewer_cannot_change_a_project(api, project, carol, method):
    assert_error(getattr(api.as_user(carol), method)(detail(project), {"name": "mine"}, format="json"), 403)

    project.refresh_from_db()
    assert project.name == "resnets"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_outsider_gets_404_when_changing_a_project(api, project, eve, method):
    assert_error(getattr(api.as_user(eve), method)(detail(project), {"name": "mine"}, format="json"), 404)

    project.refresh_from_db()
    assert project.name == "resnets"


def test_anonymous_callers_cannot_change_a_project(api, project):
    assert_error(api.as_user(None).patch(detail(project), {"name": "mine"}, format="json"), 401)

    project.refresh_from_db()
    assert project.name == "resnets"


def test_it_refuses_to_rename_a_project_to_a_taken_name(api, project, bobs_project, alice):
    body = assert_error(api.as_user(alice).patch(detail(bobs_project), {"name": "resnets"}, format="json"), 400)

    assert "name" in str(body["errors"])
    bobs_project.refresh_from_db()
    assert bobs_project.name == "bobnets"


def test_it_refuses_to_blank_a_project_name(api, project, alice):
    body = assert_error(api.as_user(alice).patch(detail(project), {"name": ""}, format="json"), 400)

    assert list(body["errors"]) == ["name"]


def test_a_member_moves_their_project_to_a_workspace_where_they_can_write(
    api, bobs_project, models, bob, eve, elsewhere
):
    services.membership_set(workspace=elsewhere, actor=eve, user=bob, role=Role.MEMBER)

    response = api.as_user(bob).patch(detail(bobs_project), {"workspace_id": elsewhere.pk}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["workspace_id"] == elsewhere.pk
    bobs_project.refresh_from_db()
    assert bobs_project.workspace_id == elsewhere.pk


def test_a_moved_project_leaves_the_sight_of_its_old_workspace(api, bobs_project, bob, carol, eve, elsewhere):
    services.membership_set(workspace=elsewhere, actor=eve, user=bob, role=Role.OWNER)
    api.as_user(bob).patch(detail(bobs_project), {"workspace_id": elsewhere.pk}, format="json")

    assert_error(api.as_user(carol).get(detail(bobs_project)), 404)
    assert api.as_user(eve).get(detail(bobs_project)).status_code == 200


def test_nobody_moves_a_project_to_a_workspace_where_they_only_view(api, project, alice, eve, elsewhere):
    services.membership_set(workspace=elsewhere, actor=eve, user=alice, role=Role.VIEWER)

    assert_error(api.as_user(alice).patch(detail(project), {"workspace_id": elsewhere.pk}, format="json"), 403)

    project.refresh_from_db()
    assert project.workspace_id != elsewhere.pk


def test_nobody_moves_a_project_to_a_workspace_they_cannot_see(api, project, alice, elsewhere):
    body = assert_error(api.as_user(alice).put(detail(project), {"workspace_id": elsewhere.pk}, format="json"), 400)

    assert list(body["errors"]) == ["workspace_id"]
    project.refresh_from_db()
    assert project.workspace_id != elsewhere.pk


def test_a_project_cannot_move_next_to_one_of_the_same_name(api, project, alice, eve, elsewhere):
    services.membership_set(workspace=elsewhere, actor=eve, user=alice, role=Role.MEMBER)
    services.project_create(user=eve, workspace=elsewhere, name="resnets")

    assert_error(api.as_user(alice).patch(detail(project), {"workspace_id": elsewhere.pk}, format="json"), 400)

    project.refresh_from_db()
    assert project.workspace_id != elsewhere.pk


# ----------------------------------------------------------------------------- delete


def test_the_owner_deletes_a_project_with_its_models_and_files(
    api, project, bobs_project, alice, bob, django_capture_on_commit_callbacks
):
    doomed = [upload(bob, project, name="a", content=b"one"), upload(bob, project, name="b", content=b"two")]
    kept = upload(bob, bobs_project, name="c", content=b"three")
    client = api.as_user(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(detail(project))
        # the files go only once the deletion commits
        assert all(default_storage.exists(m.file.name) for m in doomed)

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not MLModel.objects.filter(pk__in=[m.pk for m in doomed]).exists()
    assert not any(default_storage.exists(m.file.name) for m in doomed)
    assert default_storage.exists(kept.file.name)
    assert_error(client.get(detail(project)), 404)


def test_a_member_deletes_their_own_project(api, bobs_project, bob):
    response = api.as_user(bob).delete(detail(bobs_project))

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert not Project.objects.filter(pk=bobs_project.pk).exists()


def test_staff_delete_a_project_in_a_workspace_they_are_not_in(api, project, staff):
    assert api.as_user(staff).delete(detail(project)).json() == {"status": "success"}

    assert not Project.objects.filter(pk=project.pk).exists()


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_members_and_viewers_cannot_delete_someone_elses_project(api, project, alice, who, request):
    model = upload(alice, project)

    assert_error(api.as_user(request.getfixturevalue(who)).delete(detail(project)), 403)

    assert Project.objects.filter(pk=project.pk).exists()
    assert default_storage.exists(model.file.name)


def test_an_outsider_gets_404_when_deleting_a_project(api, project, eve):
    assert_error(api.as_user(eve).delete(detail(project)), 404)

    assert Project.objects.filter(pk=project.pk).exists()


def test_anonymous_callers_cannot_delete_a_project(api, project):
    assert_error(api.as_user(None).delete(detail(project)), 401)

    assert Project.objects.filter(pk=project.pk).exists()
