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

The catalogue names the leaves of the nested dictionaries by their paths (`optimizer.lr`, as
keypaths.join writes them), so a path is held by a model whose group has a row for the path
itself (a value) or for a path below it (`optimizer` holding a dictionary). Leaves whose path is
longer than keystats.MAX_KEY_LENGTH are not counted: a comparison on such a path is left to the
scan, and `exists` on a dictionary all of whose leaves have such paths (no shorter one) is the
one case the condition would miss; no key people use comes near 500 characters.
"""

from collections.abc import Sequence

from django.db.models import BooleanField, F, Func, Q

from registry import keypaths
from registry.keystats import MAX_KEY_LENGTH
from registry.models import ProjectKeyCount


def catalogued_key(path: Sequence[str]) -> str | None:
    """The catalogue's `key` for a path, or None when the catalogue does not count it."""
    key = keypaths.join(tuple(path))
    return None if len(key) > MAX_KEY_LENGTH else key


class KeyCatalogued(Func):
    """True for a model whose group has a catalogue row for `section`'s `key` (see the module)."""

    output_field = BooleanField()

    def __init__(self, section: str, key: str):
        self.section, self.key = section, key
        super().__init__(F("project_id"), F("private"), F("uploader_id"))

    def as_postgresql(self, compiler, connection, **extra_context):
        table = connection.ops.quote_name(ProjectKeyCount._meta.db_table)
        rows = f'SELECT 1 FROM {table} WHERE "section" = %s AND ("key" = %s OR starts_with("key", %s))'  # noqa: S608
        return f"EXISTS ({rows})", (self.section, self.key, self.key + ".")

    def as_sqlite(self, compiler, connection, **extra_context):
        table = connection.ops.quote_name(ProjectKeyCount._meta.db_table)
        columns = []
        params: list = []
        for expression in self.source_expressions:
            sql, column_params = compiler.compile(expression)
            columns.append(sql)
            params.extend(column_params)
        groups = (
            f'SELECT "project_id", "private", "uploader_id" FROM {table} '  # noqa: S608
            'WHERE "section" = %s AND ("key" = %s OR substr("key", 1, %s) = %s)'
        )
        below = self.key + "."
        return f"(({', '.join(columns)}) IN ({groups}))", (*params, self.section, self.key, len(below), below)


def narrow(condition, section: str, path: Sequence[str]):
    """`condition` (a comparison that needs `path` in `section`) AND the catalogue holds the key."""
    key = catalogued_key(path)
    return condition if key is None else condition & Q(KeyCatalogued(section, key))
