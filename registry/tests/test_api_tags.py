"""/api/v1/tags/ through the whole request stack.

Tags belong to a workspace. Alice owns Vision, Bob is a member, Carol a viewer; Eve owns Audio
and is in nothing of Vision's. Members see their workspaces' tags, except a tag that only other
people's private models carry; owners and members create, describe and rename them; owners
delete any, a member one that only their own models carry; viewers read; outsiders get 404.
"""

import pytest

from conftest import make_user
from registry import services
from registry.models import MLModel, Tag
from registry.tests.assertions import assert_error
from registry.tests.factories import upload

URL = "/api/v1/tags/"
VISION = ["alice", "bob", "carol"]
WRITERS = ["alice", "bob"]


def detail(tag) -> str:
    return f"{URL}{tag.pk}/"


def shape(tag) -> dict:
    return {"id": tag.pk, "name": tag.name, "description": tag.description, "workspace_id": tag.workspace_id}


@pytest.fixture
def cnn(workspace):
    return Tag.objects.create(workspace=workspace, name="cnn", description="convolutional")


@pytest.fixture
def best(workspace):
    return Tag.objects.create(workspace=workspace, name="best")


@pytest.fixture
def audio(eve):
    return services.workspace_create(user=eve, name="Audio")


@pytest.fixture
def secret(audio):
    """Audio's tag, whose name says what Audio is working on."""
    return Tag.objects.create(workspace=audio, name="project-nightingale", description="the acquisition")


# ----------------------------------------------------------------------------- list


@pytest.mark.parametrize("who", VISION)
def test_members_list_their_workspaces_tags_by_name(api, cnn, best, secret, who, request):
    response = api.as_user(request.getfixturevalue(who)).get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["data"] == [shape(best), shape(cnn)]
    assert body["pagination"] == {
        "has_next": False,
        "has_prev": False,
        "page": 1,
        "per_page": 20,
        "total_pages": 1,
        "total_items": 2,
    }


def test_a_user_of_another_workspace_sees_none_of_its_tags(api, project, alice, cnn, best, secret, eve):
    upload(alice, project, tags=["cnn", "best", "public-model-tag"])

    response = api.as_user(eve).get(URL)

    assert response.status_code == 200, response.content
    assert response.json()["data"] == [shape(secret)]
    for name in ("cnn", "best", "public-model-tag", "convolutional"):
        assert name not in response.content.decode()


def test_the_other_workspace_sees_none_of_ours_either(api, cnn, secret, alice):
    body = api.as_user(alice).get(URL).json()

    assert [tag["name"] for tag in body["data"]] == ["cnn"]
    assert "nightingale" not in str(body)


def test_a_user_in_no_workspace_lists_no_tags(api, cnn, secret):
    body = api.as_user(make_user("nobody")).get(URL).json()

    assert body["data"] == []
    assert body["pagination"]["total_items"] == 0


def test_staff_list_every_workspaces_tags_ordered_by_name_then_id(api, cnn, secret, audio, staff):
    audio_cnn = Tag.objects.create(workspace=audio, name="cnn")

    body = api.as_user(staff).get(URL).json()

    assert body["data"] == [shape(cnn), shape(audio_cnn), shape(secret)]


def test_the_workspace_filter_narrows_the_list(api, cnn, best, secret, audio, workspace, staff, alice):
    services.membership_set(workspace=audio, actor=audio.memberships.get().user, user=alice, role="viewer")
    client = api.as_user(alice)

    assert [t["name"] for t in client.get(URL, {"workspace": workspace.pk}).json()["data"]] == ["best", "cnn"]
    assert [t["name"] for t in client.get(URL, {"workspace": audio.pk}).json()["data"]] == ["project-nightingale"]
    assert len(client.get(URL, {"workspace": f"{workspace.pk},{audio.pk}"}).json()["data"]) == 3
    assert [t["name"] for t in api.as_user(staff).get(URL, {"workspace": audio.pk}).json()["data"]] == [
        "project-nightingale"
    ]


def test_the_workspace_filter_cannot_reach_another_workspace(api, cnn, audio, secret, bob):
    assert api.as_user(bob).get(URL, {"workspace": audio.pk}).json()["data"] == []


def test_the_workspace_filter_refuses_a_non_number(api, cnn, bob):
    body = assert_error(api.as_user(bob).get(URL, {"workspace": "x"}), 400)

    assert "workspace" in body["errors"]


def test_a_tag_only_other_peoples_private_models_carry_is_hidden_from_members(api, project, alice, bob, carol):
    upload(bob, project, tags=["bobs-secret"], private=True)
    tag = Tag.objects.get(name="bobs-secret")

    for user in (alice, carol):
        client = api.as_user(user)
        assert client.get(URL).json()["data"] == []
        assert_error(client.get(detail(tag)), 404)
    # Bob, whose model carries it, sees it and may describe it.
    assert [t["name"] for t in api.as_user(bob).get(URL).json()["data"]] == ["bobs-secret"]


def test_a_tag_shows_to_members_once_a_model_they_see_carries_it(api, project, alice, bob, carol):
    upload(bob, project, tags=["shared"], private=True)
    upload(alice, project, name="public", tags=["shared"])

    assert [t["name"] for t in api.as_user(carol).get(URL).json()["data"]] == ["shared"]
    assert Tag.objects.filter(name="shared").count() == 1


def test_an_unused_tag_is_the_workspaces_vocabulary_and_members_see_it(api, cnn, carol):
    assert [t["name"] for t in api.as_user(carol).get(URL).json()["data"]] == ["cnn"]


def test_it_refuses_to_list_tags_to_anonymous_callers(api, cnn):
    body = assert_error(api.as_user(None).get(URL), 401)

    assert "cnn" not in str(body)


def test_it_searches_tags_by_name_ignoring_case(api, cnn, best, secret, bob):
    client = api.as_user(bob)

    assert [t["name"] for t in client.get(URL, {"search": "CN"}).json()["data"]] == ["cnn"]
    assert [t["name"] for t in client.get(URL, {"search": "es"}).json()["data"]] == ["best"]
    assert client.get(URL, {"search": "night"}).json()["data"] == []


def test_it_pages_tags(api, workspace, bob):
    Tag.objects.bulk_create(Tag(workspace=workspace, name=f"t{i}") for i in range(5))

    body = api.as_user(bob).get(URL, {"per_page": 2, "page": 2}).json()

    assert [t["name"] for t in body["data"]] == ["t2", "t3"]
    assert body["pagination"] == {
        "has_next": True,
        "has_prev": True,
        "page": 2,
        "per_page": 2,
        "total_pages": 3,
        "total_items": 5,
    }


def test_it_caps_per_page_at_one_thousand(api, cnn, bob):
    assert api.as_user(bob).get(URL, {"per_page": 100000}).json()["pagination"]["per_page"] == 1000


@pytest.mark.parametrize("rows", [3, 10])
def test_listing_tags_takes_a_fixed_number_of_queries(
    api, workspace, project, alice, bob, rows, django_assert_num_queries
):
    Tag.objects.bulk_create(Tag(workspace=workspace, name=f"t{i:02}") for i in range(rows))
    upload(alice, project, tags=["t00", "t01"], private=True)
    client = api.as_user(bob)

    # the user behind the JWT, the count, the page
    with django_assert_num_queries(3):
        response = client.get(URL)

    assert len(response.json()["data"]) == rows - 2


# ----------------------------------------------------------------------------- create


@pytest.mark.parametrize("who", WRITERS)
def test_owners_and_members_create_tags_in_their_workspace(api, workspace, who, request):
    response = api.as_user(request.getfixturevalue(who)).post(
        URL, {"name": "transformer", "description": "attention", "workspace_id": workspace.pk}, format="json"
    )

    assert response.status_code == 201, response.content
    tag = Tag.objects.get(name="transformer")
    assert tag.workspace == workspace
    assert response.json()["data"] == shape(tag)


def test_it_accepts_form_fields_when_creating_a_tag(api, workspace, bob):
    response = api.as_user(bob).post(URL, {"name": "rnn", "workspace_id": workspace.pk})

    assert response.status_code == 201, response.content
    assert Tag.objects.filter(workspace=workspace, name="rnn").exists()


def test_viewers_cannot_create_tags(api, workspace, carol):
    assert_error(api.as_user(carol).post(URL, {"name": "rnn", "workspace_id": workspace.pk}, format="json"), 403)

    assert not Tag.objects.exists()


def test_outsiders_cannot_create_tags_in_a_workspace_they_cannot_see(api, workspace, eve):
    body = assert_error(api.as_user(eve).post(URL, {"name": "rnn", "workspace_id": workspace.pk}, format="json"), 400)

    assert list(body["errors"]) == ["workspace_id"]
    assert not Tag.objects.exists()


def test_a_new_tag_needs_a_workspace(api, workspace, bob):
    body = assert_error(api.as_user(bob).post(URL, {"name": "rnn"}, format="json"), 400)

    assert list(body["errors"]) == ["workspace_id"]
    assert not Tag.objects.exists()


def test_the_same_name_may_live_in_two_workspaces(api, cnn, audio, eve):
    response = api.as_user(eve).post(URL, {"name": "cnn", "workspace_id": audio.pk}, format="json")

    assert response.status_code == 201, response.content
    assert sorted(Tag.objects.filter(name="cnn").values_list("workspace_id", flat=True)) == sorted(
        [cnn.workspace_id, audio.pk]
    )


def test_it_strips_spaces_around_a_new_tag_name(api, workspace, bob):
    response = api.as_user(bob).post(URL, {"name": "  rnn  ", "workspace_id": workspace.pk}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["data"]["name"] == "rnn"


@pytest.mark.parametrize("name", ["cnn", " cnn "])
def test_it_refuses_a_name_the_workspace_has(api, cnn, workspace, bob, name):
    body = assert_error(api.as_user(bob).post(URL, {"name": name, "workspace_id": workspace.pk}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    assert Tag.objects.filter(name="cnn").count() == 1


def test_it_refuses_a_tag_name_with_a_comma(api, workspace, bob):
    # The published client sends a model's tags as one comma-separated string.
    body = assert_error(api.as_user(bob).post(URL, {"name": "a,b", "workspace_id": workspace.pk}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    assert not Tag.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_it_refuses_a_blank_or_overlong_tag_name(api, workspace, bob, name):
    body = assert_error(api.as_user(bob).post(URL, {"name": name, "workspace_id": workspace.pk}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    assert not Tag.objects.exists()


@pytest.mark.parametrize("field", ["name", "description"])
def test_it_refuses_nul_in_a_form_field_on_every_database(api, workspace, bob, field):
    # PostgreSQL cannot store NUL in text: it must be a 400 before the database sees it.
    data = {"name": "rnn", "description": "", "workspace_id": workspace.pk, field: "nul\x00here"}

    body = assert_error(api.as_user(bob).post(URL, data), 400)

    assert list(body["errors"]) == [field]
    assert not Tag.objects.exists()


@pytest.mark.parametrize("name", ["nul\\u0000", "lone\\ud800"])
def test_it_refuses_an_unstorable_name_in_json(api, workspace, bob, name):
    body = f'{{"name": "{name}", "workspace_id": {workspace.pk}}}'  # escaped as JSON sends them

    assert_error(api.as_user(bob).post(URL, body, content_type="application/json"), 400)

    assert not Tag.objects.exists()


def test_anonymous_callers_cannot_create_tags(api, workspace):
    assert_error(api.as_user(None).post(URL, {"name": "rnn", "workspace_id": workspace.pk}, format="json"), 401)

    assert not Tag.objects.exists()


# ----------------------------------------------------------------------------- retrieve


@pytest.mark.parametrize("who", [*VISION, "staff"])
def test_members_and_staff_get_a_tag(api, cnn, who, request):
    response = api.as_user(request.getfixturevalue(who)).get(detail(cnn))

    assert response.status_code == 200, response.content
    assert response.json() == {"data": shape(cnn)}


def test_an_outsider_gets_404_for_another_workspaces_tag(api, cnn, eve):
    body = assert_error(api.as_user(eve).get(detail(cnn)), 404)

    assert "cnn" not in str(body)


def test_it_answers_404_for_a_tag_that_does_not_exist(api, bob):
    assert_error(api.as_user(bob).get(f"{URL}999999/"), 404)


def test_anonymous_callers_get_401_for_a_tag(api, cnn):
    assert_error(api.as_user(None).get(detail(cnn)), 401)


# ----------------------------------------------------------------------------- update


@pytest.mark.parametrize("who", [*WRITERS, "staff"])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_owners_and_members_describe_a_tag_changing_only_the_fields_sent(api, cnn, who, method, request):
    client = api.as_user(request.getfixturevalue(who))

    response = getattr(client, method)(detail(cnn), {"description": "conv nets"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"] == {**shape(cnn), "description": "conv nets"}
    cnn.refresh_from_db()
    assert (cnn.name, cnn.description) == ("cnn", "conv nets")


@pytest.mark.parametrize("who", WRITERS)
def test_owners_and_members_rename_a_tag_and_models_carry_the_new_name(api, cnn, project, alice, who, request):
    model = upload(alice, project, tags=["cnn"])
    client = api.as_user(request.getfixturevalue(who))

    assert client.put(detail(cnn), {"name": "convnet"}, format="json").status_code == 200

    assert [t["name"] for t in client.get(f"/api/v1/models/{model.pk}/").json()["data"]["tags"]] == ["convnet"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_viewers_cannot_change_tags(api, cnn, carol, method):
    assert_error(getattr(api.as_user(carol), method)(detail(cnn), {"name": "mine"}, format="json"), 403)

    cnn.refresh_from_db()
    assert (cnn.name, cnn.description) == ("cnn", "convolutional")


@pytest.mark.parametrize("method", ["put", "patch"])
def test_outsiders_get_404_when_changing_another_workspaces_tag(api, cnn, eve, method):
    body = assert_error(getattr(api.as_user(eve), method)(detail(cnn), {"name": "mine"}, format="json"), 404)

    assert "cnn" not in str(body)
    cnn.refresh_from_db()
    assert cnn.name == "cnn"


def test_anonymous_callers_cannot_change_tags(api, cnn):
    assert_error(api.as_user(None).patch(detail(cnn), {"name": "mine"}, format="json"), 401)

    cnn.refresh_from_db()
    assert cnn.name == "cnn"


def test_it_refuses_to_rename_a_tag_to_a_name_its_workspace_has(api, cnn, best, bob):
    body = assert_error(api.as_user(bob).patch(detail(cnn), {"name": " best "}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    cnn.refresh_from_db()
    assert cnn.name == "cnn"


def test_a_tag_may_take_a_name_another_workspace_has(api, cnn, secret, bob):
    response = api.as_user(bob).patch(detail(cnn), {"name": "project-nightingale"}, format="json")

    assert response.status_code == 200, response.content
    assert Tag.objects.filter(name="project-nightingale").count() == 2


@pytest.mark.parametrize("name", ["c,nn", "", "nul\x00"])
def test_it_refuses_a_bad_new_name(api, cnn, bob, name):
    body = assert_error(api.as_user(bob).put(detail(cnn), {"name": name}), 400)

    assert list(body["errors"]) == ["name"]
    cnn.refresh_from_db()
    assert cnn.name == "cnn"


def test_a_tag_stays_in_its_workspace(api, cnn, audio, alice, eve):
    services.membership_set(workspace=audio, actor=eve, user=alice, role="owner")

    body = assert_error(api.as_user(alice).patch(detail(cnn), {"workspace_id": audio.pk}, format="json"), 400)

    assert list(body["errors"]) == ["workspace_id"]
    cnn.refresh_from_db()
    assert cnn.workspace_id != audio.pk


def test_sending_its_own_workspace_id_back_is_fine(api, cnn, workspace, bob):
    response = api.as_user(bob).put(detail(cnn), {**shape(cnn), "description": "conv"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["workspace_id"] == workspace.pk


def test_changing_a_tag_that_does_not_exist_answers_404(api, bob):
    assert_error(api.as_user(bob).patch(f"{URL}999999/", {"name": "x"}, format="json"), 404)


# ----------------------------------------------------------------------------- delete


@pytest.mark.parametrize("who", ["alice", "staff"])
def test_owners_delete_a_tag_and_models_lose_it_but_remain(api, cnn, best, project, bob, who, request):
    model = upload(bob, project, tags=["cnn", "best"])

    response = api.as_user(request.getfixturevalue(who)).delete(detail(cnn))

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert not Tag.objects.filter(pk=cnn.pk).exists()
    assert MLModel.objects.filter(pk=model.pk).exists()
    assert list(model.tags.values_list("name", flat=True)) == ["best"]


def test_a_member_deletes_a_tag_only_their_own_models_carry(api, cnn, project, bob):
    upload(bob, project, tags=["cnn"])
    upload(bob, project, name="private", tags=["cnn"], private=True)

    assert api.as_user(bob).delete(detail(cnn)).status_code == 200

    assert not Tag.objects.filter(pk=cnn.pk).exists()


def test_a_member_deletes_an_unused_tag(api, cnn, bob):
    assert api.as_user(bob).delete(detail(cnn)).status_code == 200

    assert not Tag.objects.filter(pk=cnn.pk).exists()


def test_a_member_cannot_delete_a_tag_other_peoples_models_carry(api, cnn, project, alice, bob):
    model = upload(alice, project, tags=["cnn"])

    assert_error(api.as_user(bob).delete(detail(cnn)), 403)

    assert list(model.tags.all()) == [cnn]


def test_a_viewer_cannot_delete_tags(api, cnn, carol):
    assert_error(api.as_user(carol).delete(detail(cnn)), 403)

    assert Tag.objects.filter(pk=cnn.pk).exists()


def test_an_outsider_gets_404_when_deleting_another_workspaces_tag(api, cnn, eve):
    assert_error(api.as_user(eve).delete(detail(cnn)), 404)

    assert Tag.objects.filter(pk=cnn.pk).exists()


def test_a_deleted_tag_answers_404(api, cnn, alice):
    client = api.as_user(alice)
    client.delete(detail(cnn))

    assert_error(client.get(detail(cnn)), 404)
    assert_error(client.delete(detail(cnn)), 404)


def test_anonymous_callers_cannot_delete_tags(api, cnn):
    assert_error(api.as_user(None).delete(detail(cnn)), 401)

    assert Tag.objects.filter(pk=cnn.pk).exists()


# ----------------------------------------------------------------------------- a model's tags by id


def test_a_model_cannot_be_given_another_workspaces_tag(api, project, bob, secret):
    model = upload(bob, project)

    assert_error(api.as_user(bob).post(f"/api/v1/models/{model.pk}/tags/{secret.pk}/"), 404)

    assert not model.tags.exists()


def test_a_model_cannot_be_given_a_tag_of_another_of_the_callers_workspaces(api, project, alice, audio, secret, eve):
    services.membership_set(workspace=audio, actor=eve, user=alice, role="owner")
    model = upload(alice, project)

    body = assert_error(api.as_user(alice).post(f"/api/v1/models/{model.pk}/tags/{secret.pk}/"), 400)

    assert list(body["errors"]) == ["tag"]
    assert not model.tags.exists()
