"""Members by login (POST /api/v1/workspaces/<id>/members/ with `login`) and the owners' user
finder (/api/v1/workspaces/<id>/find-users/?q=), through the whole request stack.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py).
"""

import pytest

from accounts.models import User
from conftest import PASSWORD, make_user
from registry.models import Membership, Role
from registry.tests.assertions import assert_error


def members(workspace) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/members/"


def finder(workspace, q) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/find-users/?q={q}"


def role_of(workspace, user) -> str | None:
    return Membership.objects.filter(workspace=workspace, user=user).values_list("role", flat=True).first()


class TestMembersByLogin:
    def test_an_owner_adds_a_member_by_login_in_any_case(self, api, workspace, alice, eve):
        response = api.as_user(alice).post(members(workspace), {"login": "EVE", "role": "viewer"}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["data"]["user"]["login"] == "eve"
        assert role_of(workspace, eve) == Role.VIEWER

    def test_user_id_keeps_working(self, api, workspace, alice, eve):
        response = api.as_user(alice).post(members(workspace), {"user_id": eve.pk, "role": "member"}, format="json")
        assert response.status_code == 201 and role_of(workspace, eve) == Role.MEMBER

    def test_a_login_changes_a_members_role(self, api, workspace, alice, bob):
        response = api.as_user(alice).post(members(workspace), {"login": "bob", "role": "viewer"}, format="json")
        assert response.status_code == 200 and role_of(workspace, bob) == Role.VIEWER

    @pytest.mark.parametrize(
        "data, field",
        [
            ({"login": "nobody", "role": "member"}, "login"),
            ({"login": "eve", "user_id": "eve's id", "role": "member"}, "login"),
            ({"role": "member"}, "user_id"),
        ],
    )
    def test_a_bad_login_is_a_400_and_changes_nothing(self, api, workspace, alice, eve, data, field):
        if "user_id" in data:
            data = {**data, "user_id": eve.pk}
        body = assert_error(api.as_user(alice).post(members(workspace), data, format="json"), 400)
        assert field in body["errors"]
        assert role_of(workspace, eve) is None

    @pytest.mark.parametrize("body", ["5", "[]", '"eve"', "null"])
    def test_a_body_that_is_not_an_object_is_a_400(self, api, workspace, alice, body):
        response = api.as_user(alice).post(members(workspace), body, content_type="application/json")
        assert_error(response, 400)
        assert workspace.memberships.count() == 3  # alice, bob and carol, as before

    def test_a_blank_user_id_in_a_form_is_a_400(self, api, workspace, alice):
        response = api.as_user(alice).post(members(workspace), {"user_id": "", "role": "member"}, format="multipart")
        assert "user_id" in assert_error(response, 400)["errors"]
        assert workspace.memberships.count() == 3

    def test_a_deactivated_users_login_is_refused(self, api, workspace, alice, eve):
        eve.is_active = False
        eve.save()
        assert_error(api.as_user(alice).post(members(workspace), {"login": "eve", "role": "member"}), 400)
        assert role_of(workspace, eve) is None

    @pytest.mark.parametrize("who, status", [("bob", 403), ("carol", 403), ("eve", 404)])
    def test_only_owners_add_members_by_login(self, api, workspace, who, status, request):
        make_user("dora")
        client = api.as_user(request.getfixturevalue(who))
        assert_error(client.post(members(workspace), {"login": "dora", "role": "owner"}, format="json"), status)
        assert not Membership.objects.filter(user__login="dora").exists()


class TestUserFinder:
    @pytest.fixture
    def people(self, db):
        for login, name, active in [
            ("dora", "Dora", True),
            ("doris", "Doris Day", True),
            ("zed", "Zed Dorado", True),
            ("gone", "Dorothy Gone", False),
        ]:
            User.objects.create_user(login, PASSWORD, full_name=name, email=f"{login}@example.com", is_active=active)

    def test_an_owner_finds_people_by_login_or_name_with_login_and_name_only(self, api, workspace, alice, people):
        response = api.as_user(alice).get(finder(workspace, "DOR"))
        assert response.status_code == 200
        assert response.json()["data"] == [
            {"login": "dora", "full_name": "Dora"},
            {"login": "doris", "full_name": "Doris Day"},
            {"login": "zed", "full_name": "Zed Dorado"},
        ]

    def test_members_of_the_workspace_are_left_out(self, api, workspace, alice, people):
        logins = [row["login"] for row in api.as_user(alice).get(finder(workspace, "o")).json().get("data", [])]
        assert logins == []  # one character is too few
        logins = [row["login"] for row in api.get(finder(workspace, "bo")).json()["data"]]
        assert "bob" not in logins

    def test_results_are_limited(self, api, workspace, alice):
        for n in range(15):
            make_user(f"user{n:02}")
        assert len(api.as_user(alice).get(finder(workspace, "user")).json()["data"]) == 10

    def test_a_nul_character_is_a_400(self, api, workspace, alice):
        response = api.as_user(alice).get(f"/api/v1/workspaces/{workspace.pk}/find-users/", {"q": "a\x00b"})
        assert "q" in assert_error(response, 400)["errors"]

    @pytest.mark.parametrize("q", ["", "d", "%20d%20"])
    def test_fewer_than_two_characters_is_a_400(self, api, workspace, alice, q):
        body = assert_error(api.as_user(alice).get(finder(workspace, q)), 400)
        assert "q" in body["errors"]

    @pytest.mark.parametrize("who, status", [("bob", 403), ("carol", 403), ("eve", 404)])
    def test_only_owners_may_look_people_up(self, api, workspace, people, who, status, request):
        assert_error(api.as_user(request.getfixturevalue(who)).get(finder(workspace, "dor")), status)

    def test_anonymous_callers_get_401(self, api, workspace):
        assert_error(api.get(finder(workspace, "dor")), 401)
