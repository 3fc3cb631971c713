"""Invitations into a workspace (accounts/invitations.py): the API, the workspace page's form, and
the link's own page, through the whole request stack.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py).
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import invitations
from accounts.models import ApiToken, Invitation, User
from conftest import PASSWORD
from events.models import Event
from registry.models import Membership, Role
from registry.tests.assertions import assert_error


def url(workspace) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/invitations/"


def role_of(workspace, user) -> str | None:
    return Membership.objects.filter(workspace=workspace, user=user).values_list("role", flat=True).first()


def invite(workspace, alice, **fields) -> tuple[Invitation, str]:
    fields.setdefault("role", Role.MEMBER)
    if "login" not in fields:
        fields.setdefault("email", "dora@example.com")
    return invitations.invitation_create(workspace=workspace, actor=alice, **fields)


def path_of(secret: str) -> str:
    return reverse("accounts:invitation", kwargs={"secret": secret})


# ----------------------------------------------------------------------------- the API


class TestApi:
    def test_an_owner_creates_an_invitation_and_gets_its_link_once(self, api, workspace, alice):
        response = api.as_user(alice).post(url(workspace), {"email": "dora@example.com", "role": "viewer"})

        assert response.status_code == 201, response.content
        body = response.json()["data"]
        assert body["email"] == "dora@example.com" and body["role"] == "viewer" and body["status"] == "pending"
        assert body["link"].startswith("http://testserver/invitations/inv_")
        invitation = Invitation.objects.get(pk=body["id"])
        secret = body["link"].rstrip("/").rsplit("/", 1)[1]
        assert invitation.workspace == workspace and invitation.created_by == alice
        listed = api.get(url(workspace)).json()["data"]
        assert [row["id"] for row in listed] == [invitation.pk]
        assert "link" not in listed[0] and secret not in str(listed)

    def test_the_secret_is_stored_only_as_its_hash(self, workspace, alice):
        invitation, secret = invite(workspace, alice)

        invitation.refresh_from_db()
        assert invitation.hashed_secret == ApiToken.hash(secret)
        stored = [str(value) for value in Invitation.objects.filter(pk=invitation.pk).values().get().values()]
        assert secret not in stored
        assert secret.startswith(f"inv_{invitation.prefix}_")

    def test_it_expires_after_the_configured_days(self, settings, workspace, alice):
        settings.MAISIE_INVITATION_DAYS = 3
        invitation, _ = invite(workspace, alice)
        assert abs(invitation.expires - (timezone.now() + timedelta(days=3))) < timedelta(minutes=1)
        chosen, _ = invite(workspace, alice, email="zed@example.com", days=30)
        assert abs(chosen.expires - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)

    @pytest.mark.parametrize("who", ["bob", "carol"])
    def test_members_and_viewers_may_neither_list_nor_create(self, api, workspace, who, request):
        client = api.as_user(request.getfixturevalue(who))
        assert_error(client.get(url(workspace)), 403)
        assert_error(client.post(url(workspace), {"email": "x@example.com", "role": "member"}), 403)
        assert not Invitation.objects.exists()

    def test_an_outsider_gets_404(self, api, workspace, eve):
        assert_error(api.as_user(eve).get(url(workspace)), 404)
        assert_error(api.post(url(workspace), {"email": "x@example.com", "role": "member"}), 404)
        assert not Invitation.objects.exists()

    def test_anonymous_callers_get_401(self, api, workspace):
        assert_error(api.get(url(workspace)), 401)

    @pytest.mark.parametrize(
        "data, field",
        [
            ({"role": "member"}, "email"),
            ({"email": "a@example.com", "login": "bob", "role": "member"}, "email"),
            ({"email": "not-an-address", "role": "member"}, "email"),
            ({"login": "nobody", "role": "member"}, "login"),
            ({"login": "bob", "role": "member"}, "login"),  # already a member
            ({"email": "a@example.com", "role": "boss"}, "role"),
            ({"email": "a@example.com", "role": "member", "days": 0}, "days"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(self, api, workspace, alice, data, field):
        body = assert_error(api.as_user(alice).post(url(workspace), data, format="json"), 400)
        assert field in body["errors"], body
        assert not Invitation.objects.exists()

    def test_an_owner_revokes_a_pending_invitation(self, api, workspace, alice):
        invitation, _ = invite(workspace, alice)
        response = api.as_user(alice).delete(f"{url(workspace)}{invitation.pk}/")
        assert response.status_code == 200 and response.json() == {"status": "success"}
        invitation.refresh_from_db()
        assert invitation.revoked is not None and invitation.status == "revoked"
        assert api.get(url(workspace)).json()["data"] == []
        assert_error(api.delete(f"{url(workspace)}{invitation.pk}/"), 400)  # once

    def test_a_member_cannot_revoke(self, api, workspace, alice, bob):
        invitation, _ = invite(workspace, alice)
        assert_error(api.as_user(bob).delete(f"{url(workspace)}{invitation.pk}/"), 403)
        invitation.refresh_from_db()
        assert invitation.revoked is None

    def test_events_record_creation_acceptance_and_revocation_without_the_secret(self, workspace, alice, eve):
        invitation, secret = invite(workspace, alice, login="eve", role=Role.VIEWER)
        invitations.invitation_accept(invitation=invitation, user=eve)
        other, _ = invite(workspace, alice, email="zed@example.com")
        invitations.invitation_revoke(invitation=other, actor=alice)

        kinds = list(Event.objects.filter(kind__startswith="invitation.").order_by("id").values_list("kind", flat=True))
        assert kinds == ["invitation.created", "invitation.accepted", "invitation.created", "invitation.revoked"]
        assert all(event.workspace_id == workspace.pk for event in Event.objects.filter(subject_type="invitation"))
        assert secret not in str(list(Event.objects.values()))
        assert Event.objects.filter(kind="membership.added", subject_name="eve").exists()

    def test_only_owners_read_invitation_events(self, workspace, alice, bob):
        invite(workspace, alice)
        assert Event.objects.visible_to(alice).filter(kind="invitation.created").exists()
        assert not Event.objects.visible_to(bob).filter(kind="invitation.created").exists()


# ----------------------------------------------------------------------------- the link's page


class TestLinkPage:
    def test_a_new_person_creates_an_account_and_joins_with_the_role(self, client, workspace, alice):
        _, secret = invite(workspace, alice, email="Dora@Example.com", role=Role.VIEWER)
        page = client.get(path_of(secret))
        assert page.status_code == 200 and b"Create your account" in page.content and b"Vision" in page.content

        response = client.post(
            path_of(secret),
            {"login": "dora", "full_name": "Dora", "password": PASSWORD, "password_again": PASSWORD},
        )

        assert response.status_code == 302 and response["Location"] == f"/workspaces/{workspace.pk}/"
        dora = User.objects.get(login="dora")
        assert dora.email == "Dora@Example.com" and dora.check_password(PASSWORD)
        assert role_of(workspace, dora) == Role.VIEWER
        assert client.get(response["Location"]).context["user"] == dora  # signed in

    def test_the_link_works_once(self, client, workspace, alice):
        _, secret = invite(workspace, alice)
        form = {"login": "dora", "password": PASSWORD, "password_again": PASSWORD}
        assert client.post(path_of(secret), form).status_code == 302
        client.logout()

        again = client.post(path_of(secret), {**form, "login": "dora2"})
        assert again.status_code == 410 and b"already used" in again.content
        assert not User.objects.filter(login="dora2").exists()
        assert client.get(path_of(secret)).status_code == 410

    def test_an_expired_link_says_so(self, client, workspace, alice):
        invitation, secret = invite(workspace, alice)
        Invitation.objects.filter(pk=invitation.pk).update(expires=timezone.now() - timedelta(minutes=1))
        response = client.get(path_of(secret))
        assert response.status_code == 410 and b"has expired" in response.content
        post = client.post(path_of(secret), {"login": "dora", "password": PASSWORD, "password_again": PASSWORD})
        assert post.status_code == 410 and not User.objects.filter(login="dora").exists()

    def test_a_revoked_link_says_so(self, client, workspace, alice):
        invitation, secret = invite(workspace, alice)
        invitations.invitation_revoke(invitation=invitation, actor=alice)
        response = client.get(path_of(secret))
        assert response.status_code == 410 and b"withdrawn" in response.content

    @pytest.mark.parametrize("secret", ["nonsense", "inv_", "inv_deadbeef_xyz", "mai_abc_def"])
    def test_a_wrong_link_is_a_clear_404(self, client, workspace, alice, secret):
        invite(workspace, alice)
        response = client.get(path_of(secret))
        assert response.status_code == 404 and b"not valid" in response.content

    def test_a_tampered_secret_with_a_real_prefix_opens_nothing(self, client, workspace, alice):
        _, secret = invite(workspace, alice)
        response = client.get(path_of(secret[:-3] + "abc"))
        assert response.status_code == 404

    def test_an_existing_user_joins_when_signed_in(self, client, workspace, alice, eve):
        _, secret = invite(workspace, alice, login="EVE", role=Role.MEMBER)
        client.force_login(eve)
        page = client.get(path_of(secret))
        assert page.status_code == 200 and b"Join as eve" in page.content
        assert role_of(workspace, eve) is None  # opening the page changes nothing

        response = client.post(path_of(secret))
        assert response.status_code == 302 and role_of(workspace, eve) == Role.MEMBER

    def test_an_existing_user_matched_by_email_joins(self, client, workspace, alice, eve):
        _, secret = invite(workspace, alice, email="EVE@example.com", role=Role.VIEWER)
        client.force_login(eve)
        assert client.post(path_of(secret)).status_code == 302
        assert role_of(workspace, eve) == Role.VIEWER

    def test_an_invitation_by_login_sends_anonymous_visitors_to_sign_in_first(self, client, workspace, alice, eve):
        _, secret = invite(workspace, alice, login="eve")
        response = client.get(path_of(secret))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")

        signed_in = client.post(response["Location"], {"username": "eve", "password": PASSWORD})
        assert signed_in.status_code == 302 and signed_in["Location"] == path_of(secret)
        assert client.post(path_of(secret)).status_code == 302 and role_of(workspace, eve) == Role.MEMBER

    def test_an_email_with_an_account_asks_to_sign_in_rather_than_make_another(self, client, workspace, alice, eve):
        _, secret = invite(workspace, alice, email="eve@example.com", role=Role.VIEWER)
        response = client.get(path_of(secret))
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
        post = client.post(path_of(secret), {"login": "eve2", "password": PASSWORD, "password_again": PASSWORD})
        assert post.status_code == 302 and not User.objects.filter(login="eve2").exists()
        assert Invitation.objects.get().status == "pending"

    def test_someone_else_signed_in_cannot_use_it(self, client, workspace, alice, eve):
        _, secret = invite(workspace, alice, email="dora@example.com")
        client.force_login(eve)
        page = client.get(path_of(secret))
        assert page.status_code == 403 and b"for someone else" in page.content
        assert client.post(path_of(secret)).status_code == 403
        assert role_of(workspace, eve) is None
        assert Invitation.objects.get().accepted is None

    def test_a_bad_account_form_is_a_400_and_keeps_the_link_usable(self, client, workspace, alice, bob):
        _, secret = invite(workspace, alice)
        taken = client.post(path_of(secret), {"login": "BOB", "password": PASSWORD, "password_again": PASSWORD})
        assert taken.status_code == 400 and b"already exists" in taken.content
        weak = client.post(path_of(secret), {"login": "dora", "password": "123", "password_again": "123"})
        assert weak.status_code == 400
        differ = client.post(path_of(secret), {"login": "dora", "password": PASSWORD, "password_again": "other"})
        assert differ.status_code == 400
        assert not User.objects.filter(login="dora").exists()
        assert Invitation.objects.get().status == "pending"


# ----------------------------------------------------------------------------- the workspace page


class TestWorkspacePage:
    def page(self, workspace) -> str:
        return reverse("registry:workspace_detail", args=[workspace.pk])

    def test_an_owner_invites_sees_the_link_once_and_the_pending_list(self, client, workspace, alice):
        client.force_login(alice)
        response = client.post(
            reverse("accounts:invitation_create", args=[workspace.pk]),
            {"invitee": "dora@example.com", "role": "viewer", "days": 7},
        )
        assert response.status_code == 302
        invitation = Invitation.objects.get()
        assert invitation.email == "dora@example.com" and invitation.role == "viewer"

        first = client.get(self.page(workspace)).content.decode()
        assert "http://testserver/invitations/inv_" + invitation.prefix in first
        assert "Pending invitations" in first and "dora@example.com" in first
        second = client.get(self.page(workspace)).content.decode()
        assert "/invitations/inv_" not in second and "dora@example.com" in second

    def test_a_login_in_the_field_invites_that_user(self, client, workspace, alice, eve):
        client.force_login(alice)
        client.post(
            reverse("accounts:invitation_create", args=[workspace.pk]), {"invitee": "Eve", "role": "member", "days": 7}
        )
        assert Invitation.objects.get().login == "eve"

    def test_a_bad_invitation_re_renders_the_page_with_the_error(self, client, workspace, alice):
        client.force_login(alice)
        response = client.post(
            reverse("accounts:invitation_create", args=[workspace.pk]), {"invitee": "nope", "role": "member", "days": 7}
        )
        assert response.status_code == 400 and b"Enter a valid email address" in response.content
        assert not Invitation.objects.exists()

    @pytest.mark.parametrize("who, status", [("bob", 403), ("carol", 403), ("eve", 404)])
    def test_others_cannot_invite(self, client, workspace, who, status, request):
        client.force_login(request.getfixturevalue(who))
        response = client.post(
            reverse("accounts:invitation_create", args=[workspace.pk]),
            {"invitee": "x@example.com", "role": "owner", "days": 7},
        )
        assert response.status_code == status
        assert not Invitation.objects.exists()

    def test_members_do_not_see_the_invitations(self, client, workspace, alice, bob):
        invite(workspace, alice)
        client.force_login(bob)
        content = client.get(self.page(workspace)).content
        assert b"dora@example.com" not in content and b"Invite someone" not in content

    def test_an_owner_revokes_from_the_page(self, client, workspace, alice):
        invitation, _ = invite(workspace, alice)
        client.force_login(alice)
        response = client.post(reverse("accounts:invitation_revoke", args=[workspace.pk, invitation.pk]))
        assert response.status_code == 302
        invitation.refresh_from_db()
        assert invitation.status == "revoked"
        page = client.get(self.page(workspace)).content.decode()
        assert "is revoked" in page and "Pending invitations" not in page

    def test_a_member_cannot_revoke_from_the_page(self, client, workspace, alice, bob):
        invitation, _ = invite(workspace, alice)
        client.force_login(bob)
        assert client.post(reverse("accounts:invitation_revoke", args=[workspace.pk, invitation.pk])).status_code == 403
        invitation.refresh_from_db()
        assert invitation.status == "pending"


def test_staff_read_invitations_in_the_admin_but_never_change_them(client, staff, workspace, alice):
    invitation, secret = invite(workspace, alice)
    client.force_login(staff)
    listing = client.get("/admin/accounts/invitation/")
    assert listing.status_code == 200 and b"dora@example.com" in listing.content
    detail = client.get(f"/admin/accounts/invitation/{invitation.pk}/change/")
    assert detail.status_code == 200 and secret.encode() not in detail.content
    assert client.get("/admin/accounts/invitation/add/").status_code == 403
    client.post(f"/admin/accounts/invitation/{invitation.pk}/delete/", {"post": "yes"})
    assert Invitation.objects.filter(pk=invitation.pk).exists()
