"""A page past the first selects its ids over the flat scope (listing.ModelList._flat_scope): the
same rows, in the same order, for every caller, as the list's own queryset gives."""

import orjson
import pytest
from django.test import RequestFactory

from registry import services
from registry.listing import model_list
from registry.tests.factories import upload


@pytest.fixture
def models(alice, bob, workspace, project):
    other = services.project_create(user=alice, workspace=workspace, name="others")
    for n in range(6):
        upload(alice, project if n % 2 else other, f"a{n}", metrics={"acc": n / 10})
        upload(bob, project, f"b{n}", metrics={"acc": n / 10 + 0.05}, private=n % 3 == 0)


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "m.acc > 0.2"}, {"ordering": "-m.acc"}, {"ordering": "name", "q": "m.acc exists"}, {"ordering": "x"}],
)
def test_a_deep_page_shows_what_the_list_shows_at_that_offset(models, alice, bob, carol, eve, staff, project, params):
    for user in (alice, bob, carol, eve, staff):
        for scope in (None, project):
            listing = model_list(user=user, params=params, project=scope)
            expected = [model.name for model in listing.queryset[3:7]]
            shown = [model.name for model in listing.models()[3:7]]
            assert shown == expected, (user.login, scope, params)
            assert [row["name"] for row in _json(listing)] == expected


def _json(listing):
    """The API's rows: dictionaries built in Python, or JSON written by PostgreSQL."""
    rows = listing.json_rows(RequestFactory().get("/api/v1/models/"))[3:7]
    return [row if isinstance(row, dict) else orjson.loads(orjson.dumps(row)) for row in rows]


def test_someone_elses_private_models_stay_hidden_on_a_deep_page(models, alice, bob):
    names = [model.name for model in model_list(user=alice, params={"ordering": "name"}).models()[1:20]]
    assert "b0" not in names and "b3" not in names
    assert {"b1", "b2"} <= set(names)
    assert "b3" in [model.name for model in model_list(user=bob, params={"ordering": "name"}).models()[1:20]]
