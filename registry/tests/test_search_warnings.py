"""An empty list names the keys of its query that no visible model in scope holds, with the nearest
keys that exist (GET /api/v1/models/ `warnings`); never a key only someone else's private model has."""

import pytest

from registry import services
from registry.search import suggestions
from registry.tests.factories import upload


def listed(api, user, **params):
    response = api.as_user(user).get("/api/v1/models/", params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def models(project, alice, bob):
    upload(alice, project, "a", metrics={"accuracy": 0.9, "val/acc": 0.8}, hyperparameters={"optimizer": {"lr": 0.1}})
    upload(bob, project, "b", metrics={"accuracy": 0.7, "loss": 0.3})


def test_a_misspelt_key_gets_a_warning_with_the_nearest_keys(api, alice, models):
    body = listed(api, alice, q="metrics.acuracy > 0.5")
    assert body["data"] == []
    assert body["warnings"] == [
        {
            "key": "metrics.acuracy",
            "message": "No model here has the key metrics.acuracy; did you mean metrics.accuracy?",
            "suggestions": ["metrics.accuracy"],
        }
    ]


def test_suggestions_are_spelled_as_the_query_wrote_its_field(api, alice, models):
    body = listed(api, alice, q="m.val/ac > 0.5 and hp.optimizer.rl > 0")
    assert [(w["key"], w["suggestions"]) for w in body["warnings"]] == [
        ("m.val/ac", ["m.val/acc"]),
        ("hp.optimizer.rl", ["hp.optimizer.lr"]),
    ]


def test_a_key_with_no_near_neighbour_is_warned_without_suggestions(api, alice, models):
    (warning,) = listed(api, alice, q="m.perplexity < 3")["warnings"]
    assert warning == {
        "key": "m.perplexity",
        "message": "No model here has the key m.perplexity.",
        "suggestions": [],
    }


def test_the_ordering_is_checked_too(api, alice, models):
    body = listed(api, alice, q="m.loss > 5", ordering="-m.acuracy")
    assert [w["key"] for w in body["warnings"]] == ["m.acuracy"]


def test_a_known_key_or_a_dictionary_above_known_keys_is_not_warned(api, alice, models):
    body = listed(api, alice, q="m.accuracy > 5 or hp.optimizer exists and hp.optimizer.lr > 5")
    assert body["data"] == []
    assert "warnings" not in body


def test_a_list_with_models_has_no_warnings_field(api, alice, models):
    body = listed(api, alice, q="m.accuracy > 0.5 or m.acuracy > 0.5")
    assert len(body["data"]) == 2
    assert "warnings" not in body
    assert set(body) == {"data", "pagination"}


def test_the_cursor_list_warns_as_well(api, alice, models):
    body = listed(api, alice, q="metrics.acuracy > 0.5", cursor="")
    assert [w["suggestions"] for w in body["warnings"]] == [["metrics.accuracy"]]


def test_a_key_of_another_project_is_unknown_in_this_one(api, alice, models, workspace):
    other = services.project_create(user=alice, workspace=workspace, name="other")
    upload(alice, other, "c", metrics={"precision": 0.5})
    scoped = listed(api, alice, q="m.precision > 0.9", project=other.pk)
    assert "warnings" not in scoped
    body = listed(api, alice, q="m.precisionn > 0.9", project=models_project_id(api, alice))
    assert body["warnings"][0]["suggestions"] == []


def models_project_id(api, alice):
    return listed(api, alice, q="m.accuracy exists")["data"][0]["project_id"]


def test_it_never_suggests_a_key_only_someone_elses_private_model_has(api, alice, bob, carol, project):
    upload(bob, project, "secret", metrics={"secret_accuracy": 0.99}, private=True)
    upload(alice, project, "open", metrics={"loss": 0.1})

    (warning,) = listed(api, carol, q="m.secret_acuracy > 0.5")["warnings"]
    assert warning["suggestions"] == []
    assert "secret_accuracy" not in warning["message"]
    # carol does not see it, so for her it is unknown, though it exists
    assert [w["key"] for w in listed(api, carol, q="m.secret_accuracy > 5")["warnings"]] == ["m.secret_accuracy"]
    # bob, its uploader, gets the suggestion
    (warning,) = listed(api, bob, q="m.secret_acuracy > 0.5")["warnings"]
    assert warning["suggestions"] == ["m.secret_accuracy"]


def test_an_invalid_query_gets_its_error_and_no_warnings(api, alice, models):
    response = api.as_user(alice).get("/api/v1/models/", {"q": "m.acuracy >"})
    assert response.status_code == 400
    assert "warnings" not in response.json()


def test_json_keys_lists_each_key_once_and_skips_plain_fields():
    refs = suggestions.json_keys("m.a > 1 and (not m.a < 0 or name = 'x') and hp.b.c exists", "-m.d,created")
    assert [(ref.field.name, ref.path) for ref in refs] == [
        ("metrics", ("a",)),
        ("hyperparameters", ("b", "c")),
        ("metrics", ("d",)),
    ]


def test_the_project_page_shows_the_warning_beside_the_empty_table(client, alice, project, models):
    client.force_login(alice)
    response = client.get(f"/projects/{project.pk}/", {"q": "m.acuracy > 0.5"})
    assert response.status_code == 200
    assert [w["suggestions"] for w in response.context["query_warnings"]] == [["m.accuracy"]]
    assert "No model here has the key m.acuracy; did you mean m.accuracy?" in response.content.decode()


def test_the_project_page_hides_someone_elses_private_key_from_the_warning(client, bob, carol, project):
    upload(bob, project, "secret", metrics={"secret_accuracy": 0.99}, private=True)
    client.force_login(carol)
    page = client.get(f"/projects/{project.pk}/", {"q": "m.secret_acuracy > 0.5"}).content.decode()
    assert "No model here has the key m.secret_acuracy." in page
    assert "secret_accuracy" not in page.replace("secret_acuracy", "")


def test_a_table_with_rows_has_no_warning(client, alice, project, models):
    client.force_login(alice)
    response = client.get(f"/projects/{project.pk}/", {"q": "m.accuracy > 0.5"})
    assert response.context["query_warnings"] == []
