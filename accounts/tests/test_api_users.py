"""`/api/v1/users/`: who sees which fields, who creates and edits whom, and deactivation."""

import pytest
from rest_framework.test import APIClient

from accounts.api.throttles import RegistrationThrottle
from accounts.models import User
from conftest import PASSWORD, make_user
from registry import services
from registry.models import MLModel, Role
from registry.tests.factories import upload

USERS_URL = "/api/v1/users/"
ME_URL = "/api/v1/users/me/"
NEW_PASSWORD = "a-new-and-longer-passphrase"

PUBLIC_FIELDS = {"id", "login", "full_name"}
OWN_FIELDS = PUBLIC_FIELDS | {"email", "updated", "created"}
STAFF_FIELDS = OWN_FIELDS | {"is_staff", "is_superuser", "is_active"}


def user_url(user) -> str:
    return f"{USERS_URL}{user.id}/"


def can_log_in(login: str, password: str = PASSWORD) -> bool:
    response = APIClient().post("/api/v1/auth/login/", {"login": login, "password": password}, format="json")
    return response.status_code == 200


def new_user(**fields) -> dict:
    return {"login": "dave", "password": NEW_PASSWORD, "full_name": "Dave", "email": "dave@example.com", **fields}


# --- Listing -------------------------------------------------------------------------------------


def test_anonymous_callers_cannot_list_users(api, alice):
    response = api.get(USERS_URL)

    assert response.status_code == 401
    assert "data" not in response.json()


def test_a_user_sees_others_as_id_login_and_full_name_only(api, alice, bob, workspace):
    response = api.as_user(alice).get(USERS_URL)

    assert response.status_code == 200
    by_login = {user["login"]: user for user in response.json()["data"]}
    assert by_login["bob"] == {"id": bob.id, "login": "bob", "full_name": "Bob"}


def test_a_user_sees_their_own_email_and_dates_in_the_list(api, alice, bob):
    response = api.as_user(alice).get(USERS_URL)

    mine = next(user for user in response.json()["data"] if user["id"] == alice.id)
    assert set(mine) == OWN_FIELDS
    assert mine["email"] == "alice@example.com"


def test_staff_see_everyones_email_and_flags(api, alice, staff):
    response = api.as_user(staff).get(USERS_URL)

    alices = next(user for user in response.json()["data"] if user["id"] == alice.id)
    assert set(alices) == STAFF_FIELDS
    assert alices["email"] == "alice@example.com"
    assert alices["is_staff"] is False


@pytest.mark.parametrize("viewer", ["alice", "staff"])
def test_the_password_never_appears(api, alice, staff, viewer):
    client = api.as_user({"alice": alice, "staff": staff}[viewer])

    for response in (client.get(USERS_URL), client.get(user_url(alice)), client.get(ME_URL)):
        assert "password" not in response.content.decode()
        assert alice.password not in response.content.decode()


def test_deactivated_users_are_not_listed(api, alice, bob, staff):
    bob.is_active = False
    bob.save()

    for viewer in (alice, staff):
        logins = [user["login"] for user in api.as_user(viewer).get(USERS_URL).json()["data"]]
        assert "bob" not in logins


def test_the_list_is_paged_in_the_envelope(api, alice, bob, carol, workspace):
    body = api.as_user(alice).get(USERS_URL, {"per_page": 2, "page": 2}).json()

    assert [user["login"] for user in body["data"]] == ["carol"]
    assert body["pagination"] == {
        "has_next": False,
        "has_prev": True,
        "page": 2,
        "per_page": 2,
        "total_pages": 2,
        "total_items": 3,
    }


@pytest.mark.parametrize("others", [1, 12])
def test_the_list_takes_a_fixed_number_of_queries(api, alice, others, django_assert_num_queries):
    space = services.workspace_create(user=alice, name="Crowd")
    for number in range(others):
        services.membership_set(workspace=space, actor=alice, user=make_user(f"user{number}"), role=Role.MEMBER)
    client = api.as_user(alice)

    # The JWT's user, the page count, the page.
    with django_assert_num_queries(3):
        response = client.get(USERS_URL)

    assert len(response.json()["data"]) == others + 1


@pytest.mark.parametrize(
    ("search", "expected"),
    [("ali", ["alice"]), ("ALI", ["alice"]), ("Bob", ["bob"]), ("o", ["bob", "carol"]), ("nobody", [])],
)
def test_search_matches_login_or_full_name_ignoring_case(api, alice, bob, carol, workspace, search, expected):
    response = api.as_user(alice).get(USERS_URL, {"search": search})

    assert [user["login"] for user in response.json()["data"]] == expected


def test_search_matches_the_full_name_where_the_login_does_not(api, alice, db):
    jane = User.objects.create_user("jdoe", PASSWORD, full_name="Jane Doe")
    space = services.workspace_create(user=alice, name="Crowd")
    services.membership_set(workspace=space, actor=alice, user=jane, role=Role.VIEWER)

    response = api.as_user(alice).get(USERS_URL, {"search": "jane"})

    assert [user["login"] for user in response.json()["data"]] == ["jdoe"]


# --- Reading one ---------------------------------------------------------------------------------


def test_anonymous_callers_cannot_read_a_user(api, alice):
    assert api.get(user_url(alice)).status_code == 401


def test_a_user_reads_another_user_as_id_login_and_full_name(api, alice, bob, workspace):
    response = api.as_user(alice).get(user_url(bob))

    assert response.status_code == 200
    assert response.json()["data"] == {"id": bob.id, "login": "bob", "full_name": "Bob"}


def test_a_user_reads_themselves_with_email_and_dates(api, alice):
    response = api.as_user(alice).get(user_url(alice))

    assert set(response.json()["data"]) == OWN_FIELDS


def test_staff_read_a_user_with_flags(api, alice, staff):
    response = api.as_user(staff).get(user_url(alice))

    assert set(response.json()["data"]) == STAFF_FIELDS


def test_an_unknown_user_answers_404(api, alice):
    response = api.as_user(alice).get(f"{USERS_URL}999999/")

    assert response.status_code == 404
    assert "data" not in response.json()


@pytest.mark.parametrize("viewer", ["alice", "staff"])
def test_a_deactivated_user_answers_404_to_everyone(api, alice, bob, staff, viewer):
    bob.is_active = False
    bob.save()

    assert api.as_user({"alice": alice, "staff": staff}[viewer]).get(user_url(bob)).status_code == 404


# --- Me --------------------------------------------------------------------------------------------


def test_me_answers_401_to_anonymous_callers(api, db):
    assert api.get(ME_URL).status_code == 401


def test_me_is_the_signed_in_user_with_email_and_dates(api, alice, bob):
    response = api.as_user(alice).get(ME_URL)

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == OWN_FIELDS
    assert (data["id"], data["login"], data["email"]) == (alice.id, "alice", "alice@example.com")


def test_me_shows_staff_their_flags(api, staff):
    data = api.as_user(staff).get(ME_URL).json()["data"]

    assert data["is_staff"] is True
    assert data["is_superuser"] is True


def test_me_is_not_paged_nor_filtered(api, alice):
    body = api.as_user(alice).get(ME_URL, {"search": "nobody"}).json()

    assert "pagination" not in body
    assert body["data"]["id"] == alice.id


# --- Creating --------------------------------------------------------------------------------------


def test_staff_create_a_user_who_can_then_log_in(api, staff):
    response = api.as_user(staff).post(USERS_URL, new_user(), format="json")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["login"] == "dave"
    assert data["email"] == "dave@example.com"
    assert "password" not in data
    assert can_log_in("dave", NEW_PASSWORD)


def test_staff_may_create_another_staff_member(api, staff):
    response = api.as_user(staff).post(USERS_URL, new_user(is_staff=True), format="json")

    assert response.status_code == 201
    assert User.objects.get(login="dave").is_staff is True


def test_non_staff_cannot_create_users(api, alice):
    response = api.as_user(alice).post(USERS_URL, new_user(), format="json")

    assert response.status_code == 403
    assert "data" not in response.json()
    assert not User.objects.filter(login="dave").exists()


def test_anonymous_callers_cannot_create_users_when_registration_is_closed(api, db, settings):
    settings.MAISIE_OPEN_REGISTRATION = False

    response = api.post(USERS_URL, new_user(), format="json")

    assert response.status_code == 401
    assert not User.objects.filter(login="dave").exists()


def test_anyone_may_sign_up_when_registration_is_open(api, db, settings):
    settings.MAISIE_OPEN_REGISTRATION = True

    response = api.post(USERS_URL, new_user(), format="json")

    assert response.status_code == 201, response.content
    assert can_log_in("dave", NEW_PASSWORD)


def test_open_sign_up_ignores_staff_only_fields(api, db, settings):
    settings.MAISIE_OPEN_REGISTRATION = True

    response = api.post(USERS_URL, new_user(is_staff=True, is_superuser=True, is_active=False), format="json")

    assert response.status_code == 201
    dave = User.objects.get(login="dave")
    assert (dave.is_staff, dave.is_superuser, dave.is_active) == (False, False, True)


def test_open_sign_up_is_throttled_per_address(api, db, settings):
    settings.MAISIE_OPEN_REGISTRATION = True
    allowed, _ = RegistrationThrottle().parse_rate(RegistrationThrottle().get_rate())

    for number in range(allowed):
        response = api.post(USERS_URL, new_user(login=f"user{number}"), format="json", REMOTE_ADDR="10.1.1.1")
        assert response.status_code == 201

    assert api.post(USERS_URL, new_user(), format="json", REMOTE_ADDR="10.1.1.1").status_code == 429
    assert api.post(USERS_URL, new_user(), format="json", REMOTE_ADDR="10.1.1.2").status_code == 201


def test_staff_creating_users_are_not_throttled(api, staff):
    allowed, _ = RegistrationThrottle().parse_rate(RegistrationThrottle().get_rate())
    client = api.as_user(staff)

    for number in range(allowed + 1):
        assert client.post(USERS_URL, new_user(login=f"user{number}"), format="json").status_code == 201
    assert User.objects.filter(login__startswith="user").count() == allowed + 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (new_user(login="alice"), "login"),
        (new_user(login="has space"), "login"),
        (new_user(login=""), "login"),
        (new_user(email="not-an-email"), "email"),
        ({"login": "dave"}, "password"),
    ],
    ids=["taken-login", "bad-characters", "empty-login", "bad-email", "no-password"],
)
def test_it_refuses_bad_input_with_per_field_errors(api, alice, staff, body, field):
    response = api.as_user(staff).post(USERS_URL, body, format="json")

    assert response.status_code == 400
    assert "data" not in response.json()
    assert field in response.json()["errors"]


@pytest.mark.parametrize("password", ["short", "password123", "12345678901"])
def test_it_refuses_a_weak_password(api, staff, password):
    response = api.as_user(staff).post(USERS_URL, new_user(password=password), format="json")

    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    assert not User.objects.filter(login="dave").exists()


def test_a_login_taken_by_a_deactivated_user_stays_taken(api, alice, staff):
    alice.is_active = False
    alice.save()

    response = api.as_user(staff).post(USERS_URL, new_user(login="alice"), format="json")

    assert response.status_code == 400
    assert User.objects.filter(login="alice").count() == 1


# --- Editing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_user_edits_their_own_full_name_and_email(api, alice, method):
    body = {"full_name": "Alice A.", "email": "a@example.org"}

    response = getattr(api.as_user(alice), method)(user_url(alice), body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["full_name"] == "Alice A."
    alice.refresh_from_db()
    assert (alice.full_name, alice.email) == ("Alice A.", "a@example.org")


def test_put_takes_only_the_fields_being_changed(api, alice):
    response = api.as_user(alice).put(user_url(alice), {"full_name": "Only This"}, format="json")

    assert response.status_code == 200
    alice.refresh_from_db()
    assert (alice.full_name, alice.email) == ("Only This", "alice@example.com")


def test_a_user_changes_their_password_with_the_old_one(api, alice):
    body = {"password": NEW_PASSWORD, "old_password": PASSWORD}

    response = api.as_user(alice).patch(user_url(alice), body, format="json")

    assert response.status_code == 200, response.content
    assert can_log_in("alice", NEW_PASSWORD)
    assert not can_log_in("alice", PASSWORD)


@pytest.mark.parametrize("old_password", ["wrong-old-password", None], ids=["wrong", "missing"])
def test_a_password_change_needs_the_right_old_password(api, alice, old_password):
    body = {"password": NEW_PASSWORD}
    if old_password is not None:
        body["old_password"] = old_password

    response = api.as_user(alice).patch(user_url(alice), body, format="json")

    assert response.status_code == 400
    assert "old_password" in response.json()["errors"]
    assert can_log_in("alice", PASSWORD)


def test_a_password_change_refuses_a_weak_new_password(api, alice):
    body = {"password": "short", "old_password": PASSWORD}

    response = api.as_user(alice).patch(user_url(alice), body, format="json")

    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    assert can_log_in("alice", PASSWORD)


def test_staff_reset_another_users_password_without_knowing_it(api, alice, staff):
    response = api.as_user(staff).patch(user_url(alice), {"password": NEW_PASSWORD}, format="json")

    assert response.status_code == 200
    assert can_log_in("alice", NEW_PASSWORD)


@pytest.mark.parametrize("field", ["is_staff", "is_superuser", "is_active"])
def test_a_user_cannot_set_staff_only_fields_on_themselves(api, alice, field):
    value = field != "is_active"  # the value that would grant something

    response = api.as_user(alice).patch(user_url(alice), {field: value}, format="json")

    assert response.status_code == 403
    assert "data" not in response.json()
    alice.refresh_from_db()
    assert (alice.is_staff, alice.is_superuser, alice.is_active) == (False, False, True)


def test_a_refused_edit_changes_nothing_else_in_the_same_request(api, alice):
    response = api.as_user(alice).patch(user_url(alice), {"full_name": "Root", "is_staff": True}, format="json")

    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.full_name == "Alice"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_user_cannot_edit_another_user(api, alice, bob, workspace, method):
    response = getattr(api.as_user(alice), method)(user_url(bob), {"full_name": "Bobby"}, format="json")

    assert response.status_code == 403
    bob.refresh_from_db()
    assert bob.full_name == "Bob"


def test_a_user_cannot_change_another_users_password(api, alice, bob, workspace):
    body = {"password": NEW_PASSWORD, "old_password": PASSWORD}

    response = api.as_user(alice).patch(user_url(bob), body, format="json")

    assert response.status_code == 403
    assert can_log_in("bob", PASSWORD)


def test_anonymous_callers_cannot_edit_users(api, alice):
    response = api.patch(user_url(alice), {"full_name": "Anon"}, format="json")

    assert response.status_code == 401
    alice.refresh_from_db()
    assert alice.full_name == "Alice"


def test_staff_edit_another_users_fields_and_flags(api, alice, staff):
    body = {"full_name": "Alice Admin", "is_staff": True}

    response = api.as_user(staff).patch(user_url(alice), body, format="json")

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert (alice.full_name, alice.is_staff) == ("Alice Admin", True)


def test_a_login_cannot_be_changed(api, alice, staff):
    response = api.as_user(staff).patch(user_url(alice), {"login": "alicia"}, format="json")

    assert response.status_code == 400
    assert "login" in response.json()["errors"]
    alice.refresh_from_db()
    assert alice.login == "alice"


def test_sending_the_same_login_back_is_accepted(api, alice):
    response = api.as_user(alice).put(user_url(alice), {"login": "alice", "full_name": "A"}, format="json")

    assert response.status_code == 200
    alice.refresh_from_db()
    assert (alice.login, alice.full_name) == ("alice", "A")


def test_an_edit_refuses_a_bad_email(api, alice):
    response = api.as_user(alice).patch(user_url(alice), {"email": "nope"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()["errors"]


# --- Deleting (deactivating) ------------------------------------------------------------------


def test_staff_delete_a_user_by_deactivating_them(api, bob, staff):
    response = api.as_user(staff).delete(user_url(bob))

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    bob.refresh_from_db()
    assert bob.is_active is False


def test_a_deleted_users_models_stay(api, project, bob, staff):
    model = upload(bob, project)

    api.as_user(staff).delete(user_url(bob))

    assert MLModel.objects.filter(pk=model.pk, uploader=bob).exists()


def test_a_deleted_user_vanishes_from_the_user_api(api, alice, bob, staff):
    api.as_user(staff).delete(user_url(bob))

    assert api.as_user(staff).get(user_url(bob)).status_code == 404
    assert api.as_user(alice).get(user_url(bob)).status_code == 404
    assert api.as_user(staff).delete(user_url(bob)).status_code == 404


def test_a_deleted_user_cannot_log_in(api, bob, staff):
    api.as_user(staff).delete(user_url(bob))

    assert not can_log_in("bob")


def test_non_staff_cannot_delete_users(api, alice, bob, workspace):
    response = api.as_user(alice).delete(user_url(bob))

    assert response.status_code == 403
    assert "data" not in response.json()
    bob.refresh_from_db()
    assert bob.is_active is True


def test_a_user_cannot_delete_themselves(api, alice):
    assert api.as_user(alice).delete(user_url(alice)).status_code == 403
    alice.refresh_from_db()
    assert alice.is_active is True


def test_staff_cannot_delete_their_own_account(api, staff):
    response = api.as_user(staff).delete(user_url(staff))

    assert response.status_code == 400
    staff.refresh_from_db()
    assert staff.is_active is True


def test_anonymous_callers_cannot_delete_users(api, bob):
    assert api.delete(user_url(bob)).status_code == 401
    bob.refresh_from_db()
    assert bob.is_active is True


def test_deleting_an_unknown_user_answers_404(api, staff):
    assert api.as_user(staff).delete(f"{USERS_URL}999999/").status_code == 404


# --- Superuser: only superusers grant it or touch a superuser's sign-in ---------------------------


@pytest.fixture
def manager(db):
    """Staff, but not superuser."""
    return make_user("manager", is_staff=True)


def test_staff_who_are_not_superusers_cannot_make_themselves_superuser(api, manager):
    response = api.as_user(manager).put(user_url(manager), {"is_superuser": True}, format="json")

    assert response.status_code == 403
    manager.refresh_from_db()
    assert manager.is_superuser is False


def test_staff_who_are_not_superusers_cannot_create_a_superuser(api, manager):
    response = api.as_user(manager).post(USERS_URL, new_user(is_staff=True, is_superuser=True), format="json")

    assert response.status_code == 403
    assert not User.objects.filter(login="dave").exists()


def test_staff_who_are_not_superusers_cannot_reset_a_superusers_password(api, manager, staff):
    response = api.as_user(manager).put(user_url(staff), {"password": NEW_PASSWORD}, format="json")

    assert response.status_code == 403
    assert can_log_in("root", PASSWORD) and not can_log_in("root", NEW_PASSWORD)


@pytest.mark.parametrize("change", [{"is_active": False}, {"is_staff": False}, {"is_superuser": False}])
def test_staff_who_are_not_superusers_cannot_change_a_superusers_flags(api, manager, staff, change):
    response = api.as_user(manager).put(user_url(staff), change, format="json")

    assert response.status_code == 403
    staff.refresh_from_db()
    assert staff.is_active and staff.is_staff and staff.is_superuser


def test_staff_who_are_not_superusers_cannot_deactivate_a_superuser(api, manager, staff):
    response = api.as_user(manager).delete(user_url(staff))

    assert response.status_code == 403
    staff.refresh_from_db()
    assert staff.is_active is True


def test_staff_who_are_not_superusers_still_manage_other_users(api, manager, alice):
    client = api.as_user(manager)

    assert client.put(user_url(alice), {"password": NEW_PASSWORD, "is_staff": True}, format="json").status_code == 200
    assert can_log_in("alice", NEW_PASSWORD)
    assert client.delete(user_url(alice)).status_code in (200, 204)


def test_superusers_grant_superuser_and_reset_a_superusers_password(api, manager, staff):
    client = api.as_user(staff)

    assert client.put(user_url(manager), {"is_superuser": True}, format="json").status_code == 200
    other_root = make_user("root2", is_staff=True, is_superuser=True)
    assert client.put(user_url(other_root), {"password": NEW_PASSWORD}, format="json").status_code == 200
    manager.refresh_from_db()
    assert manager.is_superuser and can_log_in("root2", NEW_PASSWORD)


# --- The directory: people who share a workspace, or named exactly --------------------------------


def test_a_user_lists_only_people_sharing_a_workspace(api, alice, bob, eve, workspace):
    logins = [user["login"] for user in api.as_user(eve).get(USERS_URL).json()["data"]]
    assert logins == ["eve"]

    logins = [user["login"] for user in api.as_user(bob).get(USERS_URL).json()["data"]]
    assert logins == ["alice", "bob", "carol"]


def test_a_user_cannot_read_someone_who_shares_no_workspace(api, alice, eve):
    response = api.as_user(eve).get(user_url(alice))

    assert response.status_code == 404


def test_search_does_not_reach_beyond_shared_workspaces(api, alice, eve):
    response = api.as_user(eve).get(USERS_URL, {"search": "a"})

    assert [user["login"] for user in response.json()["data"]] == []


@pytest.mark.parametrize("query", [{"login": "ALICE"}, {"email": "Alice@Example.com"}])
def test_an_exact_login_or_email_finds_someone_to_invite(api, alice, bob, eve, query):
    response = api.as_user(eve).get(USERS_URL, query)

    assert [user["login"] for user in response.json()["data"]] == ["alice"]
    assert set(response.json()["data"][0]) == PUBLIC_FIELDS


def test_staff_list_everyone(api, alice, eve, staff):
    logins = {user["login"] for user in api.as_user(staff).get(USERS_URL).json()["data"]}
    assert {"alice", "eve", "root"} <= logins


# --- Logins are unique in any case ----------------------------------------------------------------


def test_a_login_differing_only_by_case_is_refused(api, alice, staff):
    response = api.as_user(staff).post(USERS_URL, new_user(login="Alice"), format="json")

    assert response.status_code == 400
    assert "login" in response.json()["errors"]
    assert User.objects.count() == 2


def test_the_database_refuses_a_login_differing_only_by_case(alice):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("ALICE", PASSWORD)


def test_sign_in_takes_the_login_in_any_case(api, alice):
    response = APIClient().post("/api/v1/auth/login/", {"login": "ALICE", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["user"]["login"] == "alice"
