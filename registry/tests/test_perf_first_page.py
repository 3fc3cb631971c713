"""The first page of the models list (listing._page): on SQLite it selects its ids first, through
the list's own statement, so a project's newest-first page reads the (project, created, id, …)
index in order instead of sorting every row (bench/ui.py --sqlite); the rows are the list's."""

import orjson
import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from registry import services
from registry.listing import _page, model_list
from registry.tests.factories import upload

on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan")


@pytest.fixture
def models(alice, bob, workspace, project):
    other = services.project_create(user=alice, workspace=workspace, name="others")
    for n in range(6):
        upload(alice, project if n % 2 else other, f"a{n}", metrics={"acc": n / 10, "note": f"n{n % 3}"})
        upload(bob, project, f"b{n}", metrics={"acc": n / 10 + 0.05} if n % 4 else {}, private=n % 3 == 0)


@pytest.mark.parametrize(
    "params", [{}, {"ordering": "-m.acc"}, {"ordering": "m.acc"}, {"ordering": "m.note,-id"}, {"q": "m.acc > 0.2"}]
)
def test_the_first_page_shows_the_list_s_first_rows(models, alice, bob, eve, staff, project, params):
    for user in (alice, bob, eve, staff):
        for scope in (None, project):
            listing = model_list(user=user, params=params, project=scope)
            expected = [model.name for model in listing.queryset[0:5]]
            assert [model.name for model in listing.models()[0:5]] == expected, (user.login, scope, params)
            rows = listing.json_rows(RequestFactory().get("/api/v1/models/"))[0:5]
            rows = [row if isinstance(row, dict) else orjson.loads(orjson.dumps(row)) for row in rows]
            assert [row["name"] for row in rows] == expected


@on_sqlite
def test_on_sqlite_a_project_s_newest_first_page_reads_its_ids_from_an_index_in_order(models, alice, project):
    listing = model_list(user=alice, params={}, project=project)
    page = _page(listing.queryset, slice(0, 25))
    sql, params = page.query.sql_with_params()
    assert '"registry_mlmodel"."id" IN (SELECT' in sql
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert "mlmodel_project_created_cover" in plan
    assert "SCAN registry_mlmodel\n" not in plan + "\n"  # the ids are never a scan of the table
    with CaptureQueriesContext(connection) as queries:
        assert len(list(page)) == 7  # a1, a3, a5 and the four of b0-b5 that are not private
    assert len(queries) == 1  # one statement: no query for the visible projects on page 1
