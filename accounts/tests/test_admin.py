"""/admin/: its sign-in counts against the same limits and lock as every other sign-in, and a
staff user who may change users cannot make themselves superuser or take one over."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.models import SshPublicKey, User
from accounts.tests.test_api_ssh import openssh
from conftest import PASSWORD, make_user

ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def login_limit(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_user": "3/min"},
    }
    return 3


def admin_sign_in(client, login, password):
    return client.post(ADMIN_LOGIN, {"username": login, "password": password, "next": "/admin/"})


class TestAdminSignIn:
    def test_it_signs_staff_in(self, client, staff):
        response = admin_sign_in(client, "root", PASSWORD)
        assert response.status_code == 302 and response["Location"] == "/admin/"
        assert client.session["_auth_user_id"] == str(staff.pk)

    def test_wrong_passwords_lock_the_login_so_the_right_one_is_refused(self, client, staff, login_limit):
        for _ in range(login_limit):
            assert admin_sign_in(client, "root", "guess").status_code == 200

        response = admin_sign_in(client, "root", PASSWORD)

        assert response.status_code == 429
        assert b"Too many sign-in attempts" in response.content
        assert "_auth_user_id" not in client.session

    def test_it_shares_the_lock_with_the_api_and_the_sign_in_page(self, client, staff, login_limit):
        api = Client()
        api.post("/api/v1/auth/login/", {"login": "root", "password": "guess"}, content_type="application/json")
        Client().post("/accounts/login/", {"username": "root", "password": "guess"})
        admin_sign_in(client, "ROOT", "guess")  # any case names the same login

        assert admin_sign_in(client, "root", PASSWORD).status_code == 429
        answer = api.post(
            "/api/v1/auth/login/", {"login": "root", "password": PASSWORD}, content_type="application/json"
        )
        assert answer.status_code == 429

    def test_a_right_password_does_not_count_as_a_failure(self, client, staff, login_limit):
        for _ in range(login_limit + 2):
            assert admin_sign_in(client, "root", PASSWORD).status_code == 302
            client.post("/admin/logout/")
        assert admin_sign_in(client, "root", PASSWORD).status_code == 302


@pytest.fixture
def manager(db):
    """Staff, not superuser, allowed to view and change users in the admin."""
    user = make_user("manager", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user", "delete_user"]))
    return user


@pytest.fixture
def admin_as(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def change_form(user, **changes) -> dict:
    data = {
        "login": user.login,
        "full_name": user.full_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "last_login_0": "",
        "last_login_1": "",
        **changes,
    }
    return {key: value for key, value in data.items() if value != ""}


class TestAdminStaffWhoAreNotSuperusers:
    def test_cannot_make_themselves_superuser(self, admin_as, manager):
        client = admin_as(manager)
        all_permissions = list(Permission.objects.values_list("pk", flat=True))

        client.post(
            f"/admin/accounts/user/{manager.pk}/change/",
            change_form(manager, is_superuser="on", user_permissions=all_permissions),
        )

        manager.refresh_from_db()
        assert manager.is_superuser is False
        assert manager.user_permissions.count() == 3

    def test_cannot_change_a_superusers_password_or_flags(self, admin_as, manager, staff):
        client = admin_as(manager)

        password_page = client.post(
            f"/admin/accounts/user/{staff.pk}/password/",
            {"password1": "a-Takeover-phrase-1", "password2": "a-Takeover-phrase-1", "usable_password": "true"},
        )
        client.post(f"/admin/accounts/user/{staff.pk}/change/", change_form(staff, is_active=""))
        client.post(f"/admin/accounts/user/{staff.pk}/delete/", {"post": "yes"})

        assert password_page.status_code == 403
        staff.refresh_from_db()
        assert staff.check_password(PASSWORD) and staff.is_active and staff.is_superuser

    def test_still_manage_other_users(self, admin_as, manager, alice):
        client = admin_as(manager)

        response = client.post(f"/admin/accounts/user/{alice.pk}/change/", change_form(alice, full_name="Alice B."))

        assert response.status_code == 302
        alice.refresh_from_db()
        assert alice.full_name == "Alice B."

    def test_cannot_give_a_group_permissions(self, admin_as, manager):
        manager.user_permissions.add(*Permission.objects.filter(codename__in=["add_group", "change_group"]))
        client = admin_as(User.objects.get(pk=manager.pk))

        client.post("/admin/auth/group/add/", {"name": "everything", "permissions": [1, 2, 3]})

        assert not Group.objects.exists()

    def test_no_one_adds_an_ssh_key_to_another_account(self, admin_as, staff, alice):
        from cryptography.hazmat.primitives.asymmetric import ed25519

        client = admin_as(staff)
        line = openssh(ed25519.Ed25519PrivateKey.generate())

        response = client.post(
            "/admin/accounts/sshpublickey/add/", {"user": alice.pk, "name": "mine", "public_key": line}
        )

        assert response.status_code == 403
        assert not SshPublicKey.objects.exists()


@pytest.fixture
def token_of(db):
    from accounts import services

    def make(user, **fields):
        return services.api_token_create(user=user, name="ci", read_only=True, **fields)[0]

    return make


@pytest.fixture
def token_manager(db):
    """Staff, not superuser, given every permission on API tokens and SSH keys."""
    user = make_user("tokenmanager", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", content_type__model__in=["apitoken", "sshpublickey"]
        )
    )
    return User.objects.get(pk=user.pk)


class TestCredentialsInTheAdmin:
    """A token's scope and expiry are its owner's choice: the admin shows credentials and revokes
    them, and changes nothing else, for staff and superusers alike."""

    @pytest.mark.parametrize("who", ["token_manager", "staff"])
    def test_no_one_lifts_a_tokens_read_only_flag_or_extends_its_expiry(self, request, admin_as, token_of, alice, who):
        from datetime import timedelta

        from django.utils import timezone

        expires = timezone.now() + timedelta(days=1)
        token = token_of(alice, expires=expires)
        client = admin_as(request.getfixturevalue(who))

        response = client.post(
            f"/admin/accounts/apitoken/{token.pk}/change/",
            {"name": "mine now", "expires_0": "2099-01-01", "expires_1": "00:00:00"},  # read_only unticked
        )

        assert response.status_code == 403
        token.refresh_from_db()
        assert (token.name, token.read_only, token.expires) == ("ci", True, expires)

    def test_the_token_page_shows_no_field_to_change(self, admin_as, token_of, staff, alice):
        token = token_of(alice)

        page = admin_as(staff).get(f"/admin/accounts/apitoken/{token.pk}/change/")

        assert page.status_code == 200
        assert b'name="read_only"' not in page.content and b'name="expires_0"' not in page.content
        assert b'name="_save"' not in page.content
        assert f"/admin/accounts/apitoken/{token.pk}/delete/".encode() in page.content

    def test_a_superuser_revokes_a_token(self, admin_as, token_of, staff, alice):
        token = token_of(alice)

        response = admin_as(staff).post(f"/admin/accounts/apitoken/{token.pk}/delete/", {"post": "yes"})

        assert response.status_code == 302
        assert not alice.api_tokens.exists()

    def test_staff_allowed_to_delete_tokens_revoke_a_users_but_not_a_superusers(
        self, admin_as, token_of, token_manager, staff, alice
    ):
        users, superusers = token_of(alice), token_of(staff)
        client = admin_as(token_manager)

        mine = client.post(f"/admin/accounts/apitoken/{users.pk}/delete/", {"post": "yes"})
        theirs = client.post(f"/admin/accounts/apitoken/{superusers.pk}/delete/", {"post": "yes"})
        in_bulk = client.post(
            "/admin/accounts/apitoken/",
            {"action": "delete_selected", "_selected_action": [superusers.pk], "post": "yes"},
        )

        assert mine.status_code == 302 and not alice.api_tokens.exists()
        assert theirs.status_code == 403 and in_bulk.status_code == 403
        assert staff.api_tokens.filter(pk=superusers.pk).exists()

    def test_no_one_renames_or_swaps_an_ssh_key(self, admin_as, staff, alice):
        from cryptography.hazmat.primitives.asymmetric import ed25519

        from accounts import services

        key = services.ssh_key_add(user=alice, name="laptop", public_key=openssh(ed25519.Ed25519PrivateKey.generate()))
        other = openssh(ed25519.Ed25519PrivateKey.generate())

        response = admin_as(staff).post(
            f"/admin/accounts/sshpublickey/{key.pk}/change/", {"name": "renamed", "public_key": other}
        )

        assert response.status_code == 403
        key.refresh_from_db()
        assert key.name == "laptop" and key.public_key != other

    def test_no_one_reopens_a_used_ssh_challenge(self, admin_as, staff):
        from accounts.models import SshChallenge

        challenge = SshChallenge.objects.issue("alice")
        challenge.consume()

        response = admin_as(staff).post(
            f"/admin/accounts/sshchallenge/{challenge.pk}/change/", {"used_0": "", "used_1": ""}
        )

        assert response.status_code == 403
        challenge.refresh_from_db()
        assert challenge.used is not None
