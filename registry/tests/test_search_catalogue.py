"""A JSON comparison on a key is ANDed with "the key catalogue holds it" (registry/search/catalogue.py):
the same answers as a scan of the models, for every caller, and a key no model has reads no model."""

import pytest
from django.db import connection

from registry import services
from registry.models import MLModel
from registry.search import catalogue
from registry.search.compiler import compile_query
from registry.tests.factories import upload

QUERIES = [
    "m.acc > 0.1",
    "m.acc exists",
    "not m.acc exists",
    "m.nokey > 0",
    "not m.nokey > 0",
    "hp.nokey exists",
    "m.secret exists",
    "m.secret = 1",
    "not m.secret = 1",
    "m.secret != null",
    'hp.opt = "adam" or m.secret exists',
    'hp.opt like "ad%" and not m.nokey exists',
    'hp.opt in ("adam", "sgd")',
    "m.shared exists",
    "m.gone exists",
    "hp.optimizer exists",
    "hp.optimizer.lr > 0",
    'hp.optimizer.name = "adam"',
    "hp.optimizer.nokey exists",
    "hp.`a.b` = 1",
    "hp.empty exists",
]


@pytest.fixture
def models(alice, bob, project):
    """Alice's public models; Bob's public one holds `shared`; Bob's private one alone holds
    `secret`, and `gone` was held by a model that no longer holds it."""
    nested = {"optimizer": {"name": "adam", "lr": 0.1}, "a.b": 1, "empty": {}}
    upload(alice, project, "a0", metrics={"acc": 0.1}, hyperparameters={"opt": "adam", **nested})
    upload(alice, project, "a1", metrics={"acc": 0.5, "gone": 1}, hyperparameters={"opt": "sgd"})
    upload(bob, project, "b0", metrics={"acc": 0.9, "shared": True})
    upload(bob, project, "secret", metrics={"secret": 1}, private=True)
    services.model_update(model=MLModel.objects.get(name="a1"), user=alice, metrics={"acc": 0.5})


def answers(user, query: str) -> list[str]:
    return sorted(MLModel.objects.visible_to(user).filter(compile_query(query)).values_list("name", flat=True))


def scanned(user, query: str, monkeypatch) -> list[str]:
    """The answer without the catalogue: every model's JSON read."""
    with monkeypatch.context() as patched:
        patched.setattr(catalogue, "catalogued_key", lambda path: None)
        return answers(user, query)


@pytest.mark.parametrize("query", QUERIES)
def test_it_answers_as_a_scan_does_for_every_caller(models, alice, bob, carol, eve, staff, query, monkeypatch):
    for user in (alice, bob, carol, eve, staff):
        assert answers(user, query) == scanned(user, query, monkeypatch), (user.login, query)


def test_a_key_held_only_by_someone_elses_private_model_finds_nothing_for_the_caller(models, alice, bob, carol):
    assert answers(alice, "m.secret exists") == []
    assert answers(carol, "m.secret = 1") == []
    assert answers(bob, "m.secret exists") == ["secret"]


def test_a_key_no_model_has_matches_nothing_and_its_negation_everything_visible(models, alice):
    assert answers(alice, "m.nokey > 0") == []
    assert answers(alice, "hp.nokey exists") == []
    assert answers(alice, "not m.nokey > 0") == ["a0", "a1", "b0"]
    assert answers(alice, "m.gone exists") == []  # uncounted when the edit took it away


def test_a_dictionary_is_found_by_the_paths_below_it(models, alice):
    assert answers(alice, "hp.optimizer exists") == ["a0"]  # catalogued as optimizer.name, optimizer.lr
    assert answers(alice, "hp.empty exists") == ["a0"]
    assert answers(alice, "hp.optim exists") == []  # a prefix of a part is another key


def test_the_comparison_is_narrowed_by_the_catalogue(db):
    sql = str(MLModel.objects.filter(compile_query("m.acc > 1")).query)
    assert "registry_projectkeycount" in sql
    long_key = "k" * 600  # longer than the catalogue counts: left to the scan
    assert "registry_projectkeycount" not in str(MLModel.objects.filter(compile_query(f"m.{long_key} > 1")).query)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_postgresql_never_reads_the_models_for_a_key_no_model_has(models, alice):
    rows = MLModel.objects.visible_to(alice).filter(compile_query("m.nokey > 0")).order_by("-created")[:50]
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params)
        shown = "\n".join(row[0] for row in cursor.fetchall())
    assert "One-Time Filter" in shown
    scan = next(line for line in shown.splitlines() if "on registry_mlmodel" in line)
    assert "never executed" in scan
