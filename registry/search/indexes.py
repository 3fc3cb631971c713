"""Expression indexes for the JSON keys many models hold, made and retired from the key catalogue.

A sort or a range on a key (`ordering=-m.f1`, `m.f1 >= 0.5`) cannot use the GIN indexes, which
answer containment and key existence only. For each key that enough models hold (any kind of
value), btree indexes on the key's typed values let the database answer ranges from the index
and read a page of a sorted list as a page of index entries instead of sorting every match
(at 100,000 models in a project, "best f1 first" went from a 218 ms sort to 0.2 ms;
docs/performance.md, "Web UI").

An index holds the key's three typed values in the order the compiler sorts by (number, then
string, then boolean, each NULL unless the key holds that kind; compiler._order), then id, the
tie-breaker: so it gives the whole ORDER BY of a sort on the key, for a number key and a text
key alike (`ordering=hp.optimizer`), and a bounded page stops after its rows. The typed values
are the very SQL the compiler writes (expressions.pg_typed_value; on SQLite
sqlite_paths.typed_value), so the planner matches the two. Per key:
- `<name>`: (project_id, values…, id), for ranges and sorts inside one project;
- `<name>_all`: (values…, id), for sorts across every project the caller sees, which an index
  that leads with the project cannot give (a cross-project sort sorted every visible row);
- on PostgreSQL, each has a `_desc` twin (values DESC NULLS LAST): read backwards, an ascending
  index would put the models without the key first. SQLite reads its plain index backwards as
  DESC NULLS LAST (its NULLs sort first), which is what `-key` asks; for `key` (ASC NULLS LAST,
  which no SQLite index gives) each has an `_asc` twin holding `(value IS NULL), value` per
  kind, the order expressions.KeyOrderBy writes there (bench/search.py question 8).

Which keys: those the key catalogue (ProjectKeyCount) counts in at least `min_models` models,
the most common first, at most `limit` of them. `reconcile` makes the indexes that are wanted
and drops the others; it reads the catalogue, never the models, so it is cheap to run often.
It runs without an operator as a background task (registry/tasks.py), queued when a catalogue
row crosses a multiple of TRIGGER_STEP models (keystats.record) and again every RECONCILE_EVERY
while any runs; `manage.py search_indexes` runs it by hand. On PostgreSQL the indexes are built
and dropped CONCURRENTLY, so writes go on meanwhile (outside a transaction: the worker's tasks
and the command run in autocommit).

Bounds (docs/architecture.md, "Search storage and indexes"): automatic indexes cover at most
MAX_KEYS keys (MAISIE_SEARCH_INDEX_MAX_KEYS, 16): 64 indexes on either database, each written on
every model insert or edit, so the cap bounds what a write costs.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from registry import keypaths
from registry.search import sqlite_paths
from registry.search.expressions import BOOLEAN, NUMBER, STRING, pg_typed_value
from registry.search.fields import FIELDS as SEARCH_FIELDS
from registry.search.fields import JSON

# Each JSON field and the short name its indexes are named with: its first alias in the query
# language (`hp`). Renaming an alias renames the indexes, which `reconcile` then rebuilds.
FIELDS = {field.name: field.aliases[0] for field in SEARCH_FIELDS if field.kind == JSON}
PREFIX = "search_"
DESCENDING = "_desc"  # the suffix of a key's index for descending sorts (PostgreSQL)
ASCENDING = "_asc"  # the suffix of a key's index for ascending sorts, NULLs last (SQLite)
ALL_PROJECTS = "_all"  # the suffix of a key's index that does not lead with the project
_TABLE = "registry_mlmodel"
_CATALOGUE = "registry_projectkeycount"
_MAX_KEY_LENGTH = 200  # a longer key is no one's common metric, and would make a long index definition
_KINDS = (NUMBER, STRING, BOOLEAN)  # the compiler's sort order of a key's values
# Bumped when an index's definition changes, so `reconcile` rebuilds the indexes under new names.
_VERSION = "2"

MIN_MODELS = getattr(settings, "MAISIE_SEARCH_INDEX_MIN_MODELS", 1000)
MAX_KEYS = getattr(settings, "MAISIE_SEARCH_INDEX_MAX_KEYS", 16)
TRIGGER_STEP = 100  # a catalogue row crossing a multiple of this many models queues a reconcile
RECONCILE_EVERY = 3600  # seconds between the reconciles a running one queues after itself


@dataclass(frozen=True)
class KeyIndex:
    field: str
    key: str  # a key path as the catalogue and keypaths.join write it (`optimizer.lr`)
    models: int  # how many models hold the key (any kind of value)

    @property
    def path(self) -> tuple[str, ...]:
        return keypaths.split(self.key)

    @property
    def name(self) -> str:
        text = f"{self.field}\0{self.key}\0{_VERSION}"
        digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]
        return f"{PREFIX}{FIELDS[self.field]}_{digest}"

    @property
    def descending_name(self) -> str:
        return self.name + DESCENDING

    def variants(self, vendor: str) -> dict[str, tuple[bool, str]]:
        """Index name -> (leads with the project?, its order: "", DESCENDING or ASCENDING), for this database."""
        twin = DESCENDING if vendor == "postgresql" else ASCENDING
        return {
            self.name: (True, ""),
            self.name + ALL_PROJECTS: (False, ""),
            self.name + twin: (True, twin),
            self.name + ALL_PROJECTS + twin: (False, twin),
        }

    def indexable(self, vendor: str) -> bool:
        """SQLite indexes only the keys its JSON path can spell (sqlite_paths)."""
        try:
            path = self.path
        except keypaths.KeyPathError:
            return False
        return vendor == "postgresql" or sqlite_paths.json_path(path) is not None

    def create_sql(self, vendor: str, name: str) -> str:
        in_project, order = self.variants(vendor)[name]
        values = [self._value(vendor, kind) for kind in _KINDS]
        if order == DESCENDING:  # the order of compile_ordering's `-key`: highest first, no key last
            columns = [f"({value}) DESC NULLS LAST" for value in values] + ['"id" DESC']
        elif order == ASCENDING:  # `key` as expressions.KeyOrderBy writes it on SQLite
            columns = [column for value in values for column in (f"(({value}) IS NULL)", f"({value})")] + ['"id"']
        else:
            columns = [f"({value})" for value in values] + ['"id"']
        if in_project:
            columns.insert(0, '"project_id"')
        concurrently = "CONCURRENTLY " if vendor == "postgresql" else "IF NOT EXISTS "
        return f'CREATE INDEX {concurrently}"{name}" ON "{_TABLE}" ({", ".join(columns)})'

    def _value(self, vendor: str, kind: str) -> str:
        column = f'"{self.field}"'
        if vendor == "sqlite":
            return sqlite_paths.typed_value(column, self.path, kind)
        # DDL takes no bound parameters; the driver quotes the key as a literal.
        value, params = pg_typed_value(column, (), self.path, kind)
        return connection.ops.compose_sql(value, params)


def wanted_keys(min_models: int, limit: int) -> list[KeyIndex]:
    """The keys held by at least `min_models` models (by the catalogue), most common first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT section, "key", SUM(numbers + booleans + texts) AS n FROM "{_CATALOGUE}" '  # noqa: S608
            'WHERE length("key") <= %s GROUP BY section, "key" HAVING SUM(numbers + booleans + texts) >= %s '
            'ORDER BY n DESC, section, "key" LIMIT %s',
            [_MAX_KEY_LENGTH, max(1, min_models), limit],
        )
        found = [KeyIndex(field, key, int(count)) for field, key, count in cursor.fetchall() if field in FIELDS]
    return [index for index in found if index.indexable(connection.vendor)]


def total_models() -> int:
    """How many models there are, from the maintained uploader counts (a few rows)."""
    with connection.cursor() as cursor:
        cursor.execute('SELECT COALESCE(SUM(model_count), 0) FROM "registry_projectuploadercount"')
        return int(cursor.fetchone()[0])


def existing(descending: bool | None = None) -> dict[str, bool]:
    """Name -> valid, for every search index on the models table (a failed concurrent build
    leaves an invalid one on PostgreSQL); with `descending`, only the `_desc` ones or the others."""
    found = _existing()
    if descending is None:
        return found
    return {name: valid for name, valid in found.items() if name.endswith(DESCENDING) == descending}


def _existing() -> dict[str, bool]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND c.relname LIKE %s",
                [_TABLE, PREFIX.replace("_", "\\_") + "%"],
            )
            return dict(cursor.fetchall())
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND substr(name, 1, %s) = %s",
            [_TABLE, len(PREFIX), PREFIX],
        )
        return {name: True for (name,) in cursor.fetchall()}


def drop_sql(name: str) -> str:
    concurrently = "CONCURRENTLY " if connection.vendor == "postgresql" else ""
    return f'DROP INDEX {concurrently}IF EXISTS "{name}"'


@dataclass
class Plan:
    keys: list[KeyIndex]
    create: list[tuple[str, KeyIndex]]  # (index name, its key)
    drop: list[str]


def plan(min_models: int, limit: int) -> Plan:
    """What `reconcile` would do: the keys wanted, the indexes to create and those to drop."""
    vendor = connection.vendor
    keys = wanted_keys(min_models, limit)
    wanted = {name: index for index in keys for name in index.variants(vendor)}
    present = existing()
    # An invalid index (a build that failed half-way) is dropped and built again.
    drop = sorted(name for name, valid in present.items() if name not in wanted or not valid)
    create = [(name, index) for name, index in wanted.items() if not present.get(name)]
    return Plan(keys, create, drop)


def reconcile(min_models: int | None = None, limit: int | None = None, *, dry_run=False, log=None) -> Plan:
    """Create the indexes the catalogue calls for and drop the rest; `log(line)` hears each step.

    Run it outside a transaction: PostgreSQL builds CONCURRENTLY, which cannot run inside one."""
    if connection.in_atomic_block and connection.vendor == "postgresql" and not dry_run:
        raise RuntimeError("search indexes are built CONCURRENTLY, outside a transaction")
    steps = plan(MIN_MODELS if min_models is None else min_models, MAX_KEYS if limit is None else limit)
    for name in steps.drop:
        log and log(f"drop   {name}")
        if not dry_run:
            with connection.cursor() as cursor:
                cursor.execute(drop_sql(name))
    for name, index in steps.create:
        log and log(f"create {name}  {index.field}.{index.key} ({index.models} models)")
        if not dry_run:
            with connection.cursor() as cursor:
                cursor.execute(index.create_sql(connection.vendor, name))
    return steps
