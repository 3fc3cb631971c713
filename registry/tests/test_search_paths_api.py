"""Nested keys, / and - keys and git.* through GET /api/v1/models/ on the real database (both)."""

import pytest

from registry.models import MLModel
from registry.tests.factories import upload


def names(api, user, **params) -> list[str]:
    response = api.as_user(user).get("/api/v1/models/", {"per_page": 100, **params})
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["data"]]


@pytest.fixture
def configs(alice, project):
    """Hydra-like configs: nested optimizer settings, a literal dotted key, slashed and dashed metrics."""
    upload(alice, project, "fast", hyperparameters={"optimizer": {"lr": 0.01, "name": "adam"}, "optimizer.lr": 5},
           metrics={"val/acc": 0.9, "train-loss": 0.2})  # fmt: skip
    upload(alice, project, "slow", hyperparameters={"optimizer": {"lr": 0.0001, "name": "sgd"}},
           metrics={"val/acc": 0.6, "train-loss": 1.5})  # fmt: skip
    upload(alice, project, "flat", hyperparameters={"optimizer": "adam", "lr": 0.5}, metrics={})
    upload(alice, project, "listed", hyperparameters={"optimizer": ["lr"], "layers": [{"lr": 9}]})
    upload(alice, project, "deep", hyperparameters={"optimizer": {"lr": {"base": 0.1}}})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hp.optimizer.lr > 0.001", ["fast"]),
        ("hp.optimizer.lr < 0.001", ["slow"]),
        ("hp.optimizer.lr = 0.01", ["fast"]),
        ("hp.optimizer.lr in (0.0001, 7)", ["slow"]),
        ("hp.optimizer.name = 'sgd'", ["slow"]),
        ("hp.optimizer.name like 'AD%'", ["fast"]),
        ("hp.optimizer.lr exists", ["deep", "fast", "slow"]),
        ("hp.optimizer.lr.base = 0.1", ["deep"]),
        ("hp.optimizer.lr.base exists", ["deep"]),
        # a list or a string on the way finds nothing: no element of a list is read as a key
        ("hp.optimizer.0 exists", []),
        ("hp.layers.0.lr exists", []),
        # the literal top-level key "optimizer.lr", not the nested one
        ("hp.`optimizer.lr` = 5", ["fast"]),
        ("hp.`optimizer.lr` exists", ["fast"]),
        ("m.val/acc > 0.7", ["fast"]),
        ("m.train-loss < 1", ["fast"]),
        ("m.`train-loss` >= 1", ["slow"]),
    ],
)
def test_nested_and_slashed_keys_find_the_models_that_hold_them(api, alice, configs, query, expected):
    assert sorted(names(api, alice, q=query)) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("not hp.optimizer.lr > 0.001", ["deep", "flat", "listed", "slow"]),
        ("not hp.optimizer.lr exists", ["flat", "listed"]),
        ("hp.optimizer.lr != 0.01", ["slow"]),
        ("hp.optimizer.name != null", ["fast", "slow"]),
    ],
)
def test_negated_nested_conditions_keep_the_models_without_the_key(api, alice, configs, query, expected):
    assert sorted(names(api, alice, q=query)) == expected


def test_ordering_by_a_nested_key_sorts_its_numbers_and_puts_the_rest_last(api, alice, configs):
    # "deep" holds a dictionary there and the others nothing: both after the numbers, by id
    assert names(api, alice, ordering="hp.optimizer.lr") == ["slow", "fast", "flat", "listed", "deep"]
    assert names(api, alice, ordering="-hp.optimizer.lr") == ["fast", "slow", "deep", "listed", "flat"]


def test_ordering_by_a_slashed_metric(api, alice, configs):
    assert names(api, alice, ordering="-m.val/acc")[:2] == ["fast", "slow"]


def test_the_per_key_filter_takes_a_path_and_still_finds_a_literal_dotted_key(api, alice, project, configs):
    upload(alice, project, "dotted", hyperparameters={"optimizer.lr": 1})
    assert sorted(names(api, alice, hyperparam="optimizer.lr")) == ["deep", "dotted", "fast", "slow"]
    assert sorted(names(api, alice, hyperparam="`optimizer.lr`")) == ["dotted", "fast"]
    assert sorted(names(api, alice, hyperparam="optimizer.lr.base")) == ["deep"]
    assert names(api, alice, hyperparam="`open") == []  # not a path: the key as written, which no model has


@pytest.fixture
def provenance(alice, project):
    made = {name: upload(alice, project, name) for name in ("clean", "dirty", "unknown")}
    MLModel.objects.filter(pk=made["clean"].pk).update(git_dirty=False, git_remote_url="https://github.com/acme/vision")
    MLModel.objects.filter(pk=made["dirty"].pk).update(git_dirty=True, git_remote_url="git@gitlab.com:acme/nlp.git")
    return made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("git.dirty = true", ["dirty"]),
        ("git.dirty = false", ["clean"]),
        ("git.dirty != true", ["clean", "unknown"]),
        ("not git.dirty = false", ["dirty", "unknown"]),
        ("git.dirty in (true, false)", ["clean", "dirty"]),
        ("git.dirty exists", ["clean", "dirty"]),
        ("not git.dirty exists", ["unknown"]),
        ("git.remote like '%github.com%'", ["clean"]),
        ("git.remote = 'git@gitlab.com:acme/nlp.git'", ["dirty"]),
        ("git.remote exists", ["clean", "dirty"]),
    ],
)
def test_git_dirty_and_git_remote_are_searchable(api, alice, provenance, query, expected):
    assert sorted(names(api, alice, q=query)) == expected


def test_git_dirty_and_git_remote_are_orderable(api, alice, provenance):
    assert names(api, alice, ordering="-git.dirty") == ["dirty", "clean", "unknown"]
    assert names(api, alice, ordering="git.dirty") == ["clean", "dirty", "unknown"]
    assert names(api, alice, ordering="git.remote") == ["unknown", "dirty", "clean"]  # "" < "git@…" < "https…"
