"""Queries that parse but ask for something a field cannot do: each is a QueryError with an offset."""

import pytest

from registry.search.compiler import compile_ordering, compile_query
from registry.search.errors import QueryError

EXISTS = "exists applies to JSON keys, tag, alias, dataset, branch, commit, git.remote and git.dirty"
WHOLE = "whole-number fields take = != < <= > >= and in"
CREATED = "created takes = != < <= > >= and in"
ONLY_CREATED = "Dates compare only with created"
DATES = "created compares with ISO dates (2024-01-31 or 2024-01-31T12:00:00Z)"


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("hp.x = 2024-01-01", f'{ONLY_CREATED} at offset 7; quote it, "2024-01-01", to compare text.', 7),
        ("hp.x in (1, 2024-01-01)", f'{ONLY_CREATED} at offset 12; quote it, "2024-01-01", to compare text.', 12),
        ("hp.x > null", "null compares only with = and !=, not > at offset 7.", 7),
        ("hp.x <= true", "true and false compare only with = and !=, not <= at offset 8.", 8),
        ("hp.x >= false", "true and false compare only with = and !=, not >= at offset 8.", 8),
        ('hp.x like "a\\\\"', "A like pattern cannot end with a lone backslash at offset 10.", 10),
        ("name = 3", "'name' compares with quoted strings at offset 7, found '3'.", 7),
        ('name in ("a", 3)', "'name' compares with quoted strings at offset 14, found '3'.", 14),
        ("name = null", "'name' compares with quoted strings at offset 7, found 'null'.", 7),
        ("user = 1", "'user' compares with quoted strings at offset 7, found '1'.", 7),
        ("dataset = true", "'dataset' compares with quoted strings at offset 10, found 'true'.", 10),
        ("name exists", f"'name' is never empty at offset 5; {EXISTS}.", 5),
        ("user exists", f"'user' is never empty at offset 5; {EXISTS}.", 5),
        ('size = "big"', "'size' compares with numbers at offset 7, found '\"big\"'.", 7),
        ("id = true", "'id' compares with numbers at offset 5, found 'true'.", 5),
        (
            'size like "1%"',
            f"'size' cannot be used with like at offset 5; {WHOLE}.",
            5,
        ),
        ("version exists", f"'version' cannot be used with exists at offset 8; {WHOLE}.", 8),
        (
            'created = "yesterday"',
            f"{DATES} at offset 10, found '\"yesterday\"'.",
            10,
        ),
        ("created > 5", f"{DATES} at offset 10, found '5'.", 10),
        ('created like "2024%"', f"'created' cannot be used with like at offset 8; {CREATED}.", 8),
        ("created exists", f"'created' cannot be used with exists at offset 8; {CREATED}.", 8),
        ('visibility = "secret"', 'visibility is "public" or "private" at offset 13, found \'"secret"\'.', 13),
        ("visibility = true", "'visibility' compares with \"public\" or \"private\" at offset 13, found 'true'.", 13),
        ('visibility > "a"', "'visibility' cannot be used with > at offset 11; visibility takes = != and in.", 11),
        ("project > 1", "'project' cannot be used with > at offset 8; project takes = != in and like.", 8),
        (
            "workspace exists",
            "'workspace' cannot be used with exists at offset 10; workspace takes = != in and like.",
            10,
        ),
        ("project = true", "'project' compares with an id or a quoted name at offset 10, found 'true'.", 10),
        ("tag = 1", "'tag' compares with quoted tag names at offset 6, found '1'.", 6),
        ('tag > "a"', "'tag' cannot be used with > at offset 4; tag takes = != in like and exists.", 4),
    ],
)
def test_a_field_refuses_operators_and_values_it_cannot_compare(text, message, offset):
    with pytest.raises(QueryError) as caught:
        compile_query(text)
    assert str(caught.value) == message
    assert caught.value.offset == offset


@pytest.mark.parametrize(
    "text",
    [
        "created <= 9999-12-31",
        "created = 9999-12-31",
        "created > 0001-01-01T00:00:00+01:00",
        "created < 9999-12-31T23:59:59-12:00",
        'created in (2024-01-01, "9999-12-31")',
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_an_error_not_a_crash(text):
    with pytest.raises(QueryError) as caught:
        compile_query(text)
    assert str(caught.value).startswith("Date out of range at offset ")


def test_dates_near_the_ends_of_the_calendar_compile():
    assert compile_query("created >= 0001-01-01 and created < 9999-12-30")
    assert compile_query("created > 9999-12-31T00:00:00Z")


def test_errors_deep_inside_a_query_point_at_their_own_offset():
    with pytest.raises(QueryError) as caught:
        compile_query("hp.a = 1 and (hp.b = 2 or not name = 3)")
    assert caught.value.offset == 37


def test_models_cannot_be_ordered_by_tag():
    with pytest.raises(QueryError) as caught:
        compile_ordering("name, -tag")
    assert str(caught.value) == "Models cannot be ordered by tag, as a model may have several at offset 7."


def test_a_blank_query_and_a_blank_ordering_compile_to_none():
    assert compile_query("") is None
    assert compile_ordering("") is None
