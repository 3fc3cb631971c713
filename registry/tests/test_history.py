"""`as_of` (issue 14, History): aliases, references and a registered model's versions as they
stood at a time, answered from the event log through the full request stack, within what the
caller may see now. Times are taken between the changes, so each change's event is on one side.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (conftest.py).
"""

import io
from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from conftest import PASSWORD
from registry import history, services
from registry.models import MLModel
from registry.tests.assertions import assert_error
from registry.tests.factories import upload

URL = "/api/v1/registered-models/"
RESOLVE = "/api/v1/resolve/"
REF = "Vision/resnets/resnet"


def iso(when) -> str:
    return history.shown(when)


def moment():
    """Now, after every change made so far and before any made after."""
    return timezone.now()


def set_alias(model: MLModel, name: str, user):
    services.alias_set(registered_model=model.registered_model, name=name, version=model.version, user=user)


@pytest.fixture
def story(bob, project):
    """The history of resnet, with the moments between its changes:
    before: nothing; v1 uploaded; t1; @production set on v1; t2; v2 uploaded; t3;
    @production moved to v2, @staging set on v1; t4; @staging removed; t5; v3 uploaded; t6."""
    times = {"before": moment()}
    v1 = upload(bob, project, "resnet")
    times["t1"] = moment()
    set_alias(v1, "production", bob)
    times["t2"] = moment()
    v2 = upload(bob, project, "resnet")
    times["t3"] = moment()
    set_alias(v2, "production", bob)
    set_alias(v1, "staging", bob)
    times["t4"] = moment()
    services.alias_remove(registered_model=v1.registered_model, name="staging", user=bob)
    times["t5"] = moment()
    v3 = upload(bob, project, "resnet")
    times["t6"] = moment()
    return {"v1": v1, "v2": v2, "v3": v3, **times}


def aliases(api, user, model, when) -> dict[str, int]:
    response = api.as_user(user).get(f"{URL}{model.registered_model_id}/aliases/", {"as_of": iso(when)})
    assert response.status_code == 200, response.content
    return {row["name"]: row["version"] for row in response.json()["data"]}


def resolved(api, user, ref, when) -> dict:
    response = api.as_user(user).get(RESOLVE, {"ref": ref, "as_of": iso(when)})
    assert response.status_code == 200, response.content
    return response.json()["data"]


def versions(api, user, model, when=None) -> dict:
    params = {"as_of": iso(when)} if when is not None else {}
    response = api.as_user(user).get(f"{URL}{model.registered_model_id}/versions/", params)
    assert response.status_code == 200, response.content
    return response.json()


# ----------------------------------------------------------------------------- aliases


def test_the_alias_list_as_of_a_time_is_what_the_aliases_named_then(api, carol, story):
    v1 = story["v1"]

    assert aliases(api, carol, v1, story["before"]) == {}
    assert aliases(api, carol, v1, story["t1"]) == {}
    assert aliases(api, carol, v1, story["t2"]) == {"production": 1}
    assert aliases(api, carol, v1, story["t3"]) == {"production": 1}
    assert aliases(api, carol, v1, story["t4"]) == {"production": 2, "staging": 1}
    assert aliases(api, carol, v1, story["t5"]) == {"production": 2}
    assert aliases(api, carol, v1, moment() + timedelta(days=1)) == {"production": 2}


def test_an_alias_as_of_a_time_says_who_put_it_there_and_when(api, alice, bob, carol, story):
    v1, v2 = story["v1"], story["v2"]
    url = f"{URL}{v1.registered_model_id}/aliases/production/"

    then = api.as_user(carol).get(url, {"as_of": iso(story["t2"])}).json()["data"]
    now = api.as_user(carol).get(url).json()["data"]

    assert (then["version"], then["model_id"], then["set_by"]["login"]) == (1, v1.pk, "bob")
    assert story["t1"] <= timezone.datetime.fromisoformat(then["set_at"]) <= story["t2"]
    assert then["version_deleted"] is None
    assert then["_links"]["model"].endswith(f"/api/v1/models/{v1.pk}/")
    assert (now["version"], now["model_id"]) == (2, v2.pk)


def test_an_alias_that_did_not_exist_then_is_a_404_saying_so(api, carol, story):
    url = f"{URL}{story['v1'].registered_model_id}/aliases/staging/"

    for when in ("t1", "t5"):
        body = assert_error(api.as_user(carol).get(url, {"as_of": iso(story[when])}), 404)
        assert body["message"] == f"No alias 'staging' on this registered model as of {iso(story[when])}."
    assert api.as_user(carol).get(url, {"as_of": iso(story["t4"])}).json()["data"]["version"] == 1
    assert_error(api.as_user(carol).get(f"{URL}{story['v1'].registered_model_id}/aliases/Bad%00/"), 404)


def test_an_alias_on_a_version_deleted_since_says_when_it_was_deleted(api, bob, carol, story):
    v1, v1_id = story["v1"], story["v1"].pk
    services.model_delete(model=v1, user=bob)  # @production left it at t3
    deleted_at = moment()

    row = api.as_user(carol).get(f"{URL}{v1.registered_model_id}/aliases/", {"as_of": iso(story["t2"])}).json()
    (production,) = row["data"]
    assert (production["name"], production["version"], production["model_id"]) == ("production", 1, v1_id)
    assert story["t6"] <= timezone.datetime.fromisoformat(production["version_deleted"]) <= deleted_at


def test_an_alias_on_another_users_private_version_stays_hidden_as_of_any_time(api, alice, bob, carol, project):
    draft = upload(bob, project, "draft", private=True)
    set_alias(draft, "mine", bob)
    later = moment()

    assert aliases(api, bob, draft, later) == {"mine": 1}
    # Alice owns the workspace but may not see Bob's private version: the registered model is hidden too.
    assert_error(api.as_user(alice).get(f"{URL}{draft.registered_model_id}/aliases/", {"as_of": iso(later)}), 404)


def test_an_alias_once_on_a_version_made_private_since_is_hidden_from_others(api, bob, carol, story):
    services.model_update(model=story["v2"], user=bob, private=True)

    assert aliases(api, carol, story["v1"], story["t4"]) == {"staging": 1}
    assert aliases(api, bob, story["v1"], story["t4"]) == {"production": 2, "staging": 1}


def test_the_alias_list_as_of_a_time_takes_a_fixed_number_of_queries(api, bob, carol, story, django_assert_num_queries):
    for name in ("a", "b", "c", "d"):
        set_alias(story["v3"], name, bob)
    client, url = api.as_user(carol), f"{URL}{story['v1'].registered_model_id}/aliases/"

    # the user behind the JWT, the registered model, each alias's last event, whether their
    # versions exist and the user sees them, their actors
    with django_assert_num_queries(5):
        response = client.get(url, {"as_of": iso(moment())})

    assert len(response.json()["data"]) == 5


# ----------------------------------------------------------------------------- references


def test_resolving_an_alias_as_of_a_time_takes_a_fixed_number_of_queries(
    api, bob, carol, story, django_assert_num_queries
):
    for n in range(3):
        set_alias(story["v1" if n % 2 else "v3"], "production", bob)
    client, params = api.as_user(carol), {"ref": f"{REF}@production", "as_of": iso(story["t4"])}

    # the user behind the JWT, the registered model, the alias's last event then, its version,
    # the version's tags and aliases
    with django_assert_num_queries(6):
        response = client.get(RESOLVE, params)

    assert response.json()["data"]["id"] == story["v2"].pk


def test_resolving_an_alias_as_of_a_time_gives_the_version_it_named_then(api, carol, story):
    assert resolved(api, carol, f"{REF}@production", story["t2"])["id"] == story["v1"].pk
    assert resolved(api, carol, f"{REF}@production", story["t4"])["id"] == story["v2"].pk
    assert resolved(api, carol, f"{REF}@staging", story["t4"])["id"] == story["v1"].pk


def test_an_alias_unknown_then_is_a_400_on_ref(api, carol, story):
    response = api.as_user(carol).get(RESOLVE, {"ref": f"{REF}@staging", "as_of": iso(story["t5"])})

    body = assert_error(response, 400)
    assert body["errors"]["ref"] == [f"resnet had no alias 'staging' as of {iso(story['t5'])}."]


def test_resolving_a_number_as_of_a_time_takes_a_fixed_number_of_queries(api, carol, story, django_assert_num_queries):
    client, params = api.as_user(carol), {"ref": f"{REF}:2", "as_of": iso(story["t6"])}

    # the user behind the JWT, the registered model, what arrived as version 2 by then, that
    # version if the user sees it, its tags and aliases
    with django_assert_num_queries(6):
        response = client.get(RESOLVE, params)

    assert response.json()["data"]["id"] == story["v2"].pk


def test_resolving_a_version_number_as_of_a_time_needs_the_version_to_exist_then(api, carol, story):
    assert resolved(api, carol, f"{REF}:2", story["t3"])["id"] == story["v2"].pk

    body = assert_error(api.as_user(carol).get(RESOLVE, {"ref": f"{REF}:2", "as_of": iso(story["t2"])}), 404)
    assert body["message"] == f"resnet had no version 2 that you can see as of {iso(story['t2'])}."


def test_resolving_the_bare_name_as_of_a_time_gives_the_latest_version_then(api, carol, story):
    assert resolved(api, carol, REF, story["t1"])["id"] == story["v1"].pk
    assert resolved(api, carol, REF, story["t5"])["id"] == story["v2"].pk
    assert resolved(api, carol, REF, story["t6"])["id"] == story["v3"].pk

    body = assert_error(api.as_user(carol).get(RESOLVE, {"ref": REF, "as_of": iso(story["before"])}), 404)
    assert body["message"] == f"resnet had no version that you can see as of {iso(story['before'])}."


def test_a_version_deleted_since_is_a_404_saying_when(api, bob, carol, story):
    services.model_delete(model=story["v3"], user=bob)
    services.alias_remove(registered_model=story["v1"].registered_model, name="production", user=bob)
    services.model_delete(model=story["v2"], user=bob)
    client = api.as_user(carol)

    for ref in (f"{REF}:2", f"{REF}@production", REF):
        body = assert_error(client.get(RESOLVE, {"ref": ref, "as_of": iso(story["t4"])}), 404)
        assert body["message"].startswith("resnet version 2, "), ref
        assert " was deleted on " in body["message"]
    assert resolved(api, carol, f"{REF}:1", story["t4"])["id"] == story["v1"].pk


def test_a_version_hidden_now_is_answered_as_one_that_never_was(api, alice, bob, carol, project, story):
    secret = upload(bob, project, "resnet", private=True)  # v4
    later = moment()
    services.model_delete(model=story["v3"], user=bob)

    assert resolved(api, bob, REF, later)["id"] == secret.pk
    # Carol's latest then is v2: v4 is hidden from her, and v3 was deleted since (said plainly).
    body = assert_error(api.as_user(carol).get(RESOLVE, {"ref": REF, "as_of": iso(later)}), 404)
    assert body["message"].startswith("resnet version 3, the latest as of ")
    body = assert_error(api.as_user(carol).get(RESOLVE, {"ref": f"{REF}:4", "as_of": iso(later)}), 404)
    assert body["message"] == f"resnet had no version 4 that you can see as of {iso(later)}."


def test_a_private_version_deleted_since_stays_unknown_to_others(api, bob, carol, project, story):
    secret = upload(bob, project, "resnet", private=True)  # v4
    later = moment()
    services.model_delete(model=secret, user=bob)

    body = assert_error(api.as_user(bob).get(RESOLVE, {"ref": f"{REF}:4", "as_of": iso(later)}), 404)
    assert " was deleted on " in body["message"]
    body = assert_error(api.as_user(carol).get(RESOLVE, {"ref": f"{REF}:4", "as_of": iso(later)}), 404)
    assert body["message"] == f"resnet had no version 4 that you can see as of {iso(later)}."


def test_a_version_renamed_since_is_answered_as_it_is_now(api, bob, carol, story):
    services.model_update(model=story["v3"], user=bob, name="resnet-small")

    model = resolved(api, carol, f"{REF}:3", story["t6"])

    assert (model["id"], model["name"], model["version"]) == (story["v3"].pk, "resnet-small", 1)
    assert resolved(api, carol, REF, moment())["id"] == story["v2"].pk


def test_an_outsider_and_an_unknown_model_get_404s_before_any_history(api, eve, carol, story):
    assert_error(api.as_user(eve).get(RESOLVE, {"ref": f"{REF}@production", "as_of": iso(story["t2"])}), 404)
    body = assert_error(api.as_user(carol).get(RESOLVE, {"ref": "Vision/resnets/vgg", "as_of": iso(story["t2"])}), 404)
    assert body["message"] == "No model 'vgg' in project 'resnets' that you can see."


def test_versions_from_before_the_event_log_count_from_their_upload(api, db):
    call_command("seed_models", models=3, projects=1, password=PASSWORD, stdout=io.StringIO())
    seeded = MLModel.objects.order_by("created", "id")
    first = seeded[0]
    ref = f"{first.project.workspace.name}/{first.project.name}/{first.name}"
    owner = User.objects.get(login="seed")

    assert resolved(api, owner, ref, first.created + timedelta(seconds=1))["id"] == first.pk
    response = api.as_user(owner).get(RESOLVE, {"ref": ref, "as_of": iso(first.created - timedelta(seconds=1))})
    assert_error(response, 404)


# ----------------------------------------------------------------------------- versions


def test_the_versions_list_answers_the_versions_as_the_models_api_does(api, bob, carol, project, story):
    upload(bob, project, "resnet", private=True)  # v4, Bob's

    body = versions(api, carol, story["v1"])

    assert [row["version"] for row in body["data"]] == [3, 2, 1]
    assert body["data"][0] == api.as_user(carol).get(f"/api/v1/models/{story['v3'].pk}/").json()["data"]
    assert body["pagination"]["total_items"] == 3
    assert [row["version"] for row in versions(api, bob, story["v1"])["data"]] == [4, 3, 2, 1]


def test_the_versions_list_pages(api, carol, story):
    url = f"{URL}{story['v1'].registered_model_id}/versions/"

    body = api.as_user(carol).get(url, {"per_page": 2, "page": 2}).json()

    assert [row["version"] for row in body["data"]] == [1]
    assert body["pagination"]["total_pages"] == 2


def test_the_versions_list_as_of_a_time_lists_those_held_then_and_those_deleted_since(api, bob, carol, story):
    v2_id, v3_id = story["v2"].pk, story["v3"].pk
    services.model_delete(model=story["v3"], user=bob)
    services.alias_remove(registered_model=story["v1"].registered_model, name="production", user=bob)
    services.model_delete(model=story["v2"], user=bob)

    at_t1, at_t6 = (versions(api, carol, story["v1"], story[t]) for t in ("t1", "t6"))

    assert [row["id"] for row in at_t1["data"]] == [story["v1"].pk] and at_t1["deleted"] == []
    assert [row["id"] for row in at_t6["data"]] == [story["v1"].pk]
    assert [(row["version"], row["model_id"]) for row in at_t6["deleted"]] == [(3, v3_id), (2, v2_id)]
    assert at_t6["as_of"] == iso(story["t6"])
    assert at_t6["pagination"]["total_items"] == 1
    assert [row["version"] for row in versions(api, carol, story["v1"])["data"]] == [1]


def test_the_versions_list_hides_other_peoples_private_versions_then_too(api, bob, carol, project, story):
    upload(bob, project, "resnet", private=True)
    later = moment()

    assert [row["version"] for row in versions(api, carol, story["v1"], later)["data"]] == [3, 2, 1]
    assert [row["version"] for row in versions(api, bob, story["v1"], later)["data"]] == [4, 3, 2, 1]


def test_a_registered_model_no_one_may_see_is_a_404(api, eve, story):
    response = api.as_user(eve).get(f"{URL}{story['v1'].registered_model_id}/versions/", {"as_of": iso(story["t6"])})

    assert_error(response, 404)


# ----------------------------------------------------------------------------- the time


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2025-13-01T00:00:00Z", "2025-03-04", "1741096920", "2025-03-04T14:02:00+25:00", "\x00"],
)
def test_an_as_of_that_is_not_a_time_is_a_400_naming_as_of(api, carol, story, text):
    registered = story["v1"].registered_model_id
    for url, params in [
        (f"{URL}{registered}/aliases/", {}),
        (f"{URL}{registered}/aliases/production/", {}),
        (f"{URL}{registered}/versions/", {}),
        (RESOLVE, {"ref": f"{REF}@production"}),
    ]:
        body = assert_error(api.as_user(carol).get(url, {**params, "as_of": text}), 400)
        assert list(body["errors"]) == ["as_of"], url


def test_offsets_name_the_same_instant_and_a_time_without_one_is_utc(api, carol, story):
    utc = story["t2"].astimezone(UTC)
    spellings = [
        utc.isoformat().replace("+00:00", "Z"),
        utc.astimezone(timezone.get_fixed_timezone(120)).isoformat(),
        utc.replace(tzinfo=None).isoformat(),
        utc.replace(tzinfo=None).isoformat(sep=" "),
    ]
    for text in spellings:
        response = api.as_user(carol).get(RESOLVE, {"ref": f"{REF}@production", "as_of": text})
        assert response.json()["data"]["id"] == story["v1"].pk, text
