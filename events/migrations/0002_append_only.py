"""Triggers that refuse UPDATE and DELETE on the event table (events/append_only.py says how).

A later migration that rebuilds the table on SQLite (most ALTERs do) drops its triggers: create
them again there; tests/test_append_only.py fails when they are missing.
"""

from django.db import migrations

from events import append_only


def _execute(schema_editor, postgresql: str, sqlite: list[str]) -> None:
    statements = {"postgresql": [postgresql], "sqlite": sqlite}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def create(apps, schema_editor):
    _execute(schema_editor, append_only.POSTGRESQL_CREATE, append_only.SQLITE_CREATE)


def drop(apps, schema_editor):
    _execute(schema_editor, append_only.POSTGRESQL_DROP, append_only.SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
