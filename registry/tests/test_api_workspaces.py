"""/api/v1/workspaces/ and /api/v1/workspaces/<id>/members/ through the whole request stack.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider; `staff` is in no
workspace. Anything the caller may not see is a 404, anything they see but may not change a 403.
"""

import pytest
from django.core.files.storage import default_storage

from accounts.models import User
from registry import services
from registry.models import Membership, MLModel, Project, Role, Workspace
from registry.tests.assertions import assert_error
from registry.tests.factories import upload

URL = "/api/v1/workspaces/"


def detail(workspace) -> str:
    return f"{URL}{workspace.pk}/"


def members(workspace) -> str:
    return f"{URL}{workspace.pk}/members/"


def member(workspace, user) -> str:
    return f"{URL}{workspace.pk}/members/{user.pk}/"


def role_of(workspace, user) -> str | None:
    return Membership.objects.filter(workspace=workspace, user=user).values_list("role", flat=True).first()


@pytest.fixture
def other_workspace(eve):
    """A workspace only Eve belongs to."""
    return services.workspace_create(user=eve, name="Audio", description="speech models")


# ----------------------------------------------------------------------------- list


def test_it_lists_only_the_workspaces_the_caller_belongs_to(api, workspace, other_workspace, bob):
    response = api.as_user(bob).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert [ws["id"] for ws in body["data"]] == [workspace.pk]
    assert body["pagination"] == {
        "has_next": False,
        "has_prev": False,
        "page": 1,
        "per_page": 20,
        "total_pages": 1,
        "total_items": 1,
    }


def test_it_lists_workspaces_in_the_wire_format(api, workspace, carol):
    data = api.as_user(carol).get(URL).json()["data"]

    assert len(data) == 1
    assert set(data[0]) == {"id", "name", "description", "updated", "created"}
    assert data[0]["name"] == "Vision"
    assert data[0]["description"] == "image models"


def test_it_lists_no_workspaces_to_an_outsider(api, workspace, eve):
    body = api.as_user(eve).get(URL).json()

    assert body["data"] == []
    assert body["pagination"]["total_items"] == 0


def test_it_lists_every_workspace_to_staff(api, workspace, other_workspace, staff):
    data = api.as_user(staff).get(URL).json()["data"]

    assert [ws["id"] for ws in data] == [workspace.pk, other_workspace.pk]


def test_it_refuses_to_list_workspaces_to_anonymous_callers(api, workspace):
    body = assert_error(api.as_user(None).get(URL), 401)

    assert "Vision" not in str(body)


def test_it_searches_workspaces_by_name_ignoring_case(api, workspace, alice):
    services.workspace_create(user=alice, name="Language")
    client = api.as_user(alice)

    assert [ws["name"] for ws in client.get(URL, {"search": "VIS"}).json()["data"]] == ["Vision"]
    assert [ws["name"] for ws in client.get(URL, {"search": "ua"}).json()["data"]] == ["Language"]
    assert client.get(URL, {"search": "nothing"}).json()["data"] == []


def test_search_does_not_reveal_workspaces_of_others(api, workspace, other_workspace, bob):
    assert api.as_user(bob).get(URL, {"search": "Audio"}).json()["data"] == []


def test_it_pages_workspaces(api, alice):
    for i in range(5):
        services.workspace_create(user=alice, name=f"ws{i}")
    client = api.as_user(alice)

    body = client.get(URL, {"per_page": 2, "page": 2}).json()

    assert [ws["name"] for ws in body["data"]] == ["ws2", "ws3"]
    assert body["pagination"] == {
        "has_next": True,
        "has_prev": True,
        "page": 2,
        "per_page": 2,
        "total_pages": 3,
        "total_items": 5,
    }


def test_it_caps_per_page_at_one_thousand(api, workspace, alice):
    body = api.as_user(alice).get(URL, {"per_page": 5000}).json()

    assert body["pagination"]["per_page"] == 1000
    assert len(body["data"]) == 1


def test_it_answers_404_for_a_page_past_the_end(api, workspace, alice):
    assert_error(api.as_user(alice).get(URL, {"page": 9}), 404)


@pytest.mark.parametrize("rows", [3, 10])
def test_listing_workspaces_takes_a_fixed_number_of_queries(api, alice, rows, django_assert_num_queries):
    for i in range(rows):
        services.workspace_create(user=alice, name=f"ws{i}")
    client = api.as_user(alice)

    # the user behind the JWT, the count, the page
    with django_assert_num_queries(3):
        response = client.get(URL)

    assert len(response.json()["data"]) == rows


# ----------------------------------------------------------------------------- create


def test_creating_a_workspace_makes_the_creator_its_owner(api, eve):
    response = api.as_user(eve).post(URL, {"name": "Tabular", "description": "trees"}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["name"] == "Tabular"
    assert data["description"] == "trees"
    workspace = Workspace.objects.get(pk=data["id"])
    assert list(workspace.memberships.values_list("user__login", "role")) == [("eve", Role.OWNER)]


def test_a_created_workspace_shows_up_in_the_creators_list(api, eve):
    client = api.as_user(eve)
    created = client.post(URL, {"name": "Tabular"}, format="json").json()["data"]

    assert [ws["id"] for ws in client.get(URL).json()["data"]] == [created["id"]]
    assert created["description"] == ""


def test_it_accepts_form_fields_when_creating_a_workspace(api, eve):
    response = api.as_user(eve).post(URL, {"name": "Tabular", "description": "trees"})

    assert response.status_code == 201, response.content
    assert Workspace.objects.get(pk=response.json()["data"]["id"]).description == "trees"


def test_it_refuses_a_workspace_without_a_name(api, eve):
    body = assert_error(api.as_user(eve).post(URL, {"description": "no name"}, format="json"), 400)

    assert "name" in body["errors"]
    assert not Workspace.objects.exists()


def test_it_refuses_a_workspace_with_a_blank_name(api, eve):
    body = assert_error(api.as_user(eve).post(URL, {"name": ""}, format="json"), 400)

    assert list(body["errors"]) == ["name"]


def test_it_refuses_a_workspace_name_over_200_characters(api, eve):
    body = assert_error(api.as_user(eve).post(URL, {"name": "x" * 201}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    assert not Workspace.objects.exists()


def test_anonymous_callers_cannot_create_workspaces(api, db):
    assert_error(api.as_user(None).post(URL, {"name": "Tabular"}, format="json"), 401)

    assert not Workspace.objects.exists()


# ----------------------------------------------------------------------------- retrieve


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "staff"])
def test_members_and_staff_get_a_workspace(api, workspace, who, request):
    response = api.as_user(request.getfixturevalue(who)).get(detail(workspace))

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == workspace.pk
    assert data["name"] == "Vision"
    assert data["description"] == "image models"
    assert set(data) == {"id", "name", "description", "updated", "created"}


def test_an_outsider_gets_404_for_a_workspace(api, workspace, eve):
    body = assert_error(api.as_user(eve).get(detail(workspace)), 404)

    assert "Vision" not in str(body)


def test_anonymous_callers_get_401_for_a_workspace(api, workspace):
    assert_error(api.as_user(None).get(detail(workspace)), 401)


def test_it_answers_404_for_a_workspace_that_does_not_exist(api, alice):
    assert_error(api.as_user(alice).get(f"{URL}999999/"), 404)


# ----------------------------------------------------------------------------- update


@pytest.mark.parametrize("method", ["put", "patch"])
def test_the_owner_changes_only_the_fields_sent(api, workspace, alice, method):
    response = getattr(api.as_user(alice), method)(detail(workspace), {"description": "pictures"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["description"] == "pictures"
    assert response.json()["data"]["name"] == "Vision"
    workspace.refresh_from_db()
    assert (workspace.name, workspace.description) == ("Vision", "pictures")


def test_the_owner_renames_a_workspace(api, workspace, alice):
    response = api.as_user(alice).put(detail(workspace), {"name": "Sight"}, format="json")

    assert response.status_code == 200, response.content
    workspace.refresh_from_db()
    assert (workspace.name, workspace.description) == ("Sight", "image models")


def test_staff_change_a_workspace_they_are_not_in(api, workspace, staff):
    response = api.as_user(staff).patch(detail(workspace), {"name": "Sight"}, format="json")

    assert response.status_code == 200, response.content
    workspace.refresh_from_db()
    assert workspace.name == "Sight"


@pytest.mark.parametrize("who", ["bob", "carol"])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_members_and_viewers_cannot_change_a_workspace(api, workspace, who, method, request):
    client = api.as_user(request.getfixturevalue(who))

    assert_error(getattr(client, method)(detail(workspace), {"name": "Mine"}, format="json"), 403)

    workspace.refresh_from_db()
    assert workspace.name == "Vision"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_outsider_gets_404_when_changing_a_workspace(api, workspace, eve, method):
    assert_error(getattr(api.as_user(eve), method)(detail(workspace), {"name": "Mine"}, format="json"), 404)

    workspace.refresh_from_db()
    assert workspace.name == "Vision"


def test_anonymous_callers_cannot_change_a_workspace(api, workspace):
    assert_error(api.as_user(None).patch(detail(workspace), {"name": "Mine"}, format="json"), 401)

    workspace.refresh_from_db()
    assert workspace.name == "Vision"


def test_it_refuses_to_blank_a_workspace_name(api, workspace, alice):
    body = assert_error(api.as_user(alice).patch(detail(workspace), {"name": ""}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    workspace.refresh_from_db()
    assert workspace.name == "Vision"


# ----------------------------------------------------------------------------- delete


def test_the_owner_deletes_a_workspace_with_its_projects_models_and_files(
    api, workspace, project, alice, bob, django_capture_on_commit_callbacks
):
    model = upload(bob, project, content=b"bytes of bob")
    stored = model.file.name
    assert default_storage.exists(stored)
    client = api.as_user(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(detail(workspace))
        # the file goes only once the deletion commits
        assert default_storage.exists(stored)

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert not default_storage.exists(stored)
    assert not Workspace.objects.filter(pk=workspace.pk).exists()
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not MLModel.objects.filter(pk=model.pk).exists()
    assert not Membership.objects.filter(workspace_id=workspace.pk).exists()


def test_deleting_a_workspace_leaves_other_workspaces_files_alone(
    api, workspace, project, other_workspace, alice, eve, django_capture_on_commit_callbacks
):
    elsewhere = services.project_create(user=eve, workspace=other_workspace, name="wav2vec")
    kept = upload(eve, elsewhere, content=b"keep me")
    upload(alice, project, content=b"drop me")
    client = api.as_user(alice)

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(detail(workspace)).status_code == 200

    assert default_storage.exists(kept.file.name)
    assert MLModel.objects.filter(pk=kept.pk).exists()


def test_a_deleted_workspace_answers_404(api, workspace, alice):
    client = api.as_user(alice)
    client.delete(detail(workspace))

    assert_error(client.get(detail(workspace)), 404)
    assert_error(client.delete(detail(workspace)), 404)


def test_staff_delete_a_workspace_they_are_not_in(api, workspace, staff):
    response = api.as_user(staff).delete(detail(workspace))

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert not Workspace.objects.filter(pk=workspace.pk).exists()


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_members_and_viewers_cannot_delete_a_workspace(api, workspace, project, who, request):
    model = upload(request.getfixturevalue("bob"), project)

    assert_error(api.as_user(request.getfixturevalue(who)).delete(detail(workspace)), 403)

    assert Workspace.objects.filter(pk=workspace.pk).exists()
    assert MLModel.objects.filter(pk=model.pk).exists()
    assert default_storage.exists(model.file.name)


def test_an_outsider_gets_404_when_deleting_a_workspace(api, workspace, eve):
    assert_error(api.as_user(eve).delete(detail(workspace)), 404)

    assert Workspace.objects.filter(pk=workspace.pk).exists()


def test_anonymous_callers_cannot_delete_a_workspace(api, workspace):
    assert_error(api.as_user(None).delete(detail(workspace)), 401)

    assert Workspace.objects.filter(pk=workspace.pk).exists()


# ----------------------------------------------------------------------------- members: list


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "staff"])
def test_members_and_staff_list_a_workspaces_members_with_their_roles(api, workspace, alice, bob, carol, who, request):
    response = api.as_user(request.getfixturevalue(who)).get(members(workspace))

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(m["user"]["login"], m["role"]) for m in body["data"]] == [
        ("alice", "owner"),
        ("bob", "member"),
        ("carol", "viewer"),
    ]
    assert body["data"][1]["user"] == {"id": bob.pk, "login": "bob", "full_name": "Bob"}
    assert set(body["data"][0]) == {"user", "role", "created"}
    assert body["pagination"]["total_items"] == 3


def test_an_outsider_gets_404_for_a_workspaces_members(api, workspace, eve):
    body = assert_error(api.as_user(eve).get(members(workspace)), 404)

    assert "alice" not in str(body)


def test_anonymous_callers_get_401_for_a_workspaces_members(api, workspace):
    assert_error(api.as_user(None).get(members(workspace)), 401)


@pytest.mark.parametrize("extra", [0, 7])
def test_listing_members_takes_a_fixed_number_of_queries(api, workspace, alice, extra, django_assert_num_queries):
    for i in range(extra):
        user = User.objects.create_user(f"user{i}", "pw")
        services.membership_set(workspace=workspace, actor=alice, user=user, role=Role.VIEWER)
    client = api.as_user(alice)

    # the user behind the JWT, the workspace, the count, the page with its users
    with django_assert_num_queries(4):
        response = client.get(members(workspace))

    assert len(response.json()["data"]) == 3 + extra


# ----------------------------------------------------------------------------- members: add and change


def test_the_owner_adds_a_member(api, workspace, alice, eve):
    response = api.as_user(alice).post(members(workspace), {"user_id": eve.pk, "role": "member"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["data"]["user"] == {"id": eve.pk, "login": "eve", "full_name": "Eve"}
    assert response.json()["data"]["role"] == "member"
    assert role_of(workspace, eve) == Role.MEMBER


def test_an_added_member_then_sees_the_workspace(api, workspace, alice, eve):
    api.as_user(alice).post(members(workspace), {"user_id": eve.pk, "role": "viewer"}, format="json")

    response = api.as_user(eve).get(detail(workspace))

    assert response.status_code == 200
    assert response.json()["data"]["id"] == workspace.pk


def test_it_accepts_form_fields_when_adding_a_member(api, workspace, alice, eve):
    response = api.as_user(alice).post(members(workspace), {"user_id": str(eve.pk), "role": "viewer"})

    assert response.status_code == 201, response.content
    assert role_of(workspace, eve) == Role.VIEWER


def test_the_owner_changes_a_members_role(api, workspace, alice, bob):
    response = api.as_user(alice).post(members(workspace), {"user_id": bob.pk, "role": "owner"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["role"] == "owner"
    assert role_of(workspace, bob) == Role.OWNER
    assert workspace.memberships.count() == 3


def test_an_owner_steps_down_when_another_owner_remains(api, workspace, alice, bob):
    services.membership_set(workspace=workspace, actor=alice, user=bob, role=Role.OWNER)

    response = api.as_user(alice).post(members(workspace), {"user_id": alice.pk, "role": "viewer"}, format="json")

    assert response.status_code == 200, response.content
    assert role_of(workspace, alice) == Role.VIEWER


def test_the_last_owner_cannot_demote_themselves(api, workspace, alice):
    body = assert_error(
        api.as_user(alice).post(members(workspace), {"user_id": alice.pk, "role": "member"}, format="json"), 400
    )

    assert "role" in body["errors"]
    assert role_of(workspace, alice) == Role.OWNER


def test_the_last_active_owner_cannot_step_down_for_a_deactivated_owner(api, workspace, alice, bob):
    services.membership_set(workspace=workspace, actor=alice, user=bob, role=Role.OWNER)
    bob.is_active = False
    bob.save()

    body = assert_error(
        api.as_user(alice).post(members(workspace), {"user_id": alice.pk, "role": "member"}, format="json"), 400
    )

    assert "role" in body["errors"]
    assert role_of(workspace, alice) == Role.OWNER


def test_staff_add_members_to_a_workspace_they_are_not_in(api, workspace, staff, eve):
    response = api.as_user(staff).post(members(workspace), {"user_id": eve.pk, "role": "owner"}, format="json")

    assert response.status_code == 201, response.content
    assert role_of(workspace, eve) == Role.OWNER
    assert role_of(workspace, staff) is None


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_members_and_viewers_cannot_add_members(api, workspace, eve, who, request):
    client = api.as_user(request.getfixturevalue(who))

    assert_error(client.post(members(workspace), {"user_id": eve.pk, "role": "viewer"}, format="json"), 403)

    assert role_of(workspace, eve) is None


def test_a_member_cannot_promote_themselves(api, workspace, bob):
    client = api.as_user(bob)

    assert_error(client.post(members(workspace), {"user_id": bob.pk, "role": "owner"}, format="json"), 403)

    assert role_of(workspace, bob) == Role.MEMBER


def test_an_outsider_gets_404_when_adding_themselves(api, workspace, eve):
    client = api.as_user(eve)

    assert_error(client.post(members(workspace), {"user_id": eve.pk, "role": "owner"}, format="json"), 404)

    assert role_of(workspace, eve) is None


def test_anonymous_callers_cannot_add_members(api, workspace, eve):
    assert_error(api.as_user(None).post(members(workspace), {"user_id": eve.pk, "role": "owner"}, format="json"), 401)

    assert role_of(workspace, eve) is None


def test_it_refuses_an_unknown_role(api, workspace, alice, eve):
    client = api.as_user(alice)

    body = assert_error(client.post(members(workspace), {"user_id": eve.pk, "role": "admin"}, format="json"), 400)

    assert list(body["errors"]) == ["role"]
    assert role_of(workspace, eve) is None


def test_it_refuses_a_user_that_does_not_exist(api, workspace, alice):
    client = api.as_user(alice)

    body = assert_error(client.post(members(workspace), {"user_id": 999999, "role": "member"}, format="json"), 400)

    assert list(body["errors"]) == ["user_id"]


def test_it_refuses_a_deactivated_user(api, workspace, alice, eve):
    eve.is_active = False
    eve.save()
    client = api.as_user(alice)

    body = assert_error(client.post(members(workspace), {"user_id": eve.pk, "role": "member"}, format="json"), 400)

    assert list(body["errors"]) == ["user_id"]
    assert role_of(workspace, eve) is None


def test_it_requires_both_user_id_and_role(api, workspace, alice):
    body = assert_error(api.as_user(alice).post(members(workspace), {}, format="json"), 400)

    assert set(body["errors"]) == {"user_id", "role"}


# ----------------------------------------------------------------------------- members: remove


def test_the_owner_removes_a_member(api, workspace, alice, bob):
    response = api.as_user(alice).delete(member(workspace, bob))

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert role_of(workspace, bob) is None


def test_a_removed_member_no_longer_sees_the_workspace(api, workspace, project, alice, bob):
    api.as_user(alice).delete(member(workspace, bob))
    client = api.as_user(bob)

    assert_error(client.get(detail(workspace)), 404)
    assert client.get(URL).json()["data"] == []
    assert client.get("/api/v1/projects/").json()["data"] == []


def test_a_member_leaves_a_workspace(api, workspace, bob):
    response = api.as_user(bob).delete(member(workspace, bob))

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert role_of(workspace, bob) is None


def test_a_viewer_leaves_a_workspace(api, workspace, carol):
    assert api.as_user(carol).delete(member(workspace, carol)).status_code == 200

    assert role_of(workspace, carol) is None


def test_staff_remove_a_member_of_a_workspace_they_are_not_in(api, workspace, staff, bob):
    assert api.as_user(staff).delete(member(workspace, bob)).status_code == 200

    assert role_of(workspace, bob) is None


@pytest.mark.parametrize(("who", "whom"), [("bob", "carol"), ("bob", "alice"), ("carol", "bob")])
def test_members_and_viewers_cannot_remove_others(api, workspace, who, whom, request):
    target = request.getfixturevalue(whom)
    role = role_of(workspace, target)

    assert_error(api.as_user(request.getfixturevalue(who)).delete(member(workspace, target)), 403)

    assert role_of(workspace, target) == role


def test_the_last_owner_cannot_be_removed(api, workspace, alice):
    body = assert_error(api.as_user(alice).delete(member(workspace, alice)), 400)

    assert "role" in body["errors"]
    assert role_of(workspace, alice) == Role.OWNER


def test_staff_cannot_remove_the_last_owner_either(api, workspace, staff, alice):
    assert_error(api.as_user(staff).delete(member(workspace, alice)), 400)

    assert role_of(workspace, alice) == Role.OWNER


def test_an_owner_leaves_when_another_owner_remains(api, workspace, alice, bob):
    services.membership_set(workspace=workspace, actor=alice, user=bob, role=Role.OWNER)

    assert api.as_user(alice).delete(member(workspace, alice)).status_code == 200

    assert role_of(workspace, alice) is None
    assert role_of(workspace, bob) == Role.OWNER


def test_removing_someone_who_is_not_a_member_answers_404(api, workspace, alice, eve):
    assert_error(api.as_user(alice).delete(member(workspace, eve)), 404)


def test_removing_a_user_that_does_not_exist_answers_404(api, workspace, alice):
    assert_error(api.as_user(alice).delete(f"{members(workspace)}999999/"), 404)


def test_an_outsider_gets_404_when_removing_a_member(api, workspace, eve, bob):
    assert_error(api.as_user(eve).delete(member(workspace, bob)), 404)

    assert role_of(workspace, bob) == Role.MEMBER


def test_anonymous_callers_cannot_remove_members(api, workspace, bob):
    assert_error(api.as_user(None).delete(member(workspace, bob)), 401)

    assert role_of(workspace, bob) == Role.MEMBER
