"""`q=` on GET /api/v1/models/: every operator, type rule, alias and field, within visibility."""

from datetime import UTC, datetime

import pytest

from conftest import built_once, from_shared
from registry import services
from registry.models import MLModel
from registry.tests.factories import upload


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker, tmp_path_factory):
    """The models below, built once for the module's tests, which only read them."""
    with built_once(django_db_blocker, tmp_path_factory) as built:
        built.rows = build_rows(built.alice, built.bob, built.workspace, built.project)
        yield built


alice, bob, carol, workspace, project, rows = from_shared("alice", "bob", "carol", "workspace", "project", "rows")


def build_rows(alice, bob, workspace, project):
    """Models whose keys disagree in type on purpose; labels name them in the expectations."""
    vits = services.project_create(user=alice, workspace=workspace, name="vits")
    text = services.workspace_create(user=alice, name="Text")
    bert = services.project_create(user=alice, workspace=text, name="bert")
    made = {
        "alpha": upload(
            alice,
            project,
            "alpha",
            content=b"x" * 10,
            hyperparameters={
                "optimizer": "adam",
                "lr": 0.0005,
                "layers": 50,
                "pretrained": True,
                "note": None,
                "learning rate": 0.1,
                "nested": {"x": 1},
            },
            parameters={"epochs": 10},
            metrics={"accuracy": 0.95, "loss": 0.1},
            tags=["prod", "vision"],
            dataset_name="imagenet",
            git_branch="main",
            git_commit="abc123",
        ),
        "beta": upload(
            bob,
            project,
            "beta",
            content=b"x" * 20,
            hyperparameters={"optimizer": "sgd", "lr": 0.01, "layers": "16", "pretrained": False, "note": "x"},
            parameters={"epochs": "10"},
            metrics={"accuracy": 0.85, "loss": 0.3},
            tags=["staging"],
            dataset_name="cifar",
            git_branch="dev",
        ),
        "gamma": upload(
            alice,
            project,
            "gamma",
            content=b"x" * 30,
            hyperparameters={"optimizer": "Adam", "lr": "0.0001", "layers": 4, "pretrained": "true"},
            metrics={"accuracy": "high"},
        ),
        "delta": upload(alice, project, "delta", content=b"x" * 40),
        "epsilon": upload(alice, vits, "epsilon", content=b"x" * 50, hyperparameters={"optimizer": "adam"}),
        "epsilon2": upload(alice, vits, "epsilon", content=b"x" * 51, hyperparameters={"optimizer": "adam"}),
        "zeta": upload(alice, bert, "zeta", content=b"x" * 60, hyperparameters={"optimizer": "adam"}),
        "secret": upload(
            alice,
            project,
            "secret",
            content=b"x" * 70,
            private=True,
            hyperparameters={"optimizer": "adam"},
            metrics={"accuracy": 0.99},
        ),
    }
    created = {
        "alpha": datetime(2024, 1, 10, 12, tzinfo=UTC),
        "beta": datetime(2024, 1, 11, tzinfo=UTC),
        "gamma": datetime(2024, 1, 11, 23, 59, 59, tzinfo=UTC),
        "delta": datetime(2024, 2, 1, tzinfo=UTC),
    }
    for label, model in made.items():
        when = created.get(label, datetime(2024, 3, 1, tzinfo=UTC))
        MLModel.objects.filter(pk=model.pk).update(created=when)
    return made


@pytest.fixture
def search(api, rows, alice):
    """search(q, user=alice, **params) -> the labels of the models listed."""
    labels = {model.pk: label for label, model in rows.items()}

    def run(q=None, user=alice, **params):
        if q is not None:
            params["q"] = q
        response = api.as_user(user).get("/api/v1/models/", {"per_page": 100, **params})
        assert response.status_code == 200, response.content
        return {labels[item["id"]] for item in response.json()["data"]}

    return run


EVERYONE = {"alpha", "beta", "gamma", "delta", "epsilon", "epsilon2", "zeta", "secret"}
ADAM = {"alpha", "epsilon", "epsilon2", "zeta", "secret"}  # optimizer "adam", lower case


def everyone_but(*labels):
    return EVERYONE - set(labels)


# ----------------------------------------------------------------------------- JSON keys, typed


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # numbers compare as numbers; a string "16" is not a number
        ("hp.layers > 4", {"alpha"}),
        ("hp.layers >= 4", {"alpha", "gamma"}),
        ("hp.layers < 50", {"gamma"}),
        ("hp.layers <= 4", {"gamma"}),
        ("hp.layers = 50", {"alpha"}),
        ("hp.layers = 50.0", {"alpha"}),
        ("hp.layers != 50", {"gamma"}),
        ("hp.lr < 0.001", {"alpha"}),
        ("hp.lr < 1e-3", {"alpha"}),
        ("hp.lr > -1", {"alpha", "beta"}),
        # strings compare as strings, by code point; numbers are not strings
        ('hp.layers = "50"', set()),
        ('hp.layers > "10"', {"beta"}),
        ('hp.layers != "17"', {"beta"}),
        ('hp.lr < "1"', {"gamma"}),
        ('hp.optimizer = "adam"', ADAM),
        ('hp.optimizer = "Adam"', {"gamma"}),
        ('hp.optimizer != "adam"', {"beta", "gamma"}),
        ('hp.optimizer > "adam"', {"beta"}),
        ('hp.optimizer >= "b"', {"beta"}),
        ('hp.optimizer < "b"', ADAM | {"gamma"}),
        ('hp.optimizer <= "Adam"', {"gamma"}),
        # booleans compare as booleans; the string "true" is not true
        ("hp.pretrained = true", {"alpha"}),
        ("hp.pretrained = false", {"beta"}),
        ('hp.pretrained = "true"', {"gamma"}),
        ("hp.pretrained != true", {"beta"}),
        ("hp.pretrained != false", {"alpha"}),
        # null is a value of its own; != null means "has the key, not null"
        ("hp.note = null", {"alpha"}),
        ("hp.note != null", {"beta"}),
        ("hp.nested = 1", set()),
        ("hp.nested != 1", set()),
        ('hp.nested = "x"', set()),
    ],
)
def test_comparisons_match_only_values_of_the_same_type(search, q, expected):
    assert search(q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("not hp.lr < 0.001", everyone_but("alpha")),
        ("not hp.layers > 4", everyone_but("alpha")),
        ("not hp.pretrained = true", everyone_but("alpha")),
        ('not hp.optimizer = "adam"', {"beta", "gamma", "delta"}),
        ("not hp.note = null", everyone_but("alpha")),
        ("not hp.note != null", everyone_but("beta")),
        ('not hp.optimizer like "a%"', {"beta", "delta"}),
        ("not hp.nested != 1", EVERYONE),
        # not distributes over and/or and cancels out, with the same rule at every depth
        ("not (hp.lr < 0.001 or hp.layers > 4)", everyone_but("alpha")),
        ('not (hp.lr > 0.001 and hp.layers > "10")', everyone_but("beta")),
        ("not not hp.lr < 0.001", {"alpha"}),
        ("not (not hp.lr < 0.001 or not m.accuracy > 0.9)", {"alpha"}),
        ('not (hp.optimizer like "a%" and not m.loss < 1)', {"alpha", "beta", "delta"}),
    ],
)
def test_not_matches_models_without_the_key_or_with_another_type(search, q, expected):
    assert search(q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('hp.optimizer in ("sgd", "Adam")', {"beta", "gamma"}),
        ('hp.lr in (0.01, "0.0001")', {"beta", "gamma"}),
        ('hp.layers in (50, "16")', {"alpha", "beta"}),
        ("hp.layers in (16)", set()),
        ("hp.pretrained in (true, false)", {"alpha", "beta"}),
        ('hp.note in (null, "x")', {"alpha", "beta"}),
        ('hp.optimizer not in ("adam")', {"beta", "gamma", "delta"}),
        ('hp.optimizer IN ("sgd")', {"beta"}),
    ],
)
def test_in_matches_any_value_each_with_its_own_type(search, q, expected):
    assert search(q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('hp.optimizer like "ad%"', ADAM | {"gamma"}),
        ('hp.optimizer like "_DAM"', ADAM | {"gamma"}),
        ('hp.optimizer LIKE "sgd"', {"beta"}),
        ('hp.optimizer like "%g%"', {"beta"}),
        ('hp.optimizer like "s"', set()),
        ('hp.lr like "0%"', {"gamma"}),
        ('hp.layers like "1%"', {"beta"}),
        ('hp.optimizer not like "ad%"', {"beta", "delta"}),
    ],
)
def test_like_matches_strings_only_ignoring_case(search, q, expected):
    assert search(q) == expected


def test_like_escapes_match_a_literal_percent_or_underscore(api, alice, project, search):
    upload(alice, project, "pct", hyperparameters={"mix": "50%"})
    upload(alice, project, "under", hyperparameters={"mix": "a_b"})
    upload(alice, project, "plain", hyperparameters={"mix": "50x"})
    listed = lambda q: {m["name"] for m in api.as_user(alice).get("/api/v1/models/", {"q": q}).json()["data"]}  # noqa: E731
    assert listed(r'hp.mix like "50\%"') == {"pct"}
    assert listed(r'hp.mix like "50%"') == {"pct", "plain"}
    assert listed(r'hp.mix like "a\_b"') == {"under"}
    assert listed(r'hp.mix like "%\\%"') == {"pct"}  # \\ is a backslash, which then escapes the %
    assert listed(r'hp.mix like "%\\\\%"') == set()  # a backslash anywhere


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("hp.note exists", {"alpha", "beta"}),
        ("hp.nested exists", {"alpha"}),
        ("hp.lr exists", {"alpha", "beta", "gamma"}),
        ("not hp.note exists", everyone_but("alpha", "beta")),
        ("hp.note not exists", everyone_but("alpha", "beta")),
        ("hp.lr EXISTS", {"alpha", "beta", "gamma"}),
        ("hp.LR exists", set()),
        ("params.lr exists", set()),
        ("m.loss exists", {"alpha", "beta"}),
    ],
)
def test_exists_matches_models_with_the_key_whatever_its_value(search, q, expected):
    assert search(q) == expected


@pytest.mark.parametrize(
    "q",
    [
        "hyperparameters.lr < 0.001",
        "HYPERPARAMETERS.lr < 0.001",
        "hp.lr < 0.001",
        "Hp.lr < 0.001",
        "parameters.epochs = 10",
        "params.epochs = 10",
        "PARAMS.epochs = 10",
        "metrics.loss < 0.2",
        "m.loss < 0.2",
        "M.loss < 0.2",
        "hp.`learning rate` = 0.1",
        "hp.`lr` < 0.001",
    ],
)
def test_every_prefix_alias_and_backquoted_key_reaches_the_same_data(search, q):
    assert search(q) == {"alpha"}


def test_each_dictionary_is_searched_apart(search):
    assert search('parameters.epochs = "10"') == {"beta"}
    assert search('metrics.accuracy = "high"') == {"gamma"}
    assert search("m.accuracy > 0.9") == {"alpha", "secret"}
    assert search("m.epochs exists") == set()


# ----------------------------------------------------------------------------- and, or, not


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('(hp.optimizer = "adam" or hp.optimizer = "sgd") and m.accuracy > 0.9', {"alpha", "secret"}),
        ('hp.optimizer = "sgd" or hp.optimizer = "adam" and m.accuracy < 0.97', {"alpha", "beta"}),
        ('hp.optimizer = "sgd" OR hp.optimizer = "adam" AND m.accuracy < 0.97', {"alpha", "beta"}),
        ('not (hp.optimizer = "adam" or hp.optimizer = "sgd")', {"gamma", "delta"}),
        ("hp.lr exists and not hp.lr < 0.001", {"beta", "gamma"}),
        ('not not hp.optimizer = "sgd"', {"beta"}),
        ('hp.optimizer = "adam" and m.accuracy > 0.9 and tag = "prod"', {"alpha"}),
    ],
)
def test_and_or_not_and_parentheses_combine_conditions(search, q, expected):
    assert search(q) == expected


# ----------------------------------------------------------------------------- plain fields


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('name = "alpha"', {"alpha"}),
        ('NAME = "alpha"', {"alpha"}),
        ('name = "ALPHA"', set()),
        ('name != "alpha"', everyone_but("alpha")),
        ('name in ("alpha", "beta")', {"alpha", "beta"}),
        ('name like "%ET%"', {"beta", "zeta", "secret"}),
        ('name like "_eta"', {"beta", "zeta"}),
        ('name not like "%a"', {"epsilon", "epsilon2", "secret"}),
        ('name < "b"', {"alpha"}),
        ('name >= "s"', {"secret", "zeta"}),
        ('name = "%"', set()),
        ("version = 2", {"epsilon2"}),
        ("version != 1", {"epsilon2"}),
        ("version > 1", {"epsilon2"}),
        ("version <= 1", everyone_but("epsilon2")),
        ("version < 1.5", everyone_but("epsilon2")),
        ("version = 1.5", set()),
        ("version in (2, 3)", {"epsilon2"}),
        ('tag = "prod"', {"alpha"}),
        ('TAG = "prod"', {"alpha"}),
        ('tag != "prod"', everyone_but("alpha")),
        ('tag in ("prod", "staging")', {"alpha", "beta"}),
        ('tag like "PRO%"', {"alpha"}),
        ("tag exists", {"alpha", "beta"}),
        ("not tag exists", everyone_but("alpha", "beta")),
        ('tag = "prod" and tag = "vision"', {"alpha"}),
        ('tag = "vision" and not tag = "prod"', set()),
        ('user = "bob"', {"beta"}),
        ('user != "bob"', everyone_but("beta")),
        ('user like "AL%"', everyone_but("beta")),
        ('user in ("bob", "carol")', {"beta"}),
        ('project = "vits"', {"epsilon", "epsilon2"}),
        ('project != "resnets"', {"epsilon", "epsilon2", "zeta"}),
        ('project like "ber%"', {"zeta"}),
        ('project in ("vits", "bert")', {"epsilon", "epsilon2", "zeta"}),
        ('workspace = "Text"', {"zeta"}),
        ('workspace != "Vision"', {"zeta"}),
        ('workspace like "vis%"', everyone_but("zeta")),
        ('dataset = "imagenet"', {"alpha"}),
        ('dataset like "%FAR"', {"beta"}),
        ("dataset exists", {"alpha", "beta"}),
        ("not dataset exists", everyone_but("alpha", "beta")),
        ('branch = "main"', {"alpha"}),
        ("branch exists", {"alpha", "beta"}),
        ('commit like "ABC%"', {"alpha"}),
        ("commit exists", {"alpha"}),
        ('visibility = "private"', {"secret"}),
        ('visibility = "PRIVATE"', {"secret"}),
        ('visibility != "private"', everyone_but("secret")),
        ('visibility = "public"', everyone_but("secret")),
        ('visibility in ("public", "private")', EVERYONE),
        ("size = 10", {"alpha"}),
        ("size = 10.0", {"alpha"}),
        ("size = 10.5", set()),
        ("size < 10.5", {"alpha"}),
        ("size > 60", {"secret"}),
        ("size >= 60", {"zeta", "secret"}),
        ("size != 10", everyone_but("alpha")),
        ("size in (10, 20)", {"alpha", "beta"}),
    ],
)
def test_plain_fields(search, q, expected):
    assert search(q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("created = 2024-01-10", {"alpha"}),
        ("created = 2024-01-11", {"beta", "gamma"}),
        ("created != 2024-01-11", everyone_but("beta", "gamma")),
        ("created < 2024-01-11", {"alpha"}),
        ("created <= 2024-01-11", {"alpha", "beta", "gamma"}),
        ("created > 2024-01-11", everyone_but("alpha", "beta", "gamma")),
        ("created >= 2024-01-11", everyone_but("alpha")),
        ("created in (2024-01-10, 2024-02-01)", {"alpha", "delta"}),
        ("created = 2024-01-10T12:00:00Z", {"alpha"}),
        ("created != 2024-01-10T12:00:00Z", everyone_but("alpha")),
        ("created > 2024-01-10T12:00:00Z", everyone_but("alpha")),
        ("created >= 2024-01-10T12:00:00Z", EVERYONE),
        ("created <= 2024-01-11T00:00:00Z", {"alpha", "beta"}),
        ("created < 2024-01-11T00:00:00Z", {"alpha"}),
        ("created < 2024-01-11T01:00:00+02:00", {"alpha"}),
        ("created = 2024-01-10T12:00", {"alpha"}),
        ('created >= "2024-02-01"', everyone_but("alpha", "beta", "gamma")),
        ('created = "2024-01-10T12:00:00Z"', {"alpha"}),
    ],
)
def test_created_takes_whole_days_or_instants(search, q, expected):
    assert search(q) == expected


def test_id_and_project_and_workspace_take_ids(search, rows, workspace, project):
    assert search(f"id = {rows['beta'].pk}") == {"beta"}
    assert search(f"id in ({rows['beta'].pk}, {rows['gamma'].pk})") == {"beta", "gamma"}
    assert search(f"id != {rows['beta'].pk}") == everyone_but("beta")
    assert search(f"project = {rows['zeta'].project_id}") == {"zeta"}
    assert search(f'project in ({project.pk}, "bert")') == everyone_but("epsilon", "epsilon2")
    assert search(f"project != {project.pk}") == {"epsilon", "epsilon2", "zeta"}
    assert search(f"workspace = {workspace.pk}") == everyone_but("zeta")
    assert search(f"workspace != {workspace.pk}") == {"zeta"}


def test_a_blank_query_lists_everything(search):
    assert search("") == EVERYONE
    assert search("   ") == EVERYONE


# ----------------------------------------------------------------------------- visibility


def test_queries_run_only_over_the_models_the_caller_may_see(search, bob, carol, eve):
    assert search('hp.optimizer = "adam"', user=bob) == {"alpha", "epsilon", "epsilon2"}
    assert search("m.accuracy > 0.9", user=carol) == {"alpha"}
    assert search("size > 0", user=eve) == set()


def test_a_private_model_never_matches_someone_elses_query_even_by_id(search, rows, bob):
    secret = rows["secret"].pk
    assert search(f"id = {secret}", user=bob) == set()
    assert search(f"id = {secret} or id = {rows['zeta'].pk}", user=bob) == set()
    assert search('visibility = "private"', user=bob) == set()
    assert search("not size = 0", user=bob) == {"alpha", "beta", "gamma", "delta", "epsilon", "epsilon2"}


def test_private_models_match_their_uploaders_queries(search, rows, alice):
    assert search(f"id = {rows['secret'].pk}", user=alice) == {"secret"}


# ----------------------------------------------------------------------------- beside other filters


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"hyperparam": "lr", "q": "hp.lr < 0.001"}, {"alpha"}),
        ({"hyperparam": "note", "q": "not hp.note = null"}, {"beta"}),
        ({"hyperparam": "lr,note", "q": "not hp.lr < 0.001"}, {"beta"}),
        ({"param": "epochs", "q": 'params.epochs = "10"'}, {"beta"}),
        ({"metric": "accuracy", "q": "not m.accuracy > 0.9"}, {"beta", "gamma"}),
        ({"tag": "prod", "q": "hp.lr exists"}, {"alpha"}),
        ({"search": "eps", "q": "version = 1"}, {"epsilon"}),
        ({"name": "epsilon", "q": "size > 50"}, {"epsilon2"}),
        ({"hyperparam": "lr"}, {"alpha", "beta", "gamma"}),
    ],
)
def test_the_old_filters_keep_working_beside_q(search, params, expected):
    assert search(**params) == expected


def test_project_filter_and_q_together(search, rows):
    assert search(project=rows["epsilon"].project_id, q="version = 2") == {"epsilon2"}


def test_the_page_counts_only_matching_models(api, rows, alice):
    body = api.as_user(alice).get("/api/v1/models/", {"q": 'hp.optimizer = "adam"', "per_page": 2}).json()
    assert body["pagination"]["total_items"] == len(ADAM)
    assert len(body["data"]) == 2


# ----------------------------------------------------------------------------- errors


def test_a_malformed_query_is_a_400_naming_what_was_expected_and_where(api, rows, alice):
    response = api.as_user(alice).get("/api/v1/models/", {"q": "hp.lr >"})
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "message": "Invalid input.",
        "errors": {
            "q": [
                "Expected a value (a number, a quoted string, true, false or null) at offset 7, "
                "found the end of the text."
            ]
        },
    }


def test_a_query_a_field_cannot_answer_is_a_400(api, rows, alice):
    response = api.as_user(alice).get("/api/v1/models/", {"q": 'size like "1%"'})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "q": ["'size' cannot be used with like at offset 5; whole-number fields take = != < <= > >= and in."]
    }


def test_a_bad_ordering_is_a_400_on_its_own_field(api, rows, alice):
    response = api.as_user(alice).get("/api/v1/models/", {"q": "size > 1", "ordering": "-tag"})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "ordering": ["Models cannot be ordered by tag, as a model may have several at offset 1."]
    }


def test_query_and_ordering_errors_are_reported_together(api, rows, alice):
    response = api.as_user(alice).get("/api/v1/models/", {"q": "size >", "ordering": "nope"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"q", "ordering"}


def test_anonymous_callers_get_a_401_not_a_query_error(api, rows):
    response = api.as_user(None).get("/api/v1/models/", {"q": "hp.lr >"})
    assert response.status_code == 401
