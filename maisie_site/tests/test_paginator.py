"""maisie_site.paginator: a page's total counted on a second connection gives Django's answers."""

import pytest
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from maisie_site.paginator import OverlappingCountPaginator
from registry import services
from registry.models import MLModel
from registry.tests.factories import upload

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="it overlaps on PostgreSQL only")
committed = pytest.mark.django_db(transaction=True)  # no open transaction: what a server sees


def counts_here(queries) -> int:
    return sum("COUNT(*)" in query["sql"] for query in queries)


@pytest.fixture
def seven(project, alice):
    for i in range(7):
        upload(alice, project, name=f"m{i}", metrics={"accuracy": i / 10})
    return MLModel.objects.order_by("name")


@on_postgresql
@committed
@pytest.mark.parametrize("number", [1, 2, 3, "2", 3.0])
def test_a_page_and_its_total_are_django_s_with_the_count_on_another_connection(seven, number):
    expected = Paginator(seven, 3).page(number)
    with CaptureQueriesContext(connection) as here:
        page = OverlappingCountPaginator(seven, 3).page(number)
    assert [m.name for m in page] == [m.name for m in expected]
    assert (page.number, page.paginator.count, page.paginator.num_pages) == (expected.number, 7, 3)
    assert (page.has_next(), page.has_previous()) == (expected.has_next(), expected.has_previous())
    assert counts_here(here.captured_queries) == 0 and len(here) == 1  # only the page's rows here


@on_postgresql
@committed
@pytest.mark.parametrize(
    "number, error", [(4, EmptyPage), (0, EmptyPage), (-1, EmptyPage), ("x", PageNotAnInteger), (1.5, PageNotAnInteger)]
)
def test_a_page_that_is_not_there_is_django_s_error(seven, number, error):
    with pytest.raises(error) as raised:
        OverlappingCountPaginator(seven, 3).page(number)
    with pytest.raises(error) as django_s:
        Paginator(seven, 3).page(number)
    assert str(raised.value) == str(django_s.value)


@on_postgresql
@committed
@pytest.mark.parametrize("number, shown", [("x", 1), (None, 1), (99, 3), (0, 3), (2, 2)])
def test_the_forgiving_lookup_is_django_s(seven, number, shown):
    page = OverlappingCountPaginator(seven, 3).get_page(number)
    assert page.number == Paginator(seven, 3).get_page(number).number == shown
    assert [m.name for m in page] == [m.name for m in Paginator(seven, 3).get_page(number)]


@on_postgresql
@committed
def test_an_empty_list_has_its_one_empty_page(project):
    page = OverlappingCountPaginator(MLModel.objects.order_by("pk"), 3).page(1)
    assert (list(page), page.paginator.count, page.paginator.num_pages) == ([], 0, 1)


@on_postgresql
@committed
def test_the_count_sees_what_was_committed_just_before(project, alice, seven):
    paginator = OverlappingCountPaginator(seven, 3)
    upload(alice, project, name="m7")
    assert paginator.page(1).paginator.count == 8


@pytest.mark.django_db
def test_inside_a_transaction_it_counts_on_this_connection(seven):
    # A test's transaction (or a request's) holds rows the other connection cannot see yet.
    with CaptureQueriesContext(connection) as here:
        page = OverlappingCountPaginator(seven, 3).page(3)
    assert [m.name for m in page] == ["m6"] and page.paginator.count == 7
    assert counts_here(here.captured_queries) == 1


@on_postgresql
@committed
def test_a_total_already_known_is_not_counted(seven, project):
    known = MLModel.objects.order_by("pk").with_known_count(7)
    with CaptureQueriesContext(connection) as here:
        page = OverlappingCountPaginator(known, 3).page(1)
        assert len(list(page)) == 3  # Django's page reads its rows when they are first used
    assert page.paginator.count == 7 and counts_here(here.captured_queries) == 0 and len(here) == 1


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
