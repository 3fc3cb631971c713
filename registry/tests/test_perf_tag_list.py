"""The unfiltered tag list (bench/floor.py's no-op) reads its page and total through statements
compiled once (maisie_site/prepared.py PreparedList, registry.querysets.visible_tags): the same
rows, order and totals as `Tag.objects.visible_to(user)`, for members, staff and outsiders."""

import pytest

from maisie_site.prepared import STAND_IN_INT, PreparedList
from registry import services
from registry.models import Tag
from registry.querysets import visible_tags
from registry.tests.factories import upload

URL = "/api/v1/tags/"


@pytest.fixture
def tags(workspace, project, alice, bob):
    """Six tags Bob sees, two named alike (in two workspaces); `secret` is carried only by
    Alice's private model."""
    own = services.workspace_create(user=bob, name="Bob's", description="")
    for name in ["b", "a", "c", "d", "e"]:
        Tag.objects.create(workspace=workspace, name=name)
    Tag.objects.create(workspace=own, name="a")
    upload(alice, project, "hidden", private=True, tags=["secret"])
    upload(bob, project, "open", tags=["a"])


def listed(client, **params) -> list[dict]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("login", ["alice", "bob", "eve", "staff"])
def test_pages_of_the_unfiltered_list_are_the_visible_tags_in_order(api, tags, login, request):
    user = request.getfixturevalue(login)
    expected = list(Tag.objects.visible_to(user).values_list("id", flat=True))
    client = api.as_user(user)
    pages = [listed(client, per_page=3, page=n) for n in range(1, max(1, -(-len(expected) // 3)) + 1)]
    assert [row["id"] for page in pages for row in page["data"]] == expected
    assert {page["pagination"]["total_items"] for page in pages} == {len(expected)}
    assert pages[0]["pagination"]["total_pages"] == max(1, -(-len(expected) // 3))
    if login == "bob":  # Alice's private model's only tag is not Bob's to see
        assert "secret" not in [row["name"] for page in pages for row in page["data"]]
        assert len(expected) == 6
    if login == "eve":
        assert expected == []


def test_a_page_past_the_end_is_a_404_and_a_filter_still_filters(api, tags, bob):
    client = api.as_user(bob)
    assert client.get(URL, {"per_page": 5, "page": 3}).status_code == 404
    assert client.get(URL, {"per_page": 5, "page": "x"}).status_code == 404
    found = listed(client, search="a")
    assert [row["name"] for row in found["data"]] == ["a", "a"]


def test_the_no_op_makes_two_queries_and_compiles_nothing_the_second_time(
    tags, bob, django_assert_num_queries, monkeypatch
):
    first = visible_tags(bob)
    assert first.count() == 6
    assert [tag.name for tag in first[0:3]] == ["a", "a", "b"]
    # Compiled: asking again builds no queryset (the ORM's compiler is never called).
    from django.db.models.sql import compiler

    def refuse(*args, **kwargs):
        raise AssertionError("compiled again")

    monkeypatch.setattr(compiler.SQLCompiler, "as_sql", refuse)
    with django_assert_num_queries(2):
        rows = visible_tags(bob)
        assert rows.count() == 6
        assert [tag.name for tag in rows[3:10]] == ["c", "d", "e"]


def test_a_prepared_list_needs_an_order(tags):
    unordered = PreparedList(lambda pk: Tag.objects.filter(workspace_id=pk).order_by(), STAND_IN_INT)
    with pytest.raises(ValueError, match="needs an order"):
        unordered.pages(1)[0:1]
