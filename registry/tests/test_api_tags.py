"""/api/v1/tags/ through the whole request stack.

Tags are shared by everyone: any signed-in user lists, reads and creates them; only staff
change or delete them. Alice, Bob, Carol and Eve stand for the signed-in non-staff callers.
"""

import pytest

from registry.models import MLModel, Tag
from registry.tests.assertions import assert_error
from registry.tests.factories import upload

URL = "/api/v1/tags/"
SIGNED_IN = ["alice", "bob", "carol", "eve", "staff"]
NOT_STAFF = ["alice", "bob", "carol", "eve"]


def detail(tag) -> str:
    return f"{URL}{tag.pk}/"


@pytest.fixture
def cnn(db):
    return Tag.objects.create(name="cnn", description="convolutional")


@pytest.fixture
def best(db):
    return Tag.objects.create(name="best")


# ----------------------------------------------------------------------------- list


@pytest.mark.parametrize("who", SIGNED_IN)
def test_every_signed_in_user_lists_all_tags_by_name(api, cnn, best, workspace, eve, staff, who, request):
    response = api.as_user(request.getfixturevalue(who)).get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["data"] == [
        {"id": best.pk, "name": "best", "description": ""},
        {"id": cnn.pk, "name": "cnn", "description": "convolutional"},
    ]
    assert body["pagination"] == {
        "has_next": False,
        "has_prev": False,
        "page": 1,
        "per_page": 20,
        "total_pages": 1,
        "total_items": 2,
    }


def test_it_refuses_to_list_tags_to_anonymous_callers(api, cnn):
    body = assert_error(api.as_user(None).get(URL), 401)

    assert "cnn" not in str(body)


def test_it_searches_tags_by_name_ignoring_case(api, cnn, best, eve):
    client = api.as_user(eve)

    assert [t["name"] for t in client.get(URL, {"search": "CN"}).json()["data"]] == ["cnn"]
    assert [t["name"] for t in client.get(URL, {"search": "es"}).json()["data"]] == ["best"]
    assert client.get(URL, {"search": "zzz"}).json()["data"] == []


def test_it_pages_tags(api, eve):
    Tag.objects.bulk_create(Tag(name=f"t{i}") for i in range(5))

    body = api.as_user(eve).get(URL, {"per_page": 2, "page": 2}).json()

    assert [t["name"] for t in body["data"]] == ["t2", "t3"]
    assert body["pagination"] == {
        "has_next": True,
        "has_prev": True,
        "page": 2,
        "per_page": 2,
        "total_pages": 3,
        "total_items": 5,
    }


def test_it_caps_per_page_at_one_thousand(api, cnn, eve):
    assert api.as_user(eve).get(URL, {"per_page": 100000}).json()["pagination"]["per_page"] == 1000


@pytest.mark.parametrize("rows", [3, 10])
def test_listing_tags_takes_a_fixed_number_of_queries(api, eve, rows, django_assert_num_queries):
    Tag.objects.bulk_create(Tag(name=f"t{i:02}") for i in range(rows))
    client = api.as_user(eve)

    # the user behind the JWT, the count, the page
    with django_assert_num_queries(3):
        response = client.get(URL)

    assert len(response.json()["data"]) == rows


# ----------------------------------------------------------------------------- create


@pytest.mark.parametrize("who", SIGNED_IN)
def test_every_signed_in_user_creates_tags(api, who, request):
    response = api.as_user(request.getfixturevalue(who)).post(
        URL, {"name": "transformer", "description": "attention"}, format="json"
    )

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    tag = Tag.objects.get(name="transformer")
    assert data == {"id": tag.pk, "name": "transformer", "description": "attention"}


def test_it_accepts_form_fields_when_creating_a_tag(api, eve):
    response = api.as_user(eve).post(URL, {"name": "rnn"})

    assert response.status_code == 201, response.content
    assert Tag.objects.filter(name="rnn").exists()


def test_it_strips_spaces_around_a_new_tag_name(api, eve):
    response = api.as_user(eve).post(URL, {"name": "  rnn  "}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["data"]["name"] == "rnn"


def test_it_refuses_a_duplicate_tag_name(api, cnn, eve):
    body = assert_error(api.as_user(eve).post(URL, {"name": "cnn"}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    assert Tag.objects.filter(name="cnn").count() == 1


def test_it_refuses_a_duplicate_tag_name_with_spaces_around_it(api, cnn, eve):
    body = assert_error(api.as_user(eve).post(URL, {"name": " cnn "}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    assert Tag.objects.count() == 1


def test_it_refuses_a_tag_name_with_a_comma(api, eve):
    # The published client sends a model's tags as one comma-separated string.
    body = assert_error(api.as_user(eve).post(URL, {"name": "a,b"}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    assert not Tag.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_it_refuses_a_blank_or_overlong_tag_name(api, eve, name):
    body = assert_error(api.as_user(eve).post(URL, {"name": name}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    assert not Tag.objects.exists()


def test_anonymous_callers_cannot_create_tags(api, db):
    assert_error(api.as_user(None).post(URL, {"name": "rnn"}, format="json"), 401)

    assert not Tag.objects.exists()


# ----------------------------------------------------------------------------- retrieve


@pytest.mark.parametrize("who", SIGNED_IN)
def test_every_signed_in_user_gets_a_tag(api, cnn, who, request):
    response = api.as_user(request.getfixturevalue(who)).get(detail(cnn))

    assert response.status_code == 200, response.content
    assert response.json() == {"data": {"id": cnn.pk, "name": "cnn", "description": "convolutional"}}


def test_it_answers_404_for_a_tag_that_does_not_exist(api, eve):
    assert_error(api.as_user(eve).get(f"{URL}999999/"), 404)


def test_anonymous_callers_get_401_for_a_tag(api, cnn):
    assert_error(api.as_user(None).get(detail(cnn)), 401)


# ----------------------------------------------------------------------------- update


@pytest.mark.parametrize("method", ["put", "patch"])
def test_staff_change_only_the_fields_sent(api, cnn, staff, method):
    response = getattr(api.as_user(staff), method)(detail(cnn), {"description": "conv nets"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"id": cnn.pk, "name": "cnn", "description": "conv nets"}
    cnn.refresh_from_db()
    assert (cnn.name, cnn.description) == ("cnn", "conv nets")


def test_staff_rename_a_tag_and_models_carry_the_new_name(api, cnn, project, alice, staff):
    model = upload(alice, project, tags=["cnn"])

    assert api.as_user(staff).patch(detail(cnn), {"name": "convnet"}, format="json").status_code == 200

    assert list(model.tags.values_list("name", flat=True)) == ["convnet"]


@pytest.mark.parametrize("who", NOT_STAFF)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_only_staff_change_tags(api, cnn, who, method, request):
    client = api.as_user(request.getfixturevalue(who))

    assert_error(getattr(client, method)(detail(cnn), {"name": "mine"}, format="json"), 403)

    cnn.refresh_from_db()
    assert cnn.name == "cnn"


def test_anonymous_callers_cannot_change_tags(api, cnn):
    assert_error(api.as_user(None).patch(detail(cnn), {"name": "mine"}, format="json"), 401)

    cnn.refresh_from_db()
    assert cnn.name == "cnn"


def test_staff_cannot_rename_a_tag_to_a_taken_name(api, cnn, best, staff):
    body = assert_error(api.as_user(staff).patch(detail(cnn), {"name": "best"}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    cnn.refresh_from_db()
    assert cnn.name == "cnn"


def test_staff_cannot_put_a_comma_into_a_tag_name(api, cnn, staff):
    body = assert_error(api.as_user(staff).put(detail(cnn), {"name": "c,nn"}, format="json"), 400)

    assert list(body["errors"]) == ["name"]
    cnn.refresh_from_db()
    assert cnn.name == "cnn"


def test_changing_a_tag_that_does_not_exist_answers_404(api, staff):
    assert_error(api.as_user(staff).patch(f"{URL}999999/", {"name": "x"}, format="json"), 404)


# ----------------------------------------------------------------------------- delete


def test_staff_delete_a_tag_and_models_lose_it_but_remain(api, cnn, best, project, alice, staff):
    model = upload(alice, project, tags=["cnn", "best"])

    response = api.as_user(staff).delete(detail(cnn))

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert not Tag.objects.filter(pk=cnn.pk).exists()
    assert MLModel.objects.filter(pk=model.pk).exists()
    assert list(model.tags.values_list("name", flat=True)) == ["best"]


def test_a_deleted_tag_answers_404(api, cnn, staff):
    client = api.as_user(staff)
    client.delete(detail(cnn))

    assert_error(client.get(detail(cnn)), 404)
    assert_error(client.delete(detail(cnn)), 404)


@pytest.mark.parametrize("who", NOT_STAFF)
def test_only_staff_delete_tags(api, cnn, who, request):
    assert_error(api.as_user(request.getfixturevalue(who)).delete(detail(cnn)), 403)

    assert Tag.objects.filter(pk=cnn.pk).exists()


def test_anonymous_callers_cannot_delete_tags(api, cnn):
    assert_error(api.as_user(None).delete(detail(cnn)), 401)

    assert Tag.objects.filter(pk=cnn.pk).exists()
