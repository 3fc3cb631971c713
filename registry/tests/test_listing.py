"""registry.listing: one pipeline for the models list; how it finds the total, and its pages."""

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from maisie_site.paginator import PageFirstPaginator
from registry import services
from registry.listing import model_list
from registry.models import MLModel
from registry.tests.factories import upload

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="it overlaps on PostgreSQL only")
committed = pytest.mark.django_db(transaction=True)  # no open transaction: what a server sees


def counts_here(queries) -> int:
    return sum("COUNT(*)" in query["sql"] for query in queries)


@pytest.fixture
def seven(project, alice):
    return [upload(alice, project, name=f"m{i}", hyperparameters={"optimizer": "adam"}) for i in range(7)]


def listing(user, query: str, project=None):
    found = model_list(user=user, params=QueryDict(query), project=project)
    assert found.is_valid(), found.errors
    return found


@on_postgresql
@committed
def test_a_filtered_total_is_counted_on_another_connection_while_the_page_is_read(seven, alice):
    found = listing(alice, 'q=hp.optimizer = "adam"&ordering=name')
    with CaptureQueriesContext(connection) as here:
        page = PageFirstPaginator(found.models(), 3).page(3)
        assert (page.paginator.count, [m.name for m in page]) == (7, ["m6"])
    assert counts_here(here.captured_queries) == 0  # the page and its tags only


@pytest.mark.django_db
def test_inside_a_transaction_the_total_is_counted_on_this_connection(seven, alice):
    # A test's transaction (or a request's) holds rows the other connection cannot see yet.
    found = listing(alice, 'q=hp.optimizer = "adam"')
    with CaptureQueriesContext(connection) as here:
        page = PageFirstPaginator(found.models(), 3).page(1)
        assert page.paginator.count == 7
    assert counts_here(here.captured_queries) == 1


def test_a_scope_total_comes_from_the_uploader_counts(seven, alice, project):
    found = listing(alice, f"project={project.pk}&ordering=-created", project=project)
    with CaptureQueriesContext(connection) as here:
        assert found.total() == 7
    (sql,) = [q["sql"] for q in here.captured_queries]
    assert "registry_projectuploadercount" in sql and "registry_mlmodel" not in sql


def test_a_page_of_models_has_its_tags_project_and_uploader_in_fixed_queries(
    project, alice, bob, django_assert_num_queries
):
    upload(alice, project, name="a", tags=["zeta", "alpha"])
    upload(bob, project, name="b", tags=["mid"])
    upload(alice, project, name="c")
    found = listing(bob, "ordering=name")
    # The total from the uploader counts (found as the page is read), the models with project
    # and uploader, then their tags.
    with django_assert_num_queries(3):
        shown = [(m.name, [t.name for t in m.tag_list], m.project.name, m.uploader.login) for m in found.models()[0:3]]
    assert shown == [
        ("a", ["alpha", "zeta"], "resnets", "alice"),
        ("b", ["mid"], "resnets", "bob"),
        ("c", [], "resnets", "alice"),
    ]


def test_json_rows_are_the_api_s_answer(project, alice, bob, rf):
    model = upload(alice, project, name="a", tags=["cnn"], metrics={"acc": 0.5})
    request = rf.get("/api/v1/models/")
    (row,) = listing(bob, "").json_rows(request)[0:10]
    if not isinstance(row, dict):  # PostgreSQL wrote it
        import orjson

        row = orjson.loads(orjson.dumps(row))
    assert (row["id"], row["metrics"], [t["name"] for t in row["tags"]]) == (model.pk, {"acc": 0.5}, ["cnn"])
    assert row["_links"]["self"] == f"http://testserver/api/v1/models/{model.pk}/"


def test_invalid_filters_give_errors_and_no_rows(seven, alice):
    found = model_list(user=alice, params=QueryDict("q=metrics.acc >"), project=None)
    assert not found.is_valid() and "q" in found.errors
    assert list(found.queryset) == []


def test_another_member_s_private_model_is_outside_the_list_and_its_total(seven, alice, bob):
    services.model_update(model=seven[0], user=alice, private=True)
    for query in ("", 'q=hp.optimizer = "adam"'):
        found = listing(bob, query)
        names = [m.name for m in found.models()[0:100]]
        assert "m0" not in names and found.total() == len(names) == 6, query
        assert listing(alice, query).total() == 7


@on_postgresql
@committed
def test_the_api_s_filtered_totals_hide_other_people_s_private_models(api, project, alice, bob):
    for i in range(5):
        upload(alice, project, name=f"a{i}", hyperparameters={"optimizer": "adam"})
    secret = upload(alice, project, name="secret", hyperparameters={"optimizer": "adam"})
    services.model_update(model=secret, user=alice, private=True)
    query = {"q": 'hp.optimizer = "adam"', "per_page": 2, "page": 3}
    mine = api.as_user(alice).get("/api/v1/models/", query).json()["pagination"]
    theirs = api.as_user(bob).get("/api/v1/models/", query).json()
    assert (mine["total_items"], mine["total_pages"]) == (6, 3)
    assert (theirs["pagination"]["total_items"], theirs["pagination"]["total_pages"]) == (5, 3)
    assert [m["name"] for m in theirs["data"]] == ["a0"]  # newest first: a4 a3 | a2 a1 | a0
    assert api.as_user(bob).get("/api/v1/models/", {**query, "page": 4}).status_code == 404


def test_the_models_are_the_ones_counted(seven, alice):
    assert MLModel.objects.count() == listing(alice, "").total() == 7
