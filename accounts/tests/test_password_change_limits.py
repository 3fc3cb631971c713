"""Checking an old password is a sign-in: someone holding a session or a JWT cannot guess the
password behind it through a password change (the API's, the web page's, the admin's) faster
than the sign-in limits allow, nor past the login's lock.

A wrong old password counts as a failed sign-in of that login; once the limit is reached the
answer is 429 and no password is checked, not even the right one.
"""

import pytest
from django.test import Client

from conftest import PASSWORD, make_user

NEW_PASSWORD = "a-brand-new-long-phrase"
LIMIT = 3


@pytest.fixture(autouse=True)
def login_limit(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_user": f"{LIMIT}/min"},
    }


def password_is(user, password) -> bool:
    user.refresh_from_db()
    return user.check_password(password)


def api_sign_in(login, password):
    return Client().post("/api/v1/auth/login/", {"login": login, "password": password}, content_type="application/json")


class TestTheApi:
    def change(self, api, user, old_password):
        body = {"password": NEW_PASSWORD}
        if old_password is not None:
            body["old_password"] = old_password
        return api.patch(f"/api/v1/users/{user.pk}/", body, format="json")

    def test_wrong_old_passwords_lock_the_login_and_the_right_one_is_then_refused(self, api, alice):
        api.as_user(alice)
        answers = [self.change(api, alice, f"guess-{n}").status_code for n in range(LIMIT + 2)]

        assert answers == [400] * LIMIT + [429, 429]
        right = self.change(api, alice, PASSWORD)
        assert right.status_code == 429
        assert right.json()["status"] == "error" and "Too many" in right.json()["message"]
        assert "Retry-After" in right
        assert password_is(alice, PASSWORD)

    def test_the_lock_is_the_sign_in_lock(self, api, alice):
        api.as_user(alice)
        for n in range(LIMIT):
            self.change(api, alice, f"guess-{n}")

        assert api_sign_in("alice", PASSWORD).status_code == 429

    def test_failed_sign_ins_lock_the_password_change(self, api, alice):
        api.as_user(alice)
        for n in range(LIMIT):
            assert api_sign_in("ALICE", f"guess-{n}").status_code == 401

        assert self.change(api, alice, PASSWORD).status_code == 429
        assert password_is(alice, PASSWORD)

    def test_a_right_old_password_counts_no_failure(self, api, alice):
        current = PASSWORD
        for n in range(LIMIT + 2):
            # A changed password ends the JWTs issued before it: sign in with the new one.
            token = api_sign_in("alice", current).json()["data"]["access_token"]
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            body = {"password": f"{NEW_PASSWORD}-{n}", "old_password": current}
            assert api.patch(f"/api/v1/users/{alice.pk}/", body, format="json").status_code == 200
            current = body["password"]
        assert password_is(alice, current)

    def test_a_missing_old_password_is_no_guess(self, api, alice):
        api.as_user(alice)
        for _ in range(LIMIT + 2):
            assert self.change(api, alice, None).status_code == 400

        assert self.change(api, alice, PASSWORD).status_code == 200
        assert password_is(alice, NEW_PASSWORD)

    def test_staff_resetting_another_password_check_nothing_and_count_nothing(self, api, alice, staff):
        for n in range(LIMIT):
            api_sign_in("alice", f"guess-{n}")

        api.as_user(staff)
        response = api.patch(f"/api/v1/users/{alice.pk}/", {"password": NEW_PASSWORD}, format="json")

        assert response.status_code == 200
        assert password_is(alice, NEW_PASSWORD)


def web_change(client, old_password, url="/accounts/password_change/"):
    return client.post(
        url, {"old_password": old_password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )


class TestTheWebPage:
    def test_wrong_old_passwords_lock_the_login_and_the_right_one_is_then_refused(self, client, alice):
        client.force_login(alice)
        answers = [web_change(client, f"guess-{n}").status_code for n in range(LIMIT + 1)]

        assert answers == [200] * LIMIT + [429]
        right = web_change(client, PASSWORD)
        assert right.status_code == 429 and b"Too many sign-in attempts" in right.content
        assert password_is(alice, PASSWORD)
        assert api_sign_in("alice", PASSWORD).status_code == 429

    def test_the_right_old_password_still_changes_it(self, client, alice):
        client.force_login(alice)
        web_change(client, "guess")

        response = web_change(client, PASSWORD)

        assert response.status_code == 302 and response["Location"] == "/accounts/password_change/done/"
        assert password_is(alice, NEW_PASSWORD)


ADMIN_PASSWORD_CHANGE = "/admin/password_change/"


@pytest.fixture
def manager(db):
    return make_user("manager", is_staff=True)


class TestTheAdminPage:
    def test_wrong_old_passwords_lock_the_login_and_the_right_one_is_then_refused(self, client, manager):
        client.force_login(manager)
        answers = [web_change(client, f"guess-{n}", ADMIN_PASSWORD_CHANGE).status_code for n in range(LIMIT + 1)]

        assert answers == [200] * LIMIT + [429]
        right = web_change(client, PASSWORD, ADMIN_PASSWORD_CHANGE)
        assert right.status_code == 429 and b"Too many sign-in attempts" in right.content
        assert password_is(manager, PASSWORD)
        assert Client().post("/admin/login/", {"username": "manager", "password": PASSWORD}).status_code == 429

    def test_it_is_the_admins_page_and_changes_the_password(self, client, manager):
        client.force_login(manager)

        page = client.get(ADMIN_PASSWORD_CHANGE)
        done = web_change(client, PASSWORD, ADMIN_PASSWORD_CHANGE)

        assert page.status_code == 200 and b"Django administration" in page.content
        assert b'name="old_password"' in page.content
        assert done.status_code == 302 and done["Location"] == "/admin/password_change/done/"
        assert password_is(manager, NEW_PASSWORD)
        assert client.get("/admin/").status_code == 200  # the session survives its own change

    def test_it_is_for_staff_only(self, client, alice):
        client.force_login(alice)

        response = web_change(client, PASSWORD, ADMIN_PASSWORD_CHANGE)

        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
        assert password_is(alice, PASSWORD)
