"""The project table with nested keys: columns, sorting, the filter panel and CSV address paths."""

import csv
import io

import pytest
from django.urls import reverse

from registry.tests.factories import upload


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def url(project, query: str) -> str:
    return reverse("registry:project_detail", args=[project.pk]) + "?" + query


@pytest.fixture
def configs(project, bob):
    return {
        "fast": upload(
            bob, project, name="fast", hyperparameters={"optimizer": {"lr": 0.01}, "a.b": 1}, metrics={"val/acc": 0.9}
        ),
        "slow": upload(
            bob, project, name="slow", hyperparameters={"optimizer": {"lr": 0.0001}, "a.b": 2}, metrics={"val/acc": 0.6}
        ),
        "flat": upload(bob, project, name="flat", hyperparameters={"optimizer": "adam"}, metrics={}),
    }


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def test_csv_has_a_nested_key_column_with_each_models_value(signed_in, project, configs):
    response = signed_in.get(
        url(project, "col=hyperparameters.optimizer.lr&col=metrics.val/acc&ordering=hp.optimizer.lr&format=csv")
    )
    rows = csv_rows(response)
    assert [(r["name"], r["hyperparameters.optimizer.lr"], r["metrics.val/acc"]) for r in rows] == [
        ("slow", "0.0001", "0.6"),
        ("fast", "0.01", "0.9"),
        ("flat", "", ""),
    ]


def test_the_table_sorts_by_a_nested_column_descending(signed_in, project, configs):
    response = signed_in.get(url(project, "col=hp.optimizer.lr&ordering=-hyperparameters.optimizer.lr"))
    assert response.status_code == 200
    assert [row.model.name for row in response.context["rows"]] == ["fast", "slow", "flat"]


def test_the_filter_panel_filters_on_a_nested_key(signed_in, project, configs):
    response = signed_in.get(url(project, "min.hyperparameters.optimizer.lr=0.001"))
    assert [row.model.name for row in response.context["rows"]] == ["fast"]


def test_the_filter_panel_tells_a_literal_dotted_key_from_a_nested_one(signed_in, project, configs):
    # the literal top-level key "a.b" is catalogued backquoted
    response = signed_in.get(url(project, "min.hyperparameters.`a.b`=2"))
    assert [row.model.name for row in response.context["rows"]] == ["slow"]


def test_the_column_chooser_offers_nested_leaves(signed_in, project, configs):
    response = signed_in.get(url(project, ""))
    fields = response.context["state"].catalog.fields()
    assert "hyperparameters.optimizer.lr" in fields
    assert "hyperparameters.`a.b`" in fields
    assert "metrics.val/acc" in fields
