"""maisie_site.paginator: a page read before its total gives Django's answers, and the total is
read only when it is asked for (registry.listing counts it meanwhile on the counting thread)."""

import pytest
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from maisie_site.paginator import PageFirstPaginator, count_beside
from registry.models import MLModel
from registry.tests.factories import upload

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="a second connection: PostgreSQL")
committed = pytest.mark.django_db(transaction=True)  # no open transaction: what a server sees


def counts_here(queries) -> int:
    return sum("COUNT(*)" in query["sql"] for query in queries)


@pytest.fixture
def seven(project, alice):
    for i in range(7):
        upload(alice, project, name=f"m{i}", metrics={"accuracy": i / 10})
    return MLModel.objects.order_by("name")


@pytest.mark.parametrize("number", [1, 2, 3, "2", 3.0])
def test_a_page_and_its_total_are_django_s(seven, number):
    expected = Paginator(seven, 3).page(number)
    with CaptureQueriesContext(connection) as here:
        page = PageFirstPaginator(seven, 3).page(number)
    assert counts_here(here.captured_queries) == 0 and len(here) == 1  # the rows first, no total yet
    assert [m.name for m in page] == [m.name for m in expected]
    assert (page.number, page.paginator.count, page.paginator.num_pages) == (expected.number, 7, 3)
    assert (page.has_next(), page.has_previous()) == (expected.has_next(), expected.has_previous())


@pytest.mark.parametrize(
    "number, error", [(4, EmptyPage), (0, EmptyPage), (-1, EmptyPage), ("x", PageNotAnInteger), (1.5, PageNotAnInteger)]
)
def test_a_page_that_is_not_there_is_django_s_error(seven, number, error):
    with pytest.raises(error) as raised:
        PageFirstPaginator(seven, 3).page(number)
    with pytest.raises(error) as django_s:
        Paginator(seven, 3).page(number)
    assert str(raised.value) == str(django_s.value)


def test_a_page_past_any_table_is_empty_page_not_a_database_error(seven):
    with pytest.raises(EmptyPage):
        PageFirstPaginator(seven, 3).page(2**62)


@pytest.mark.parametrize("number, shown", [("x", 1), (None, 1), (99, 3), (0, 3), (2, 2)])
def test_the_forgiving_lookup_is_django_s(seven, number, shown):
    page = PageFirstPaginator(seven, 3).get_page(number)
    assert page.number == Paginator(seven, 3).get_page(number).number == shown
    assert [m.name for m in page] == [m.name for m in Paginator(seven, 3).get_page(number)]


def test_an_empty_list_has_its_one_empty_page(project):
    page = PageFirstPaginator(MLModel.objects.order_by("pk"), 3).page(1)
    assert (list(page), page.paginator.count, page.paginator.num_pages) == ([], 0, 1)


@on_postgresql
@committed
def test_a_count_beside_runs_on_another_connection_and_sees_what_was_committed(project, alice, seven):
    upload(alice, project, name="m7")
    with CaptureQueriesContext(connection) as here:
        assert count_beside(seven).result() == 8
    assert len(here) == 0
