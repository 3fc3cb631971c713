"""The JSON keys' expression indexes (registry/search/indexes.py): chosen from the key catalogue,
made and retired by `manage.py search_indexes` and by the background task, on both databases."""

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from registry import services
from registry.models import MLModel
from registry.search import indexes
from registry.search.compiler import compile_ordering, compile_query
from registry.tests.factories import upload

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans and DDL")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plans and DDL")
# Index names per key: in a project and across projects, and their twins (descending on
# PostgreSQL, ascending with NULLs last on SQLite).
PER_KEY = 4


def run(*args) -> str:
    out = io.StringIO()
    call_command("search_indexes", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def drop_search_indexes():
    """CREATE INDEX CONCURRENTLY cannot run in a test's transaction, so these tests commit: clean up."""
    yield
    for name in indexes.existing():
        with connection.cursor() as cursor:
            cursor.execute(indexes.drop_sql(name))


@pytest.fixture
def models(alice, project):
    """Four models: `acc` a number in all, `lr` in all (a number in one, text in three), `note`
    text in all, `it's "odd"` in three, `rare` in one."""
    for n in range(4):
        upload(
            alice,
            project,
            f"m{n}",
            metrics={"acc": n / 10, "note": f"x{n}", **({'it\'s "odd"': n} if n else {})},
            hyperparameters={"lr": 0.1, "rare": 1} if n == 0 else {"lr": "high"},
        )


def names_of(*pairs) -> set[str]:
    """Every index of each (field, key) on this database."""
    return {name for field, key in pairs for name in indexes.KeyIndex(field, key, 0).variants(connection.vendor)}


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = off")  # the tables are tiny; make the planner show its options
        try:
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")


@pytest.mark.django_db(transaction=True)
def test_it_indexes_the_keys_enough_models_hold(models, drop_search_indexes):
    output = run("--min-models", "3")
    keys = [("metrics", "acc"), ("metrics", "note"), ("hyperparameters", "lr"), ("metrics", 'it\'s "odd"')]
    if connection.vendor == "sqlite":
        keys.pop()  # a JSON path cannot spell a double quote: that key stays unindexed on SQLite
    assert set(indexes.existing()) == names_of(*keys)
    assert len(indexes.existing()) == PER_KEY * len(keys)
    assert "create" in output
    assert output.endswith(f"{len(keys)} keys indexed (0 already); changed: +{len(keys)} -0.\n")


@pytest.mark.django_db(transaction=True)
def test_min_share_counts_a_fraction_of_all_models(models, drop_search_indexes):
    run("--min-share", "1.0")  # held by all four: acc, note, lr
    assert set(indexes.existing()) == names_of(("metrics", "acc"), ("metrics", "note"), ("hyperparameters", "lr"))


@pytest.mark.django_db(transaction=True)
def test_a_second_run_changes_nothing(models, drop_search_indexes):
    run("--min-models", "4")
    assert run("--min-models", "4") == "3 keys indexed (3 already); changed: +0 -0.\n"


@pytest.mark.django_db(transaction=True)
def test_it_drops_indexes_the_data_no_longer_calls_for(models, drop_search_indexes):
    run("--min-models", "1")
    assert names_of(("hyperparameters", "rare")) <= set(indexes.existing())
    output = run("--min-models", "4")
    assert set(indexes.existing()) == names_of(("metrics", "acc"), ("metrics", "note"), ("hyperparameters", "lr"))
    assert "drop" in output
    assert output.endswith("changed: +0 -" + ("1.\n" if connection.vendor == "sqlite" else "2.\n"))  # rare (and odd)


@pytest.mark.django_db(transaction=True)
def test_the_limit_keeps_the_most_common_keys(alice, project, drop_search_indexes):
    for n in range(3):
        upload(alice, project, f"m{n}", metrics={"common": n, **({"less": n} if n else {})})
    run("--min-models", "1", "--limit", "1")
    assert set(indexes.existing()) == names_of(("metrics", "common"))


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_changes_nothing(models, drop_search_indexes):
    output = run("--min-models", "4", "--dry-run")
    assert indexes.existing() == {}
    assert output.endswith("would change: +3 -0.\n")


@pytest.mark.django_db(transaction=True)
def test_ranges_inside_a_project_read_the_expression_index(models, project, drop_search_indexes):
    run("--min-models", "3")
    acc = indexes.KeyIndex("metrics", "acc", 0).name
    in_project = MLModel.objects.filter(project=project).order_by()
    assert acc in plan(in_project.filter(compile_query("m.acc > 0.15")))
    if connection.vendor == "postgresql":
        odd = indexes.KeyIndex("metrics", 'it\'s "odd"', 0).name
        assert odd in plan(in_project.filter(compile_query('m.`it\'s "odd"` <= 2')))
    # and the index answers correctly
    assert sorted(in_project.filter(compile_query("m.acc > 0.15")).values_list("name", flat=True)) == ["m2", "m3"]


@pytest.mark.django_db(transaction=True)
def test_a_sort_across_projects_reads_the_index_that_does_not_lead_with_the_project(
    models, alice, workspace, drop_search_indexes
):
    other = services.project_create(user=alice, workspace=workspace, name="others")
    upload(alice, other, "other", metrics={"acc": 0.25, "note": "y"})
    run("--min-models", "3")
    suffix = indexes.ALL_PROJECTS + (indexes.DESCENDING if connection.vendor == "postgresql" else "")
    across = MLModel.objects.visible_to(alice).order_by(*compile_ordering("-m.acc"))[:2]
    shown = plan(across)
    assert indexes.KeyIndex("metrics", "acc", 0).name + suffix in shown
    assert "TEMP B-TREE" not in shown and "Sort" not in shown.replace("Incremental Sort", "")
    assert [model.name for model in across] == ["m3", "other"]
    # a text key too: the index holds the string values after the numbers
    by_note = MLModel.objects.visible_to(alice).order_by(*compile_ordering("-m.note"))
    assert indexes.KeyIndex("metrics", "note", 0).name + suffix in plan(by_note[:2])
    assert [model.name for model in by_note] == ["other", "m3", "m2", "m1", "m0"]


@pytest.mark.django_db(transaction=True)
def test_an_ascending_sort_reads_an_index_in_order_with_the_models_without_the_key_last(
    models, alice, workspace, drop_search_indexes
):
    """`ordering=m.note` (ASC NULLS LAST): on SQLite the `_asc` twin, whose `(value IS NULL),
    value` columns are the order KeyOrderBy writes; before it every visible row was sorted."""
    other = services.project_create(user=alice, workspace=workspace, name="others")
    upload(alice, other, "other", metrics={"acc": 0.25, "note": "y"})
    upload(alice, other, "keyless", metrics={})
    run("--min-models", "3")
    for key, expected in (("note", ["m0", "m1", "m2", "m3", "other", "keyless"]), ("acc", ["m0", "m1", "m2"])):
        rows = MLModel.objects.visible_to(alice).order_by(*compile_ordering(f"m.{key}"))
        shown = plan(rows[:3])
        assert indexes.KeyIndex("metrics", key, 0).name + indexes.ALL_PROJECTS in shown
        assert "TEMP B-TREE" not in shown and "Sort" not in shown.replace("Incremental Sort", "")
        assert [model.name for model in rows][: len(expected)] == expected
    # inside one project: the twin that leads with the project
    in_project = MLModel.objects.filter(project=other).order_by(*compile_ordering("m.note"))
    shown = plan(in_project[:2])
    assert "TEMP B-TREE" not in shown and "Sort" not in shown.replace("Incremental Sort", "")
    assert [model.name for model in in_project] == ["other", "keyless"]
    if connection.vendor == "sqlite":
        assert indexes.KeyIndex("metrics", "note", 0).name + indexes.ASCENDING in shown


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_postgresql_builds_concurrently_and_never_inside_a_transaction(models, drop_search_indexes):
    index = indexes.KeyIndex("metrics", "it's", 0)
    sql = index.create_sql("postgresql", index.name + indexes.ALL_PROJECTS + indexes.DESCENDING)
    assert sql.startswith('CREATE INDEX CONCURRENTLY "search_m_')
    assert "(\"metrics\" -> 'it''s') = 'number'" in sql
    assert "(\"metrics\" ->> 'it''s')::numeric" in sql
    assert sql.endswith('"id" DESC)')
    assert indexes.drop_sql("x") == 'DROP INDEX CONCURRENTLY IF EXISTS "x"'
    with transaction.atomic(), pytest.raises(RuntimeError, match="CONCURRENTLY"):
        indexes.reconcile(1, 10)
    indexes.reconcile(4, 10)
    assert set(indexes.existing().values()) == {True}  # built and valid


@on_sqlite
@pytest.mark.django_db(transaction=True)
def test_sqlite_indexes_the_json_extract_of_a_key(models, drop_search_indexes):
    index = indexes.KeyIndex("metrics", "acc", 0)
    sql = index.create_sql("sqlite", index.name)
    assert sql.startswith(f'CREATE INDEX IF NOT EXISTS "{index.name}" ON "registry_mlmodel" ("project_id", ')
    assert """json_extract("metrics", '$."acc"')""" in sql
    assert not indexes.KeyIndex("metrics", 'it\'s "odd"', 0).indexable("sqlite")


# ----------------------------------------------------------------------------- without an operator


def run_worker():
    """The task backend's own worker, as `manage.py maisie_worker` runs it, until the queue is empty."""
    call_command("db_worker", "--batch", "--interval", "0", "--no-startup-delay", stdout=io.StringIO())


@pytest.fixture
def small_steps(monkeypatch):
    monkeypatch.setattr(indexes, "TRIGGER_STEP", 3)  # a row at 2 or 3 models has reached a step
    monkeypatch.setattr(indexes, "MIN_MODELS", 2)


def reconciles():
    return DBTaskResult.objects.filter(task_path="registry.tasks.reconcile_search_indexes")


@pytest.mark.django_db(transaction=True)
def test_crossing_a_step_in_the_catalogue_queues_one_reconcile(alice, project, small_steps, drop_search_indexes):
    upload(alice, project, "m0", metrics={"acc": 0.1})  # a row of one model: no step crossed
    assert not reconciles().exists()
    upload(alice, project, "m1", metrics={"acc": 0.2})  # the row reaches 2
    upload(alice, project, "m2", metrics={"acc": 0.3})  # and 3: one is queued already
    assert reconciles().count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_worker_creates_the_indexes_of_a_used_key_and_retires_them(
    alice, project, small_steps, drop_search_indexes
):
    for n in range(3):
        upload(alice, project, f"m{n}", metrics={"acc": n / 10}, hyperparameters={"lr": 0.1} if n < 2 else {})
    assert indexes.existing() == {}
    run_worker()
    assert set(indexes.existing()) == names_of(("metrics", "acc"), ("hyperparameters", "lr"))
    assert set(reconciles().values_list("status", flat=True)) == {"SUCCESSFUL", "READY"}  # the next, an hour on
    assert reconciles().get(status="SUCCESSFUL").return_value.startswith("2 keys; created")

    # `lr` goes out of use: the next run (periodic, or queued by a crossing) drops its indexes
    for model in MLModel.objects.filter(name__in=["m0", "m1"]):
        services.model_update(model=model, user=alice, hyperparameters={})
    reconciles().filter(status="READY").update(run_after=timezone.now())  # an hour later
    run_worker()
    assert set(indexes.existing()) == names_of(("metrics", "acc"))


@pytest.mark.django_db(transaction=True)
def test_the_automatic_indexes_are_capped(alice, project, small_steps, monkeypatch, drop_search_indexes):
    monkeypatch.setattr(indexes, "MAX_KEYS", 2)
    for n in range(3):
        upload(alice, project, f"m{n}", metrics={"a": n, "b": n, "c": n, **({"d": n} if n else {})})
    run_worker()
    # the two most common keys (a tie of three broken by name), not the third nor the rarer `d`
    assert set(indexes.existing()) == names_of(("metrics", "a"), ("metrics", "b"))
    assert len(indexes.existing()) == 2 * PER_KEY


@pytest.mark.django_db(transaction=True)
def test_a_nested_key_is_indexed_by_its_path(alice, project, drop_search_indexes):
    for n in range(3):
        upload(alice, project, f"m{n}", hyperparameters={"optimizer": {"lr": n / 10}})
    run("--min-models", "3")
    assert set(indexes.existing()) == names_of(("hyperparameters", "optimizer.lr"))
    suffix = indexes.ALL_PROJECTS + (indexes.DESCENDING if connection.vendor == "postgresql" else "")
    rows = MLModel.objects.visible_to(alice).order_by(*compile_ordering("-hp.optimizer.lr"))
    assert indexes.KeyIndex("hyperparameters", "optimizer.lr", 0).name + suffix in plan(rows[:2])
    assert [model.name for model in rows] == ["m2", "m1", "m0"]


@on_postgresql
def test_exists_on_a_key_reads_the_gin_index(models):
    """jsonb_ops (migration 0010) indexes keys: `exists` no longer scans every candidate."""
    rows = MLModel.objects.filter(compile_query("hp.rare exists")).order_by()
    assert "Bitmap Index Scan on mlmodel_hyperparameters_gin" in plan(rows)
    assert list(rows.values_list("name", flat=True)) == ["m0"]


@pytest.mark.django_db
def test_a_deep_page_reads_its_ids_from_the_covering_index(alice, project):
    """The rows a deep page skips are read from the index alone (visibility's columns included)."""
    for n in range(3):
        upload(alice, project, f"m{n}")
    ids = MLModel.objects.visible_to(alice).order_by("-created", "-id").values("pk")[1:2]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # three rows, sorted cheaper than read in order (undone with the test's transaction)
            cursor.execute("SET enable_sort = off")
    shown = plan(ids)
    assert "mlmodel_created_cover" in shown
    if connection.vendor == "sqlite":
        assert "COVERING INDEX mlmodel_created_cover" in shown
    else:
        assert "Index Only Scan Backward using mlmodel_created_cover" in shown
