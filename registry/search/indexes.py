"""Expression indexes for the numeric JSON keys most models have (PostgreSQL only).

A range on a key (`m.f1 >= 0.5`) cannot use the GIN indexes, which answer containment only.
For each key that holds a number in enough models, one btree index on
`(project_id, <the key's typed number>)` lets PostgreSQL answer ranges inside a project from the
index and estimate their selectivity from the index's statistics. The indexed expression is the
very SQL that JSONValue writes (expressions.py), so the planner matches the two.

The same index gives a project's models sorted by the key, lowest first and models without it
last (`ORDER BY … ASC NULLS LAST`), so a page of them reads a page of index entries instead of
sorting every match. Read backwards it would put the models without the key first, so each key
has a twin, `<name>_desc`, on `(project_id, <number> DESC NULLS LAST)` for "highest first".
At 100,000 models in a project, a page of "best f1 first" over 87,000 matches went from a
218 ms sort to 0.2 ms (docs/performance.md, "Web UI").

Keys are chosen from the data, not configured: `manage.py search_indexes` (run it after large
imports, or daily) creates the indexes the data calls for and drops those it no longer does.
"""

import hashlib
import math
from dataclasses import dataclass

from django.db import connection

from registry.search.expressions import NUMBER, pg_typed_value
from registry.search.fields import FIELDS as SEARCH_FIELDS
from registry.search.fields import JSON

# Each JSON field and the short name its indexes are named with: its first alias in the query
# language (`hp`). Renaming an alias renames the indexes, which `search_indexes` then rebuilds.
FIELDS = {field.name: field.aliases[0] for field in SEARCH_FIELDS if field.kind == JSON}
PREFIX = "search_"
DESCENDING = "_desc"  # the suffix of a key's index for descending sorts
_TABLE = "registry_mlmodel"
_MAX_KEY_LENGTH = 200  # a longer key is no one's common metric, and would make a long index definition


@dataclass(frozen=True)
class KeyIndex:
    field: str
    key: str
    models: int  # how many models hold a number there

    @property
    def name(self) -> str:
        digest = hashlib.sha1(f"{self.field}\0{self.key}".encode(), usedforsecurity=False).hexdigest()[:16]
        return f"{PREFIX}{FIELDS[self.field]}_{digest}"

    @property
    def descending_name(self) -> str:
        return self.name + DESCENDING

    def create_sql(self, descending: bool = False) -> str:
        # DDL takes no bound parameters; the driver quotes the key as a literal.
        value, params = pg_typed_value(f'"{self.field}"', (), self.key, NUMBER)
        expression = connection.ops.compose_sql(value, params)
        if descending:
            # The order of compile_ordering's `-key`: highest first, models without the key last.
            name, column = self.descending_name, f"({expression}) DESC NULLS LAST"
        else:
            name, column = self.name, f"({expression})"
        return f'CREATE INDEX CONCURRENTLY "{name}" ON "{_TABLE}" ("project_id", {column})'


def hot_keys(min_share: float, limit: int) -> list[KeyIndex]:
    """The numeric keys held by at least `min_share` of all models, most common first."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{_TABLE}"')  # noqa: S608 (constant table name)
        total = cursor.fetchone()[0]
        if not total:
            return []
        parts = " UNION ALL ".join(
            f'SELECT \'{field}\' AS field, e.key FROM "{_TABLE}", jsonb_each("{field}") AS e '  # noqa: S608
            "WHERE jsonb_typeof(e.value) = 'number'"
            for field in FIELDS
        )
        cursor.execute(
            f"SELECT field, key, count(*) FROM ({parts}) AS k WHERE length(key) <= %s "  # noqa: S608
            "GROUP BY field, key HAVING count(*) >= %s ORDER BY count(*) DESC, field, key LIMIT %s",
            [_MAX_KEY_LENGTH, max(1, math.ceil(min_share * total)), limit],
        )
        return [KeyIndex(field, key, count) for field, key, count in cursor.fetchall()]


def existing(descending: bool = False) -> dict[str, bool]:
    """Name → valid, for every search index on the models table (a failed build leaves it invalid):
    the keys' indexes for ranges and ascending sorts, or with `descending` their `_desc` twins."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND c.relname LIKE %s AND (c.relname LIKE %s) = %s",
            [_TABLE, PREFIX.replace("_", "\\_") + "%", "%" + DESCENDING.replace("_", "\\_"), descending],
        )
        return dict(cursor.fetchall())


def drop_sql(name: str) -> str:
    return f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'
