"""Triggers that refuse UPDATE and DELETE on the event table (events/append_only.py says how).

A later migration that rebuilds the table on SQLite (most ALTERs do) drops its triggers: create
them again there; tests/test_append_only.py fails when they are missing.
"""

from django.db import migrations

from events import append_only


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(append_only.POSTGRESQL_CREATE)
    elif vendor == "sqlite":
        for statement in append_only.SQLITE_CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(append_only.POSTGRESQL_DROP)
    elif vendor == "sqlite":
        for statement in append_only.SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
