"""Rule conditions: written back part by part, and what a version holds, for every field."""

import pytest

from promotions.conditions import condition_error, unmet_parts
from registry import services
from registry.search import fields
from registry.tests.factories import upload

# A condition each kind of field fails on the version below; a new kind must be added here.
FAILING = {
    fields.JSON: "{name}.missing = 1",
    fields.TEXT: '{name} = "zzz"',
    fields.INTEGER: "{name} = 987654",
    fields.DATETIME: "{name} < 2000-01-01",
    fields.VISIBILITY: 'visibility = "private"',
    fields.RELATION: '{name} = "zzz"',
    fields.TAG: '{name} = "zzz"',
    fields.ALIAS: '{name} = "zzz"',
    fields.BOOLEAN: "{name} = true",
}


@pytest.fixture
def version(bob, project):
    model = upload(
        bob,
        project,
        "resnet",
        metrics={"accuracy": 0.85},
        hyperparameters={"optimizer": {"lr": 0.1}},
        tags=["cnn"],
        git_branch="main",
    )
    services.alias_set(registered_model=model.registered_model, name="staging", version=1, user=bob)
    return model


def test_every_kind_of_field_has_a_failing_example():
    assert {field.kind for field in fields.FIELDS} <= set(FAILING)


@pytest.mark.parametrize("field", fields.FIELDS, ids=lambda field: field.name)
def test_every_field_says_what_the_version_holds(version, field):
    condition = FAILING[field.kind].format(name=field.name)

    (unmet,) = unmet_parts(condition, version)

    assert unmet.text == condition
    assert unmet.found.startswith(f"{condition.split(' ')[0]} ")
    assert "zzz" not in unmet.found


@pytest.mark.parametrize(
    ("condition", "found"),
    [
        ('tag = "gpu"', 'tag is "cnn"'),
        ('alias = "production"', 'alias is "staging"'),
        ('project = "zzz"', 'project is "resnets"'),
        ("user = 'carol'", 'user is "bob"'),
        ('visibility = "private"', "visibility is public"),
        ("dataset exists", "dataset is empty"),
        ("hp.lr exists", "hp.lr is not set"),
        ("hp.optimizer.lr > 1", "hp.optimizer.lr is 0.1"),
        ("hp.optimizer.name exists", "hp.optimizer.name is not set"),
        ("git.dirty = true", "git.dirty has none"),
    ],
)
def test_found_values(version, condition, found):
    assert unmet_parts(condition, version)[0].found == found


def test_a_matching_condition_has_no_unmet_parts(version):
    assert unmet_parts('metrics.accuracy > 0.8 and branch = "main" and tag = "cnn"', version) == []


def test_only_the_failing_parts_are_named(version):
    unmet = unmet_parts(
        'metrics.accuracy > 0.8 and (branch = "dev" or tag in ("a", "b")) and not size > 100000', version
    )

    assert [part.text for part in unmet] == ['branch = "dev" or tag in ("a", "b")']
    assert unmet[0].found == 'branch is "main" and tag is "cnn"'


def test_condition_error_is_the_parsers_message_or_none():
    assert condition_error("") is None
    assert condition_error("metrics.accuracy > 0.9") is None
    assert condition_error("metrics.accuracy >> 0.9").endswith(".")
