"""The key catalogue as a condition: "some model that may match holds this key" (ProjectKeyCount).

Every JSON comparison of the search language (`exists`, `=`, ranges, `like`, `!= null`) is
true only for a model that holds the key, and the catalogue (registry/keystats.py, kept in the
transaction of every model write) has a row for each (project, uploader, private) group in
which some model holds it. So each such comparison is ANDed with `KeyCatalogued`, and a key no
model has is answered without reading a model's JSON (at 100,000 models a scan took 90-200 ms;
bench/search.py, "missing key"):
- PostgreSQL: `EXISTS (SELECT 1 FROM catalogue WHERE section = … AND key = …)`, uncorrelated,
  which the planner runs once as a one-time filter above the whole scan: when it is false the
  models table is never read.
- SQLite: `(project_id, private, uploader_id) IN (the catalogue's groups holding the key)`,
  materialized once; an empty list ends the statement early, and a key held in a few groups
  reads only their models (through the mlmodel_visibility index) where the planner finds it
  cheaper.
The catalogue counts every model, not only those the caller may see: it only ever says "no model
of this group holds the key", never which models do, so the scope's own conditions still decide
what the caller sees, and a group whose key is held only by someone else's private models is
answered by the scan, which hides them. A model holding the key is always in a catalogued group,
so the condition never hides a model that matches.

Keys longer than keystats.MAX_KEY_LENGTH are not catalogued, and nested paths are catalogued
under keypaths' own spelling: for those the condition is left out (plain scan).
"""

from collections.abc import Sequence

from django.db.models import BooleanField, F, Func, Q

from registry.keystats import MAX_KEY_LENGTH
from registry.models import ProjectKeyCount


def catalogued_key(path: Sequence[str]) -> str | None:
    """The catalogue's `key` for a path, or None when the catalogue cannot be trusted for it."""
    if len(path) != 1 or len(path[0]) > MAX_KEY_LENGTH:
        return None
    return path[0]


class KeyCatalogued(Func):
    """True for a model whose group has a catalogue row for `section`'s `key` (see the module)."""

    output_field = BooleanField()

    def __init__(self, section: str, key: str):
        self.section, self.key = section, key
        super().__init__(F("project_id"), F("private"), F("uploader_id"))

    def as_postgresql(self, compiler, connection, **extra_context):
        table = connection.ops.quote_name(ProjectKeyCount._meta.db_table)
        return f'EXISTS (SELECT 1 FROM {table} WHERE "section" = %s AND "key" = %s)', (self.section, self.key)  # noqa: S608

    def as_sqlite(self, compiler, connection, **extra_context):
        table = connection.ops.quote_name(ProjectKeyCount._meta.db_table)
        columns = []
        params: list = []
        for expression in self.source_expressions:
            sql, column_params = compiler.compile(expression)
            columns.append(sql)
            params.extend(column_params)
        groups = f'SELECT "project_id", "private", "uploader_id" FROM {table} WHERE "section" = %s AND "key" = %s'  # noqa: S608
        return f"(({', '.join(columns)}) IN ({groups}))", (*params, self.section, self.key)


def narrow(condition, section: str, path: Sequence[str]):
    """`condition` (a comparison that needs `path` in `section`) AND the catalogue holds the key."""
    key = catalogued_key(path)
    return condition if key is None else condition & Q(KeyCatalogued(section, key))
