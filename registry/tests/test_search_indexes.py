"""`manage.py search_indexes`: expression indexes for common numeric keys, used by range queries."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from registry.models import MLModel
from registry.search import indexes
from registry.search.compiler import compile_query
from registry.tests.factories import upload

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="expression indexes are for PostgreSQL")


def run(*args) -> str:
    out = io.StringIO()
    call_command("search_indexes", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def drop_search_indexes():
    """CREATE INDEX CONCURRENTLY cannot run in a test's transaction, so these tests commit: clean up."""
    yield
    for name in [*indexes.existing(), *indexes.existing(descending=True)]:
        with connection.cursor() as cursor:
            cursor.execute(indexes.drop_sql(name))


@pytest.fixture
def models(alice, project):
    """Four models: `acc` is a number in all, `lr` in one, `note` is text, `odd key` in three."""
    for n in range(4):
        upload(
            alice,
            project,
            f"m{n}",
            metrics={"acc": n / 10, "note": "x", **({'it\'s "odd"': n} if n else {})},
            hyperparameters={"lr": 0.1} if n == 0 else {"lr": "high"},
        )


def names_of(*pairs) -> set[str]:
    return {indexes.KeyIndex(field, key, 0).name for field, key in pairs}


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # the tables are tiny; make the planner show its options
        try:
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_it_indexes_the_numeric_keys_enough_models_have(models, drop_search_indexes):
    output = run("--min-share", "0.5")
    assert set(indexes.existing()) == names_of(("metrics", "acc"), ("metrics", 'it\'s "odd"'))
    twins = {name + indexes.DESCENDING for name in names_of(("metrics", "acc"), ("metrics", 'it\'s "odd"'))}
    assert set(indexes.existing(descending=True)) == twins
    assert "create" in output
    assert output.endswith("2 keys indexed (0 already); changed: +2 -0.\n")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_second_run_changes_nothing(models, drop_search_indexes):
    run("--min-share", "0.5")
    assert run("--min-share", "0.5") == "2 keys indexed (2 already); changed: +0 -0.\n"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_it_drops_indexes_the_data_no_longer_calls_for(models, drop_search_indexes):
    run("--min-share", "0.5")
    output = run("--min-share", "1.0")  # only `acc` is in every model
    assert set(indexes.existing()) == names_of(("metrics", "acc"))
    assert "drop" in output


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_limit_keeps_the_most_common_keys(models, drop_search_indexes):
    run("--min-share", "0.1", "--limit", "1")
    assert set(indexes.existing()) == names_of(("metrics", "acc"))


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_dry_run_changes_nothing(models, drop_search_indexes):
    output = run("--min-share", "0.5", "--dry-run")
    assert indexes.existing() == {}
    assert output.endswith("would change: +2 -0.\n")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_ranges_inside_a_project_read_the_expression_index(models, project, drop_search_indexes):
    run("--min-share", "0.5")
    acc = indexes.KeyIndex("metrics", "acc", 0).name
    odd = indexes.KeyIndex("metrics", 'it\'s "odd"', 0).name
    in_project = MLModel.objects.filter(project=project).order_by()
    assert acc in plan(in_project.filter(compile_query("m.acc > 0.15")))
    assert odd in plan(in_project.filter(compile_query('m.`it\'s "odd"` <= 2')))
    # and the index answers correctly
    assert sorted(in_project.filter(compile_query("m.acc > 0.15")).values_list("name", flat=True)) == ["m2", "m3"]


@on_postgresql
def test_an_index_definition_is_the_typed_value_of_its_key(db):
    sql = indexes.KeyIndex("metrics", "it's", 0).create_sql()
    assert sql.startswith('CREATE INDEX CONCURRENTLY "search_m_')
    assert "(\"metrics\" -> 'it''s') = 'number'" in sql
    assert "(\"metrics\" ->> 'it''s')::numeric" in sql


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite message")
def test_on_other_databases_there_is_nothing_to_do(db):
    assert run() == "Search indexes are for PostgreSQL; nothing to do on sqlite.\n"
