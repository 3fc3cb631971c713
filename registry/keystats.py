"""Counts of the JSON keys and the uploaders of each project's models, kept by the write path.

`ProjectKeyCount` holds a row per (project, uploader, private, section, key): how many of those
models hold the key with a number, a boolean, any other value, or null. `ProjectUploaderCount`
holds a row per (project, uploader, private): how many models. Whether a user may see a model is
decided by exactly those columns (the project's workspace, then private and uploader), so a
reader sums the rows of the groups it may see, through the same `visible_to(user)` as the models:
the web UI's key catalog and the API's `all_*` lists never read the models' JSON.

services.py calls `record` in the transaction of every model write, after locking the rows of the
projects involved (an upload locks its project anyway to number its version): a project's count
rows change one transaction at a time, and a write upserts its rows in sorted order. Writes that
bypass services (the bulk inserts of `seed_models`) call `rebuild`, as does `manage.py
keystats_rebuild`; `drift` compares the rows with a recount, for `maisie_fsck`.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from registry import keypaths
from registry.models import MLModel, Project, ProjectKeyCount, ProjectUploaderCount
from registry.search.fields import JSON_SECTIONS

SECTIONS = JSON_SECTIONS
KINDS = ("numbers", "booleans", "texts", "nulls")  # ProjectKeyCount's counts, in this order
STATE_FIELDS = ("project_id", "uploader_id", "private", *SECTIONS)
GROUP = ("project_id", "uploader_id", "private")
# Per table: the columns that name a row after GROUP, and its counts.
TABLES = {ProjectKeyCount: (("section", "key"), KINDS), ProjectUploaderCount: ((), ("model_count",))}
BATCH = 500  # rows per upsert: 9 parameters each stay far below SQLite's limit
# Longer keys are not counted (so not listed): a B-tree entry of PostgreSQL holds ~2,700 bytes,
# and a key of 500 characters takes at most 2,000 of them in UTF-8.
MAX_KEY_LENGTH = 500


def kind_of(value) -> int:
    """The index in KINDS of a JSON value's kind."""
    if value is None:
        return 3
    if isinstance(value, bool):  # before int: True is an int to Python, never a number in JSON
        return 1
    if isinstance(value, int | float):
        return 0
    return 2


def state(model: MLModel) -> dict:
    """What the counts know of a model; `MLModel.objects.values(*STATE_FIELDS)` gives the same.

    The dictionaries go through JSON as they do on their way to the database, so a key given
    as a non-string (`{1: …}` from Python code) is counted as the "1" that is stored.
    """
    fields = {name: getattr(model, name) for name in STATE_FIELDS}
    return {**fields, **{section: json.loads(json.dumps(fields[section])) for section in SECTIONS}}


def record(*, added: Iterable[dict] = (), removed: Iterable[dict] = ()) -> None:
    """Count the models (states) that appeared and uncount those that went; an edit is one of each.

    Call it inside the write's transaction, holding the row locks of the models' projects.
    """
    keys: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    uploaders: Counter = Counter()
    for sign, states in ((1, added), (-1, removed)):
        for model in states:
            group = (model["project_id"], model["uploader_id"], bool(model["private"]))
            uploaders[group] += sign
            for section in SECTIONS:
                values = model[section] if isinstance(model[section], dict) else {}
                # Nested dictionaries count by their leaves' paths (`optimizer.lr`), so the
                # catalogue names what the search language, the columns and the charts address.
                for key, value in keypaths.leaves(values):
                    if len(key) <= MAX_KEY_LENGTH:
                        keys[(*group, section, key)][kind_of(value)] += sign
    totals = _apply(ProjectKeyCount, {row: counts for row, counts in keys.items() if any(counts)})
    _apply(ProjectUploaderCount, {row: [n] for row, n in uploaders.items() if n})
    _maybe_reindex(totals)


def _maybe_reindex(totals: list[int]) -> None:
    """Queue the search indexes' reconcile (registry/tasks.py) when a key's row reached or left a
    multiple of TRIGGER_STEP models: the keys people use get their indexes without an operator.
    A write moves each row by one model, so a row crossed a step if it now stands at a multiple
    or one below it; a bulk write may skip a step, which the periodic reconcile catches."""
    from registry.search import indexes

    step = indexes.TRIGGER_STEP
    if any(total > 0 and total % step in (0, step - 1) for total in totals):
        from registry.tasks import schedule_reconcile

        schedule_reconcile()


def _apply(model, deltas: dict) -> list[int]:
    """Add `deltas` ({(project, uploader, private, *key): [counts]}) to the rows; drop emptied rows.
    Returns the rows' new totals (their counts summed)."""
    if not deltas:
        return []
    key_fields, count_fields = TABLES[model]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    unique = ", ".join(quote(name) for name in (*GROUP, *key_fields))
    counts = [quote(name) for name in count_fields]
    width = len(GROUP) + len(key_fields) + len(count_fields)
    emptied: list[int] = []
    totals: list[int] = []
    # Sorted, so two writes that touch the same rows take their locks in the same order.
    rows = sorted(deltas.items())
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
            # Only names from the models' _meta are formatted in; the values are parameters.
            cursor.execute(
                f"INSERT INTO {table} ({unique}, {', '.join(counts)}) VALUES {values} "  # noqa: S608
                f"ON CONFLICT ({unique}) DO UPDATE SET "
                + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
                + f" RETURNING {quote('id')}, {' + '.join(counts)}",
                [value for row, delta in chunk for value in (*row, *delta)],
            )
            for pk, total in cursor.fetchall():
                totals.append(total)
                if total <= 0:
                    emptied.append(pk)
    if emptied:
        model.objects.filter(pk__in=emptied).delete()
    return totals


# ----------------------------------------------------------------------------- recounting


def _recount_sql(vendor: str, project_ids: list[int] | None) -> list[tuple[type, str, list]]:
    """[(table model, SELECT of its rows recounted from the models, params)], one per table.

    The SELECTs give the tables' columns in order: GROUP, then section and key, then KINDS.
    """
    models_table = f'"{MLModel._meta.db_table}"'
    where, params = "", []
    if project_ids is not None:
        where, params = f"m.project_id IN ({', '.join(['%s'] * len(project_ids))})", list(project_ids)
    # Every leaf of the nested dictionaries, by its path written as keypaths.join writes it (a part
    # with a dot or a backquote, or empty, in backquotes), down to keypaths.MAX_DEPTH parts.
    if vendor == "postgresql":
        each = "jsonb_each(CASE WHEN jsonb_typeof({v}) = 'object' THEN {v} ELSE '{{}}' END)"
        value_type, objects_only, find = "jsonb_typeof({v})", "", "strpos"
        nonempty = "{v} <> '{{}}'::jsonb"
        number, boolean, null = "('number')", "('boolean')", "('null')"
    else:  # SQLite: json_each walks an array too, so only objects are read
        each = "json_each(CASE WHEN json_type({v}) = 'object' THEN {v} ELSE '{{}}' END)"
        value_type, objects_only, find = "{t}", "json_type(m.{s}) = 'object'", "instr"
        nonempty = "EXISTS (SELECT 1 FROM json_each(CASE WHEN {t} = 'object' THEN {v} ELSE '{{}}' END))"
        number, boolean, null = "('integer', 'real')", "('true', 'false')", "('null')"
    quoted = (
        f"(CASE WHEN e.key <> '' AND {find}(e.key, '.') = 0 AND {find}(e.key, '`') = 0 THEN e.key "
        "ELSE '`' || replace(e.key, '`', '``') || '`' END)"
    )
    # SQLite's json_each gives an object's value as JSON text and its type in a column of its own;
    # PostgreSQL's value is jsonb and knows its type.
    tops = []
    for s in SECTIONS:
        conditions = " AND ".join(c for c in (objects_only.format(s=s), where) if c)
        sqlite_type = ", e.type" if vendor != "postgresql" else ""
        tops.append(
            f"SELECT m.project_id, m.uploader_id, m.private, '{s}', {quoted}, 1, e.value{sqlite_type} "  # noqa: S608
            f"FROM {models_table} m, {each.format(v=f'm.{s}')} e" + (f" WHERE {conditions}" if conditions else "")
        )
    columns = "project_id, uploader_id, private, section, key, depth, value" + (
        ", type" if vendor != "postgresql" else ""
    )
    node_type = value_type.format(v="n.value", t="n.type")
    branch = f"{node_type} = 'object' AND n.depth < {keypaths.MAX_DEPTH}"
    children = each.format(v=f"CASE WHEN {branch} THEN n.value ELSE NULL END")
    # The WHERE keeps the leaves (most rows) from calling json_each at all; the CASE inside keeps
    # a non-object from reaching it even if the database evaluated the call first.
    deeper = (
        f"SELECT n.project_id, n.uploader_id, n.private, n.section, n.key || '.' || {quoted}, n.depth + 1, "  # noqa: S608
        f"e.value{', e.type' if vendor != 'postgresql' else ''} FROM tree n, {children} e WHERE {branch}"
    )
    leaf = f"NOT ({branch} AND {nonempty.format(v='n.value', t='n.type')})"
    parts = [
        f"WITH RECURSIVE tree({columns}) AS ({' UNION ALL '.join([*tops, deeper])}) "  # noqa: S608
        f"SELECT n.project_id, n.uploader_id, n.private, n.section, n.key, {node_type} AS t FROM tree n "
        f"WHERE {leaf} AND length(n.key) <= {MAX_KEY_LENGTH}"
    ]
    keys_sql = (
        "SELECT project_id, uploader_id, private, section, key, "  # noqa: S608
        f"SUM(CASE WHEN t IN {number} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN t IN {boolean} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN t IN {number} OR t IN {boolean} OR t IN {null} THEN 0 ELSE 1 END), "
        f"SUM(CASE WHEN t IN {null} THEN 1 ELSE 0 END) "
        f"FROM ({' UNION ALL '.join(parts)}) k GROUP BY project_id, uploader_id, private, section, key"
    )
    uploaders_sql = (
        f"SELECT m.project_id, m.uploader_id, m.private, COUNT(*) FROM {models_table} m "  # noqa: S608
        + (f"WHERE {where} " if where else "")
        + "GROUP BY m.project_id, m.uploader_id, m.private"
    )
    return [(ProjectKeyCount, keys_sql, params * len(SECTIONS)), (ProjectUploaderCount, uploaders_sql, params)]


def _columns(model) -> list[str]:
    key_fields, count_fields = TABLES[model]
    return [*GROUP, *key_fields, *count_fields]


def rebuild(*, project_ids: Iterable[int] | None = None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Recount the rows from the models, of every project or of `project_ids`: one INSERT a table."""
    db = connections[using]
    with transaction.atomic(using=using):
        projects = Project.objects.using(using).select_for_update().order_by("pk")
        if project_ids is not None:
            projects = projects.filter(pk__in=list(project_ids))
        # Every counting write holds its projects' row locks: with all of them held, no count
        # changes under the recount (PostgreSQL; SQLite serialises writers anyway).
        locked = list(projects.values_list("pk", flat=True))
        if project_ids is not None and not locked:
            return
        scope = locked if project_ids is not None else None
        with db.cursor() as cursor:
            _no_jit(db, cursor)
            for model, select, params in _recount_sql(db.vendor, scope):
                rows = model.objects.using(using)
                (rows.filter(project_id__in=scope) if scope is not None else rows).delete()
                columns = ", ".join(db.ops.quote_name(name) for name in _columns(model))
                cursor.execute(f"INSERT INTO {db.ops.quote_name(model._meta.db_table)} ({columns}) {select}", params)


def _no_jit(db, cursor) -> None:
    """PostgreSQL plans the recursive walk at millions of rows and compiles it with JIT, which took
    longer (1.3 s) than the recount itself at 20,000 models; the transaction runs without it."""
    if db.vendor == "postgresql":
        cursor.execute("SET LOCAL jit = off")


def drift(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """How many rows of the two tables differ from a recount: 0 when every write kept them."""
    db = connections[using]
    differ = 0
    with transaction.atomic(using=using), db.cursor() as cursor:
        _no_jit(db, cursor)
        for model, select, params in _recount_sql(db.vendor, None):
            cursor.execute(select, params)
            width = len(GROUP) + len(TABLES[model][0])
            expected = {_normal(row[:width]): tuple(int(n) for n in row[width:]) for row in cursor.fetchall()}
            stored = {
                _normal(row[:width]): tuple(row[width:])
                for row in model.objects.using(using).values_list(*_columns(model))
            }
            differ += sum(expected.get(key) != stored.get(key) for key in expected.keys() | stored.keys())
    return differ


def _normal(group: tuple) -> tuple:
    """SQLite's raw rows give `private` as 0/1, the ORM as a bool."""
    return (group[0], group[1], bool(group[2]), *group[3:])
