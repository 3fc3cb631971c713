"""The key catalogue counts the leaves of nested dictionaries by their paths (`optimizer.lr`), in the
write path and in the recount alike, and migration 0009 rebuilds the rows counted before paths."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as global_apps
from django.db import connection

from registry import keystats
from registry.models import MLModel, ProjectKeyCount
from registry.tests.factories import upload
from registry.web.keys import key_catalog

CONFIG = {
    "optimizer": {"lr": 0.01, "name": "adam", "betas": {"b1": 0.9}},
    "optimizer.lr": 5,  # a literal dot: backquoted in the catalogue
    "a`b": {"": True},  # a backquote and an empty key
    "empty": {},  # a leaf: a value someone wrote
    "layers": [{"lr": 1}],  # a list is a leaf; its dictionaries are not walked
    "none": None,
}
LEAVES = {
    "optimizer.lr": (1, 0, 0, 0),
    "optimizer.name": (0, 0, 1, 0),
    "optimizer.betas.b1": (1, 0, 0, 0),
    "`optimizer.lr`": (1, 0, 0, 0),
    "`a``b`.``": (0, 1, 0, 0),
    "empty": (0, 0, 1, 0),
    "layers": (0, 0, 1, 0),
    "none": (0, 0, 0, 1),
}


def hp_rows(project):
    return {
        r.key: (r.numbers, r.booleans, r.texts, r.nulls)
        for r in ProjectKeyCount.objects.filter(project=project, section="hyperparameters")
    }


def test_an_upload_counts_every_leaf_by_its_path(project, bob):
    upload(bob, project, hyperparameters=CONFIG)
    assert hp_rows(project) == LEAVES


def test_the_recount_finds_the_same_leaves_as_the_write_path(project, bob):
    upload(bob, project, hyperparameters=CONFIG)
    assert keystats.drift() == 0
    ProjectKeyCount.objects.all().delete()
    keystats.rebuild()
    assert hp_rows(project) == LEAVES


def test_nesting_deeper_than_the_path_limit_is_counted_at_the_limit(project, bob):
    deep = value = {}
    for n in range(20):
        value[f"k{n}"] = value = {}
    value["x"] = 1
    upload(bob, project, hyperparameters=deep)
    (key,) = hp_rows(project)
    assert key == ".".join(f"k{n}" for n in range(16))
    assert hp_rows(project)[key] == (0, 0, 1, 0)  # the dictionary it holds, as text
    assert keystats.drift() == 0


def test_an_edit_of_a_nested_value_moves_its_leaf(project, bob):
    from registry import services

    model = upload(bob, project, hyperparameters={"optimizer": {"lr": 0.1}})
    services.model_update(user=bob, model=model, hyperparameters={"optimizer": {"momentum": 0.9}})
    assert hp_rows(project) == {"optimizer.momentum": (1, 0, 0, 0)}
    assert keystats.drift() == 0


def test_the_column_chooser_lists_nested_keys_by_path(project, bob):
    upload(bob, project, hyperparameters={"optimizer": {"lr": 0.1, "name": "adam"}})
    catalog = key_catalog(bob, project)
    assert "hyperparameters.optimizer.lr" in catalog.fields()
    assert catalog.kind("hp.optimizer.lr") == "number"
    assert catalog.kind("hyperparameters.optimizer.name") == "text"
    assert catalog.canonical("hp.optimizer.lr") == "hyperparameters.optimizer.lr"


def test_migration_0009_recounts_rows_counted_before_paths(project, bob):
    model = upload(bob, project, hyperparameters={"optimizer": {"lr": 0.1}})
    # As 0003-0008 counted it: the top-level key, its dictionary as text.
    ProjectKeyCount.objects.filter(project=project).delete()
    ProjectKeyCount.objects.create(
        project=project, uploader=bob, private=False, section="hyperparameters", key="optimizer", texts=1
    )
    assert keystats.drift() > 0

    migration = importlib.import_module("registry.migrations.0009_key_catalogue_paths")
    # What RunPython hands the function; a real schema editor cannot open inside the test's transaction on SQLite.
    migration.rebuild_key_catalogue(global_apps, SimpleNamespace(connection=connection))

    assert hp_rows(project) == {"optimizer.lr": (1, 0, 0, 0)}
    assert keystats.drift() == 0
    assert MLModel.objects.get(pk=model.pk).hyperparameters == {"optimizer": {"lr": 0.1}}


@pytest.mark.parametrize("private", [True, False])
def test_nested_keys_of_a_private_model_stay_in_its_group(project, bob, alice, carol, private):
    upload(bob, project, hyperparameters={"optimizer": {"lr": 0.1}}, private=private)
    assert ("hyperparameters.optimizer.lr" in key_catalog(carol, project).fields()) is not private
    assert "hyperparameters.optimizer.lr" in key_catalog(bob, project).fields()
