"""`ordering=` on GET /api/v1/models/: JSON keys typed and missing-last, plain fields, ties by id."""

from datetime import UTC, datetime

import pytest

from registry import services
from registry.models import MLModel
from registry.tests.factories import upload


def listed(api, user, **params) -> list[int]:
    response = api.as_user(user).get("/api/v1/models/", {"per_page": 100, **params})
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


@pytest.fixture
def accuracy(alice, project):
    """Labels → models whose metrics.accuracy has every JSON type, in upload (id) order."""
    values = [
        ("n1", 0.9),
        ("n2", 0.5),
        ("n3", 0.7),
        ("n4", 0.7),
        ("s1", "b"),
        ("s2", "a"),
        ("b1", True),
        ("b2", False),
        ("null", None),
        ("obj", {"x": 1}),
        ("missing", ...),
        ("missing2", ...),
        ("n5", -2),
    ]
    made = {}
    for label, value in values:
        metrics = {} if value is ... else {"accuracy": value}
        made[label] = upload(alice, project, label, metrics=metrics, hyperparameters={"opt": label[0]})
    return made


def labels_of(made, ids):
    by_id = {model.pk: label for label, model in made.items()}
    return [by_id[pk] for pk in ids]


def test_a_json_key_sorts_numbers_then_strings_then_booleans_then_models_without_it(api, alice, accuracy):
    ids = listed(api, alice, ordering="metrics.accuracy")
    assert labels_of(accuracy, ids) == [
        "n5", "n2", "n3", "n4", "n1",  # numbers, ties (n3, n4) by id
        "s2", "s1",  # strings
        "b2", "b1",  # false before true
        "null", "obj", "missing", "missing2",  # no number, string or boolean there: by id
    ]  # fmt: skip


def test_descending_keeps_models_without_the_key_last_and_ties_by_descending_id(api, alice, accuracy):
    ids = listed(api, alice, ordering="-metrics.accuracy")
    assert labels_of(accuracy, ids) == [
        "n1", "n4", "n3", "n2", "n5",
        "s1", "s2",
        "b1", "b2",
        "missing2", "missing", "obj", "null",
    ]  # fmt: skip


@pytest.mark.parametrize("spelling", ["m.accuracy", "M.accuracy", "metrics.accuracy", "METRICS.`accuracy`"])
def test_ordering_prefixes_ignore_case_and_take_aliases(api, alice, accuracy, spelling):
    assert listed(api, alice, ordering=spelling) == listed(api, alice, ordering="metrics.accuracy")


def test_keys_in_ordering_keep_their_case(api, alice, accuracy):
    by_id = sorted(model.pk for model in accuracy.values())
    assert listed(api, alice, ordering="m.Accuracy") == by_id  # nobody has it: all tie, by id


def test_several_fields_sort_in_turn(api, alice, accuracy):
    ids = listed(api, alice, ordering="hp.opt,-m.accuracy")
    # opt is each label's first letter: b, m, n, o, s; within a letter, accuracy descending.
    assert labels_of(accuracy, ids) == [
        "b1", "b2",
        "missing2", "missing",
        "n1", "n4", "n3", "n2", "n5", "null",
        "obj",
        "s1", "s2",
    ]  # fmt: skip


def test_pages_are_stable_through_ties(api, alice, accuracy):
    everything = listed(api, alice, ordering="-m.accuracy")
    pages = []
    for page in range(1, 6):
        response = api.as_user(alice).get("/api/v1/models/", {"ordering": "-m.accuracy", "per_page": 3, "page": page})
        pages += [item["id"] for item in response.json()["data"]]
    assert pages == everything
    assert len(set(pages)) == len(accuracy)


def test_ordering_applies_to_the_query_results(api, alice, accuracy):
    ids = listed(api, alice, q="m.accuracy >= 0.5", ordering="-m.accuracy")
    assert labels_of(accuracy, ids) == ["n1", "n4", "n3", "n2"]


def test_without_ordering_the_newest_come_first(api, alice, accuracy):
    ids = listed(api, alice)
    assert ids == sorted(ids, reverse=True)


# ----------------------------------------------------------------------------- plain fields


@pytest.fixture
def plain(alice, bob, workspace, project):
    """Three models whose plain fields sort in different orders."""
    zeta = services.project_create(user=bob, workspace=workspace, name="zeta-proj")
    other = services.workspace_create(user=alice, name="Alpha")
    alpha = services.project_create(user=alice, workspace=other, name="alpha-proj")
    made = {
        "a": upload(bob, zeta, "b-model", content=b"x" * 30, dataset_name="y", git_branch="x", git_commit="c2"),
        "b": upload(alice, project, "a-model", content=b"x" * 10, dataset_name="z", git_branch="z", git_commit="c1"),
        "c": upload(alice, alpha, "c-model", content=b"x" * 20, dataset_name="x", git_branch="y", git_commit="c3"),
    }
    MLModel.objects.filter(pk=made["b"].pk).update(private=True)
    days = {"a": 2, "b": 3, "c": 1}
    for label, model in made.items():
        MLModel.objects.filter(pk=model.pk).update(created=datetime(2024, 1, days[label], tzinfo=UTC))
    return made


@pytest.mark.parametrize(
    ("field", "ascending", "descending"),
    [
        ("name", "bac", "cab"),
        ("size", "bca", "acb"),
        ("created", "cab", "bac"),
        ("user", "bca", "acb"),  # alice (b, c) before bob (a); ties by id, reversed when descending
        ("project", "cba", "abc"),  # by name: alpha-proj, resnets, zeta-proj
        ("workspace", "cab", "bac"),  # by name: Alpha, then Vision (a, b)
        ("dataset", "cab", "bac"),
        ("branch", "acb", "bca"),
        ("commit", "bac", "cab"),
        ("visibility", "acb", "bca"),  # public before private
        ("id", "abc", "cba"),
        ("NAME", "bac", "cab"),
    ],
)
def test_every_plain_field_orders_both_ways(api, alice, plain, field, ascending, descending):
    def order(ordering):
        by_id = {model.pk: label for label, model in plain.items()}
        return "".join(by_id[pk] for pk in listed(api, alice, ordering=ordering))

    assert order(field) == ascending
    assert order(f"-{field}") == descending


def test_version_orders_within_a_name(api, alice, project):
    first = upload(alice, project, "m")
    second = upload(alice, project, "m")
    assert listed(api, alice, ordering="-version") == [second.pk, first.pk]
    assert listed(api, alice, ordering="version") == [first.pk, second.pk]


def test_mixed_plain_and_json_fields(api, alice, plain):
    by_id = {model.pk: label for label, model in plain.items()}
    assert "".join(by_id[pk] for pk in listed(api, alice, ordering="user,-size")) == "cba"
