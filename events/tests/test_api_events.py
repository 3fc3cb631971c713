"""GET /api/v1/events/: who sees which events, the filters, order, pages and their cost."""

import pytest
from django.utils import timezone

from accounts import services as account_services
from events.models import Event
from registry import services
from registry.models import Role
from registry.tests.assertions import assert_error
from registry.tests.factories import upload

URL = "/api/v1/events/"


def _listed(client, **params) -> list[dict]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()["data"]


def _kinds(client, **params) -> list[str]:
    return [event["kind"] for event in _listed(client, **params)]


# ----------------------------------------------------------------------------- shape


def test_an_event_reads_as_documented(api, alice, workspace):
    event = Event.objects.get(kind="workspace.created")

    data = api.as_user(alice).get(f"{URL}{event.pk}/").json()["data"]

    assert data == {
        "id": event.pk,
        "time": data["time"],
        "kind": "workspace.created",
        "actor": {"id": alice.pk, "login": "alice"},
        "api_token_id": None,
        "request_id": "",
        "subject": {"type": "workspace", "id": workspace.pk, "name": "Vision"},
        "workspace_id": workspace.pk,
        "project_id": None,
        "registered_model_id": None,
        "model_id": None,
        "before": None,
        "after": {"name": "Vision", "description": "image models"},
    }


def test_it_lists_newest_first_in_pages(api, alice, workspace):
    for name in ("a", "b", "c"):
        services.project_create(user=alice, workspace=workspace, name=name)

    body = api.as_user(alice).get(URL, {"kind": "project", "per_page": 2}).json()

    assert [event["subject"]["name"] for event in body["data"]] == ["c", "b"]
    assert body["pagination"]["total_items"] == 3
    assert body["pagination"]["has_next"] is True


def test_it_refuses_anonymous_callers(api, workspace):
    assert_error(api.get(URL), 401)


@pytest.mark.parametrize("rows", [3, 30])
def test_listing_events_takes_a_fixed_number_of_queries(api, alice, workspace, rows, django_assert_num_queries):
    for i in range(rows):
        services.project_create(user=alice, workspace=workspace, name=f"p{i}")
    upload(alice, services.project_create(user=alice, workspace=workspace, name="models"))
    client = api.as_user(alice)

    # the user behind the JWT, the ids of the newest events up to the count's cap (their number
    # is the total, and the page is cut from them), the page's rows
    with django_assert_num_queries(3):
        response = client.get(URL)

    assert len(response.json()["data"]) == min(20, rows + 7)
    assert response.json()["pagination"]["total_items"] == rows + 7


# ----------------------------------------------------------------------------- who sees what


def test_an_outsider_sees_no_event_of_the_workspace(api, eve, workspace, project, bob):
    upload(bob, project)

    assert _listed(api.as_user(eve)) == []
    assert _listed(api.as_user(eve), workspace=workspace.pk) == []
    event = Event.objects.get(kind="model.created")
    assert_error(api.as_user(eve).get(f"{URL}{event.pk}/"), 404)


def test_members_and_viewers_see_the_workspaces_events(api, bob, carol, workspace, project, alice):
    upload(alice, project)

    for user in (bob, carol):
        kinds = _kinds(api.as_user(user))
        assert {"workspace.created", "project.created", "model.created"} <= set(kinds)


def test_a_member_does_not_see_events_of_another_users_private_model(api, alice, bob, project):
    secret = upload(alice, project, name="secret-plan", private=True)
    services.model_update(model=secret, user=alice, metrics={"f1": 0.5})

    listed = _listed(api.as_user(bob), kind="model")

    assert listed == []
    assert "secret-plan" not in api.as_user(bob).get(URL).content.decode()
    assert_error(api.as_user(bob).get(f"{URL}{Event.objects.filter(model_id=secret.pk).first().pk}/"), 404)
    assert sorted(_kinds(api.as_user(alice), model=secret.pk)) == [
        "model.created",
        "model.updated",
        "registered_model.created",
    ]


def test_a_model_made_private_hides_its_earlier_events_too(api, alice, bob, project):
    model = upload(alice, project, name="was-public")
    assert _kinds(api.as_user(bob), model=model.pk) == ["model.created", "registered_model.created"]

    services.model_update(model=model, user=alice, private=True)

    assert _listed(api.as_user(bob), model=model.pk) == []
    assert _kinds(api.as_user(alice), model=model.pk) == [
        "model.visibility_changed",
        "model.created",
        "registered_model.created",
    ]


def test_a_deleted_private_model_stays_hidden_and_a_deleted_public_one_stays_visible(api, alice, bob, project):
    hidden = upload(alice, project, name="hidden", private=True)
    shown = upload(alice, project, name="shown")
    hidden_id, shown_id = hidden.pk, shown.pk
    services.model_delete(model=hidden, user=alice)
    services.model_delete(model=shown, user=alice)

    assert _listed(api.as_user(bob), model=hidden_id) == []
    # registered_model.created takes its first version's visibility, as that version's last event left it.
    assert _kinds(api.as_user(bob), model=shown_id) == ["model.deleted", "model.created", "registered_model.created"]
    assert _kinds(api.as_user(alice), model=hidden_id) == ["model.deleted", "model.created", "registered_model.created"]


def test_staff_see_every_event(api, staff, alice, project):
    secret = upload(alice, project, name="secret-plan", private=True)

    assert _kinds(api.as_user(staff), model=secret.pk) == ["model.created", "registered_model.created"]


def test_only_owners_see_membership_events(api, alice, bob, carol, staff, workspace):
    assert "membership.added" not in _kinds(api.as_user(bob))
    assert "membership.added" not in _kinds(api.as_user(carol))
    assert _kinds(api.as_user(alice), kind="membership").count("membership.added") == 3  # alice, bob, carol
    assert _kinds(api.as_user(staff), kind="membership").count("membership.added") == 3


def test_a_user_sees_their_own_token_events(api, bob, eve):
    token, _ = account_services.api_token_create(user=bob, name="ci")
    account_services.api_token_revoke(token=token, user=bob)

    assert _kinds(api.as_user(bob), kind="token") == ["token.revoked", "token.created"]
    assert _listed(api.as_user(eve), kind="token") == []


def test_owners_see_the_token_events_of_their_workspaces_members(api, alice, bob, carol, workspace, eve):
    account_services.api_token_create(user=bob, name="ci")
    account_services.api_token_create(user=eve, name="eves")  # not a member: not alice's business

    assert [event["subject"]["name"] for event in _listed(api.as_user(alice), kind="token")] == ["ci"]
    assert _listed(api.as_user(carol), kind="token") == []  # a viewer


def test_a_deleted_workspaces_events_are_read_by_staff_only(api, alice, staff, workspace):
    workspace_id = workspace.pk
    services.workspace_delete(workspace=workspace, user=alice)

    assert _listed(api.as_user(alice), workspace=workspace_id) == []
    assert "workspace.deleted" in _kinds(api.as_user(staff), workspace=workspace_id)


def test_a_removed_member_no_longer_sees_the_workspaces_events(api, alice, bob, workspace):
    assert _listed(api.as_user(bob), workspace=workspace.pk)

    services.membership_remove(workspace=workspace, actor=alice, user=bob)

    assert _listed(api.as_user(bob), workspace=workspace.pk) == []


# ----------------------------------------------------------------------------- filters


@pytest.fixture
def two_projects(alice, bob, workspace):
    first = services.project_create(user=alice, workspace=workspace, name="first")
    second = services.project_create(user=bob, workspace=workspace, name="second")
    return first, second


def test_it_filters_by_workspace(api, alice, two_projects, workspace):
    other = services.workspace_create(user=alice, name="Audio")

    listed = _listed(api.as_user(alice), workspace=other.pk)

    assert {event["workspace_id"] for event in listed} == {other.pk}
    assert {event["workspace_id"] for event in _listed(api.as_user(alice), workspace=workspace.pk)} == {workspace.pk}


@pytest.mark.parametrize("param", ["workspace", "project", "registered_model", "model", "actor"])
def test_an_id_past_64_bits_matches_nothing(api, alice, two_projects, param):
    # Django knows such a filter matches nothing and writes no SQL for it (EmptyResultSet): the
    # page with its count is then empty, not a 500 (found by ci/fuzz_api.py).
    response = api.as_user(alice).get("/api/v1/events/", {param: str(10**30)})

    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        body = response.json()
        assert body["data"] == []
        assert body["pagination"]["total_items"] == 0


def test_it_filters_by_project(api, alice, two_projects):
    first, second = two_projects
    upload(alice, first)

    assert _kinds(api.as_user(alice), project=first.pk) == [
        "model.created",
        "registered_model.created",
        "project.created",
    ]
    assert {event["project_id"] for event in _listed(api.as_user(alice), project=f"{first.pk},{second.pk}")} == {
        first.pk,
        second.pk,
    }


def test_it_filters_by_model(api, alice, two_projects):
    first, _ = two_projects
    one, other = upload(alice, first, name="one"), upload(alice, first, name="other")
    services.model_update(model=one, user=alice, private=True)

    assert _kinds(api.as_user(alice), model=one.pk, kind="model") == ["model.visibility_changed", "model.created"]
    assert _kinds(api.as_user(alice), model=other.pk, kind="model") == ["model.created"]


def test_it_filters_by_registered_model(api, alice, two_projects):
    first, _ = two_projects
    model = upload(alice, first, name="one")
    registered_id = getattr(model, "registered_model_id", None)
    if registered_id is None:
        pytest.skip("registered models are not in this tree yet")

    assert _kinds(api.as_user(alice), registered_model=registered_id) == ["model.created", "registered_model.created"]


def test_it_filters_by_actor(api, alice, bob, two_projects):
    listed = _listed(api.as_user(alice), actor=bob.pk, kind="project")

    assert [(event["actor"]["login"], event["subject"]["name"]) for event in listed] == [("bob", "second")]


@pytest.mark.parametrize("kind", ["project", "project.*"])
def test_it_filters_by_a_family_of_kinds(api, alice, alice_renames, kind):
    assert _kinds(api.as_user(alice), kind=kind) == ["project.renamed", "project.created"]


@pytest.fixture
def alice_renames(alice, workspace):
    project = services.project_create(user=alice, workspace=workspace, name="old")
    services.project_update(project=project, user=alice, name="new")


def test_it_filters_by_one_kind_or_several(api, alice, alice_renames):
    assert _kinds(api.as_user(alice), kind="project.renamed") == ["project.renamed"]
    assert _kinds(api.as_user(alice), kind="project.renamed,workspace") == ["project.renamed", "workspace.created"]


def test_an_unknown_kind_is_a_400_naming_it(api, alice, workspace):
    body = assert_error(api.as_user(alice).get(URL, {"kind": "model.painted"}), 400)

    assert "model.painted" in body["errors"]["kind"][0]


@pytest.mark.parametrize("kind", ["%", "%s%d", "model.%(x)s"])
def test_a_percent_in_an_unknown_kind_is_quoted_not_formatted(api, alice, workspace, kind):
    # django-filter %-formats every error message: the kind was a 500 (found by ci/fuzz_api.py).
    body = assert_error(api.as_user(alice).get(URL, {"kind": kind}), 400)

    assert repr(kind) in body["errors"]["kind"][0]


def test_it_filters_by_time(api, alice, workspace):
    middle = timezone.now()
    services.project_create(user=alice, workspace=workspace, name="later")
    client = api.as_user(alice)

    assert _kinds(client, since=middle.isoformat()) == ["project.created"]
    assert "project.created" not in _kinds(client, until=middle.isoformat())
    assert _listed(client, since=middle.isoformat(), until=middle.isoformat()) == []


@pytest.mark.parametrize("param", ["since", "until"])
def test_a_bad_time_is_a_400_saying_so(api, alice, workspace, param):
    body = assert_error(api.as_user(alice).get(URL, {param: "last tuesday"}), 400)

    assert "ISO 8601" in body["errors"][param][0]


def test_an_offset_postgresql_refuses_is_read_in_utc(api, alice, workspace):
    # -19:09 is a valid offset to Python, not to PostgreSQL: it was a 500 (found by ci/fuzz_api.py).
    client = api.as_user(alice)

    assert "workspace.created" in _kinds(client, since="0307-12-07T12:44:23.180-19:09")
    assert _kinds(client, since="9000-01-01T00:00:00-19:09") == []


@pytest.mark.parametrize("param", ["since", "until"])
def test_a_time_utc_cannot_hold_is_a_400(api, alice, workspace, param):
    body = assert_error(api.as_user(alice).get(URL, {param: "0001-01-01T00:00:00+01:00"}), 400)

    assert "ISO 8601" in body["errors"][param][0]


def test_a_bad_id_is_a_400(api, alice, workspace):
    body = assert_error(api.as_user(alice).get(URL, {"workspace": "vision"}), 400)

    assert "workspace" in body["errors"]


def test_the_role_rule_reads_the_current_role(api, alice, bob, workspace):
    services.membership_set(workspace=workspace, actor=alice, user=bob, role=Role.OWNER)

    assert "membership.role_changed" in _kinds(api.as_user(bob), kind="membership")


# ----------------------------------------------------------------------------- pages past the count


@pytest.fixture
def cap_of_three(monkeypatch):
    from events import pagination

    monkeypatch.setattr(pagination, "COUNT_CAP", 3)


def test_the_total_is_exact_up_to_the_cap_and_says_so(api, alice, workspace, cap_of_three):
    services.project_create(user=alice, workspace=workspace, name="a")

    body = api.as_user(alice).get(URL, {"kind": "project"}).json()

    assert body["pagination"]["total_items"] == 1
    assert body["pagination"]["total_capped"] is False


def test_past_the_cap_the_total_says_it_is_capped_and_every_page_stays_reachable(api, alice, workspace, cap_of_three):
    for name in ("a", "b", "c", "d", "e"):
        services.project_create(user=alice, workspace=workspace, name=name)
    client = api.as_user(alice)

    pages = [client.get(URL, {"kind": "project", "per_page": 2, "page": n}).json() for n in (1, 2, 3)]

    assert [[event["subject"]["name"] for event in page["data"]] for page in pages] == [["e", "d"], ["c", "b"], ["a"]]
    assert [page["pagination"]["has_next"] for page in pages] == [True, True, False]
    assert [page["pagination"]["has_prev"] for page in pages] == [False, True, True]
    assert {(page["pagination"]["total_items"], page["pagination"]["total_capped"]) for page in pages} == {(3, True)}
    assert_error(client.get(URL, {"kind": "project", "per_page": 2, "page": 4}), 404)
