"""Tests of data migrations: move the database to a migration, and write rows with the models
as they were there. Used by the registry's and the accounts' migration tests."""

from collections.abc import Iterator

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(target) -> MigrationExecutor:
    """Migrate to `target`, an (app, migration) pair, or to every app's newest with "latest"."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target] if target != "latest" else executor.loader.graph.leaf_nodes())
    return executor


def apps_at(target) -> Iterator:
    """For a generator fixture: the historical models at `target`, with the database migrated
    there meanwhile and to the latest state afterwards."""
    executor = migrate(target)
    try:
        yield executor.loader.project_state([target]).apps
    finally:
        migrate("latest")
