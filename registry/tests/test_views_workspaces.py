"""Web UI: the dashboard, workspaces and their members, new projects.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py).
"""

import pytest
from django.urls import reverse

from registry.models import Membership, Project, Role, Workspace
from registry.tests.factories import upload


def login_url(next_path: str) -> str:
    return f"{reverse('accounts:login')}?next={next_path}"


def as_user(client, user):
    if user is not None:
        client.force_login(user)
    return client


class TestDashboard:
    def test_it_sends_anonymous_visitors_to_sign_in(self, client):
        response = client.get("/")
        assert response.status_code == 302 and response["Location"] == login_url("/")

    def test_it_shows_the_users_workspaces_and_recent_models(self, client, alice, project, bob):
        upload(bob, project, name="resnet50")
        response = as_user(client, alice).get("/")
        assert response.status_code == 200
        assert b"Vision" in response.content and b"resnet50" in response.content and b"resnets" in response.content

    def test_it_hides_private_models_of_others(self, client, alice, project, bob):
        upload(bob, project, name="secret-net", private=True)
        assert b"secret-net" not in as_user(client, alice).get("/").content
        client.logout()
        assert b"secret-net" in as_user(client, bob).get("/").content

    def test_an_outsider_sees_nothing_of_the_workspace(self, client, eve, project, bob):
        upload(bob, project, name="resnet50")
        response = as_user(client, eve).get("/")
        assert b"Vision" not in response.content and b"resnet50" not in response.content

    def test_the_admin_link_shows_for_staff_only(self, client, alice, staff):
        assert b'href="/admin/"' not in as_user(client, alice).get("/").content
        client.logout()
        assert b'href="/admin/"' in as_user(client, staff).get("/").content


class TestWorkspaceList:
    def test_it_sends_anonymous_visitors_to_sign_in(self, client):
        assert client.get("/workspaces/")["Location"] == login_url("/workspaces/")

    @pytest.mark.parametrize("who", ["alice", "bob", "carol"])
    def test_members_see_the_workspace(self, client, request, workspace, who):
        response = as_user(client, request.getfixturevalue(who)).get("/workspaces/")
        assert response.status_code == 200 and b"Vision" in response.content

    def test_an_outsider_does_not(self, client, eve, workspace):
        assert b"Vision" not in as_user(client, eve).get("/workspaces/").content

    def test_anyone_signed_in_starts_a_workspace_and_owns_it(self, client, eve):
        response = as_user(client, eve).post("/workspaces/", {"name": "Speech", "description": "asr"})
        workspace = Workspace.objects.get(name="Speech")
        assert response.status_code == 302 and response["Location"] == f"/workspaces/{workspace.pk}/"
        assert Membership.objects.get(workspace=workspace, user=eve).role == Role.OWNER

    def test_a_workspace_needs_a_name(self, client, eve):
        response = as_user(client, eve).post("/workspaces/", {"name": ""})
        assert response.status_code == 400 and b"This field is required" in response.content


class TestWorkspaceDetail:
    def url(self, workspace):
        return f"/workspaces/{workspace.pk}/"

    def test_it_sends_anonymous_visitors_to_sign_in(self, client, workspace):
        assert client.get(self.url(workspace))["Location"] == login_url(self.url(workspace))

    def test_the_owner_sees_projects_and_member_management(self, client, alice, project):
        response = as_user(client, alice).get(self.url(project.workspace))
        assert response.status_code == 200
        assert b"resnets" in response.content
        assert b"Add a member" in response.content and b"carol" in response.content

    @pytest.mark.parametrize("who", ["bob", "carol"])
    def test_members_and_viewers_see_it_without_member_management(self, client, request, project, who):
        response = as_user(client, request.getfixturevalue(who)).get(self.url(project.workspace))
        assert response.status_code == 200 and b"resnets" in response.content
        assert b"Add a member" not in response.content

    def test_an_outsider_gets_404(self, client, eve, workspace):
        assert as_user(client, eve).get(self.url(workspace)).status_code == 404

    def test_it_counts_only_the_models_the_user_can_see(self, client, alice, bob, project):
        upload(bob, project, name="a")
        upload(bob, project, name="b", private=True)
        response = as_user(client, alice).get(self.url(project.workspace))
        assert [p.model_count for p in response.context["projects"]] == [1]


class TestMembers:
    def url(self, workspace):
        return f"/workspaces/{workspace.pk}/members/"

    def test_the_owner_adds_a_member_by_login(self, client, alice, eve, workspace):
        response = as_user(client, alice).post(self.url(workspace), {"login": "eve", "role": "viewer"})
        assert response.status_code == 302
        assert Membership.objects.get(workspace=workspace, user=eve).role == Role.VIEWER

    @pytest.mark.parametrize("typed", ["Eve", "EVE", " eVe "])
    def test_a_login_in_any_case_names_its_user(self, client, alice, eve, workspace, typed):
        # Logins are unique regardless of case, so `Eve` can only mean `eve`.
        response = as_user(client, alice).post(self.url(workspace), {"login": typed, "role": "member"})
        assert response.status_code == 302
        assert Membership.objects.get(workspace=workspace, user=eve).role == Role.MEMBER

    def test_an_inactive_user_is_not_found_in_any_case(self, client, alice, eve, workspace):
        eve.is_active = False
        eve.save()
        response = as_user(client, alice).post(self.url(workspace), {"login": "Eve", "role": "member"})
        assert response.status_code == 400 and b"There is no active user with this login." in response.content
        assert not Membership.objects.filter(workspace=workspace, user=eve).exists()

    def test_the_owner_changes_a_role(self, client, alice, bob, workspace):
        as_user(client, alice).post(self.url(workspace), {"login": "bob", "role": "owner"})
        assert Membership.objects.get(workspace=workspace, user=bob).role == Role.OWNER

    def test_an_unknown_login_is_an_error_on_the_form(self, client, alice, workspace):
        response = as_user(client, alice).post(self.url(workspace), {"login": "nobody", "role": "member"})
        assert response.status_code == 400 and b"There is no active user with this login." in response.content

    def test_the_last_owner_cannot_step_down(self, client, alice, workspace):
        response = as_user(client, alice).post(self.url(workspace), {"login": "alice", "role": "member"})
        assert response.status_code == 400 and b"at least one owner" in response.content
        assert Membership.objects.get(workspace=workspace, user=alice).role == Role.OWNER

    def test_a_member_cannot_manage_members(self, client, bob, eve, workspace):
        response = as_user(client, bob).post(self.url(workspace), {"login": "eve", "role": "owner"})
        assert response.status_code == 403
        assert not Membership.objects.filter(workspace=workspace, user=eve).exists()

    def test_an_outsider_gets_404(self, client, eve, workspace):
        response = as_user(client, eve).post(self.url(workspace), {"login": "eve", "role": "owner"})
        assert response.status_code == 404

    def test_the_owner_removes_a_member(self, client, alice, bob, workspace):
        response = as_user(client, alice).post(f"/workspaces/{workspace.pk}/members/{bob.pk}/remove/")
        assert response.status_code == 302
        assert not Membership.objects.filter(workspace=workspace, user=bob).exists()

    def test_a_member_leaves_on_their_own(self, client, bob, workspace):
        response = as_user(client, bob).post(f"/workspaces/{workspace.pk}/members/{bob.pk}/remove/")
        assert response.status_code == 302 and response["Location"] == "/workspaces/"
        assert not Membership.objects.filter(workspace=workspace, user=bob).exists()

    def test_a_member_cannot_remove_another(self, client, bob, carol, workspace):
        response = as_user(client, bob).post(f"/workspaces/{workspace.pk}/members/{carol.pk}/remove/")
        assert response.status_code == 403
        assert Membership.objects.filter(workspace=workspace, user=carol).exists()

    def test_the_forms_carry_a_csrf_token(self, client, alice, workspace):
        assert b"csrfmiddlewaretoken" in as_user(client, alice).get(f"/workspaces/{workspace.pk}/").content


class TestNewProject:
    def url(self, workspace):
        return f"/workspaces/{workspace.pk}/projects/"

    def test_a_member_creates_a_project(self, client, bob, workspace):
        response = as_user(client, bob).post(self.url(workspace), {"name": "vits", "git_url": ""})
        project = Project.objects.get(name="vits")
        assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/"

    def test_a_viewer_cannot(self, client, carol, workspace):
        assert as_user(client, carol).post(self.url(workspace), {"name": "vits"}).status_code == 403

    def test_an_outsider_gets_404(self, client, eve, workspace):
        assert as_user(client, eve).post(self.url(workspace), {"name": "vits"}).status_code == 404

    def test_a_duplicate_name_is_an_error_on_the_form(self, client, alice, project):
        response = as_user(client, alice).post(self.url(project.workspace), {"name": "resnets"})
        assert response.status_code == 400 and b"already exists" in response.content
