"""`GET /api/v1/models/?cursor=`: keyset pages (registry/cursors.py), and numbered pages past the
first, which select their ids before building their rows (registry/listing.py `_page`)."""

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import services
from registry.models import MLModel
from registry.tests.factories import upload

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's")

URL = "/api/v1/models/"

# Values of metrics.acc by JSON type, with ties and models without the key (NULLs in every part).
ACC = [0.5, 0.5, 0.9, "high", "low", True, False, None, 0.1, None, "high", 2]

ORDERINGS = ["", "id", "-id", "name", "-metrics.acc", "metrics.acc", "project,-version", "user,-created", "-size"]


@pytest.fixture
def twelve(project, alice):
    models = []
    for n, acc in enumerate(ACC):
        metrics = {} if acc is None else {"acc": acc}
        models.append(upload(alice, project, name=f"m{n % 5}", metrics=metrics, content=b"w" * (n % 4 + 1)))
    return models


def names(body) -> list[str]:
    return [f"{row['name']} v{row['version']}" for row in body["data"]]


def walk(client, per_page: int, between=None, **params) -> list[dict]:
    """Every page through `next_cursor`, calling `between()` after each page."""
    rows, cursor, pages = [], "", 0
    while True:
        response = client.get(URL, {**params, "cursor": cursor, "per_page": per_page})
        assert response.status_code == 200, response.json()
        body = response.json()
        rows += body["data"]
        pages += 1
        assert pages < 100
        if between:
            between()
        if not body["pagination"]["has_next"]:
            assert body["pagination"]["next_cursor"] is body["pagination"]["next"] is None
            return rows
        cursor = body["pagination"]["next_cursor"]


def all_at_once(client, **params) -> list[dict]:
    response = client.get(URL, {**params, "per_page": 1000})
    assert response.status_code == 200, response.json()
    return response.json()["data"]


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_cursor_pages_walk_the_list_in_its_order(api, alice, twelve, ordering):
    client = api.as_user(alice)
    everything = all_at_once(client, ordering=ordering)
    assert len(everything) == 12
    for per_page in (1, 5, 12):
        assert walk(client, per_page, ordering=ordering) == everything, per_page


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_numbered_pages_past_the_first_are_the_list_s_rows_in_order(api, alice, twelve, ordering):
    client = api.as_user(alice)
    everything = all_at_once(client, ordering=ordering)
    pages = [client.get(URL, {"ordering": ordering, "per_page": 5, "page": n}).json() for n in (1, 2, 3)]
    assert [row for page in pages for row in page["data"]] == everything
    assert [page["pagination"]["page"] for page in pages] == [1, 2, 3]
    assert pages[2]["pagination"] == {
        "has_next": False,
        "has_prev": True,
        "page": 3,
        "per_page": 5,
        "total_pages": 3,
        "total_items": 12,
    }


@pytest.mark.parametrize("ordering", ["", "id", "-metrics.acc", "name"])
def test_rows_inserted_and_deleted_while_walking_neither_repeat_nor_skip_the_others(
    api, alice, project, twelve, ordering
):
    client = api.as_user(alice)
    before = {row["id"] for row in all_at_once(client, ordering=ordering)}
    doomed = sorted(before)[::3]  # some deleted mid-walk, seen already or not yet
    deleted, added = set(), []

    def change():
        if doomed:
            pk = doomed.pop()
            services.model_delete(model=MLModel.objects.get(pk=pk), user=alice)
            deleted.add(pk)
        acc = [0.7, "mid", None][len(added) % 3]
        added.append(upload(alice, project, name="late", metrics={} if acc is None else {"acc": acc}).pk)

    seen = [row["id"] for row in walk(client, 2, between=change, ordering=ordering)]
    assert len(seen) == len(set(seen)), "a row came twice"
    assert before - deleted <= set(seen), "a row present throughout was skipped"
    assert set(seen) <= before | set(added)
    assert len(deleted) == 4


def test_the_next_link_carries_the_filters_and_the_cursor(api, alice, twelve):
    client = api.as_user(alice)
    first = client.get(URL, {"cursor": "", "per_page": 2, "ordering": "id", "q": 'name = "m1"', "page": 3}).json()
    assert names(first) == ["m1 v1", "m1 v2"]
    link = first["pagination"]["next"]
    query = parse_qs(urlsplit(link).query)
    assert "page" not in query and query["cursor"] == [first["pagination"]["next_cursor"]]
    second = client.get(link).json()
    assert names(second) == ["m1 v3"]
    assert second["pagination"] == {"has_next": False, "per_page": 2, "next_cursor": None, "next": None}


def test_a_cursor_page_shows_only_what_the_caller_may_see(api, alice, bob, project, twelve):
    services.model_update(model=twelve[0], user=alice, private=True)
    client = api.as_user(bob)
    seen = [row["id"] for row in walk(client, 5)]
    assert sorted(seen) == sorted(m.pk for m in twelve[1:])


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "eyJvIjoiIiwiayI6WzFdfQ",  # {"o":"","k":[1]}: too few keys
        "eyJvIjoiIiwiayI6WyJub29uIiwxXX0",  # {"o":"","k":["noon",1]}: text where a time goes
        "eyJvIjoiIiwiayI6W3sidCI6IjIwMjYtMDEtMDFUMDA6MDA6MDAifSwxXX0",  # a time without its zone
        "eyJvIjoiIiwiayI6W3sidCI6IjIwMjYtMDEtMDFUMDA6MDA6MDArMDA6MDAifSw5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XX0",  # 80 bits
        "eyJvIjoiIiwiayI6W251bGwsMV19",  # {"o":"","k":[null,1]}: NULL in a column
        "W10",  # []
        base64.urlsafe_b64encode(b"[" * 5000).decode(),  # JSON nested past Python's recursion limit
        base64.urlsafe_b64encode(b'{"o":"","k":["\\u0000",1]}').decode(),  # NUL
    ],
)
def test_a_bad_cursor_is_a_400_naming_it(api, alice, twelve, cursor):
    response = api.as_user(alice).get(URL, {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def test_a_cursor_of_another_ordering_is_refused(api, alice, twelve):
    client = api.as_user(alice)
    cursor = client.get(URL, {"cursor": "", "per_page": 2, "ordering": "name"}).json()["pagination"]["next_cursor"]
    response = client.get(URL, {"cursor": cursor, "ordering": "-name"})
    assert response.status_code == 400
    assert "continues the ordering 'name', not '-name'" in response.json()["errors"]["cursor"][0]


def test_a_bad_filter_beside_a_cursor_is_the_filter_s_400(api, alice, twelve):
    response = api.as_user(alice).get(URL, {"cursor": "", "ordering": "tag"})
    assert response.status_code == 400
    assert "ordering" in response.json()["errors"]


def test_a_cursor_page_reads_no_total_and_as_many_queries_for_any_number_of_rows(api, alice, twelve):
    client = api.as_user(alice)
    client.get(URL, {"cursor": ""})
    counts = []
    for per_page in (1, 12):
        with CaptureQueriesContext(connection) as queries:
            assert len(client.get(URL, {"cursor": "", "per_page": per_page}).json()["data"]) == per_page
        assert not any("COUNT(" in query["sql"] for query in queries)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        # The table is small: make the planner show whether an index can give the order.
        cursor.execute("SET enable_seqscan = off; SET enable_sort = off")
        try:
            cursor.execute("EXPLAIN " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_sort")


def page_sql(client, params) -> str:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, params).status_code == 200
    (page,) = [q["sql"] for q in queries if "LIMIT" in q["sql"] and "cursor_key_0" in q["sql"]]
    return page


@on_postgresql
@pytest.mark.parametrize(("ordering", "index"), [("", "mlmodel_created"), ("id", "registry_mlmodel_pkey")])
def test_a_cursor_page_reads_an_index_from_the_cursor_on(api, alice, twelve, ordering, index):
    client = api.as_user(alice)
    cursor = client.get(URL, {"cursor": "", "per_page": 3, "ordering": ordering}).json()["pagination"]["next_cursor"]
    shown = plan(page_sql(client, {"cursor": cursor, "per_page": 3, "ordering": ordering}))
    assert f"Index Scan Backward using {index}" in shown or f"Index Scan using {index}" in shown, shown
    assert "Index Cond" in shown, shown  # the scan starts at the cursor, it does not filter from the top
    assert "Sort" not in shown, shown


@on_postgresql
def test_a_deep_page_builds_its_json_for_its_own_rows_only(api, alice, twelve):
    client = api.as_user(alice)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, {"per_page": 2, "page": 4}).status_code == 200
    (page,) = [q["sql"] for q in queries if "json_build_object" in q["sql"]]
    inner = page[page.index(" IN (SELECT") :]
    assert "OFFSET 6" in inner and "json_build_object" not in inner
