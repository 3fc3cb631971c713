"""The JSON keys of models: their names (`metrics.accuracy`, `m.accuracy`), kinds and the cached list."""

import json
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from registry.search.fields import FIELDS, JSON

SECTIONS = tuple(field.name for field in FIELDS if field.kind == JSON)
SECTION_LABELS = {"hyperparameters": "Hyperparameters", "parameters": "Parameters", "metrics": "Metrics"}
ALIASES = {name: field.name for field in FIELDS if field.kind == JSON for name in (field.name, *field.aliases)}
NUMBER, TEXT, BOOLEAN = "number", "text", "boolean"
CATALOG_TTL = 600  # seconds before the key list is rebuilt from scratch (edits and deletes show then)


def split_key(name: str) -> tuple[str, str] | None:
    """("metrics", "accuracy") for "metrics.accuracy" or "m.accuracy"; None for anything else."""
    section, dot, key = name.partition(".")
    section = ALIASES.get(section.lower())
    if not dot or not key or section is None:
        return None
    return section, key


def display(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _scan_sql(vendor: str) -> str:
    """Per (section, key): how many values are numbers, booleans, and anything else but null."""
    if vendor == "postgresql":
        each, kind = "jsonb_each(CASE jsonb_typeof(m.{s}) WHEN 'object' THEN m.{s} ELSE '{{}}' END)", "jsonb_typeof"
        number, boolean, null = "('number')", "('boolean')", "('null')"
    else:
        each, kind = "json_each(m.{s})", ""
        number, boolean, null = "('integer', 'real')", "('true', 'false')", "('null')"
    value_type = f"{kind}(e.value)" if kind else "e.type"
    # Only constants of this module are formatted in; the ids come from Django's compiler, with params.
    parts = [
        f"SELECT '{s}' AS section, e.key AS key, {value_type} AS t "  # noqa: S608
        f'FROM "registry_mlmodel" m, {each.format(s=s)} e WHERE m.id IN ({{ids}})'
        for s in SECTIONS
    ]
    return (
        "SELECT section, key, "  # noqa: S608
        f"SUM(CASE WHEN t IN {number} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN t IN {boolean} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN t IN {number} OR t IN {boolean} OR t IN {null} THEN 0 ELSE 1 END) "
        f"FROM ({' UNION ALL '.join(parts)}) k GROUP BY section, key"
    )


def _scan(queryset) -> dict[str, dict[str, list[int]]]:
    ids_sql, params = queryset.order_by().values("id").query.sql_with_params()
    sql = _scan_sql(connection.vendor).replace("{ids}", ids_sql)
    counts: dict[str, dict[str, list[int]]] = {s: {} for s in SECTIONS}
    with connection.cursor() as cursor:
        cursor.execute(sql, params * len(SECTIONS))
        for section, key, numbers, booleans, others in cursor.fetchall():
            counts[section][key] = [int(numbers or 0), int(booleans or 0), int(others or 0)]
    return counts


def _merge(into: dict, more: dict) -> dict:
    for section, keys in more.items():
        for key, counts in keys.items():
            seen = into.setdefault(section, {}).setdefault(key, [0, 0, 0])
            for i, n in enumerate(counts):
                seen[i] += n
    return into


def _kind(counts: list[int]) -> str:
    numbers, booleans, others = counts
    if numbers and not booleans and not others:
        return NUMBER
    if booleans and not numbers and not others:
        return BOOLEAN
    return TEXT


@dataclass
class KeyCatalog:
    """Every hyperparameter, parameter and metric key of a set of models, with its kind."""

    kinds: dict[str, dict[str, str]]

    def fields(self) -> list[str]:
        return [f"{s}.{k}" for s in SECTIONS for k in sorted(self.kinds.get(s, {}))]

    def kind(self, name: str) -> str | None:
        parsed = split_key(name)
        return self.kinds.get(parsed[0], {}).get(parsed[1]) if parsed else None

    def canonical(self, name: str) -> str | None:
        parsed = split_key(name)
        if parsed is None or parsed[1] not in self.kinds.get(parsed[0], {}):
            return None
        return f"{parsed[0]}.{parsed[1]}"

    def sections(self):
        """[(section, label, [(field, key, kind)…])…] for the column chooser and the panel."""
        return [
            (s, SECTION_LABELS[s], [(f"{s}.{k}", k, self.kinds[s][k]) for k in sorted(self.kinds.get(s, {}))])
            for s in SECTIONS
            if self.kinds.get(s)
        ]


def key_catalog(queryset, cache_key: str) -> KeyCatalog:
    """The keys of `queryset` (the models one user may see in one scope), cached.

    Reading every JSON dictionary of 100,000 models takes seconds, so the answer is kept in the
    cache with the highest model id it covered: a newer model is read on its own and merged in.
    The whole list is rebuilt after CATALOG_TTL, when edits and deletions show up.
    """
    # ORDER BY id DESC LIMIT 1 walks the primary key from the end; MAX() over a join reads every row.
    newest = queryset.order_by("-id").values_list("id", flat=True).first() or 0
    entry = cache.get(cache_key)
    now = timezone.now().timestamp()
    if entry is None or entry["newest"] > newest or now - entry["built"] > CATALOG_TTL:
        entry = {"newest": newest, "built": now, "counts": _scan(queryset) if newest else {}}
        cache.set(cache_key, entry, CATALOG_TTL)
    elif entry["newest"] < newest:
        entry["counts"] = _merge(entry["counts"], _scan(queryset.filter(id__gt=entry["newest"])))
        entry["newest"] = newest
        cache.set(cache_key, entry, CATALOG_TTL)
    return KeyCatalog({s: {k: _kind(c) for k, c in keys.items()} for s, keys in entry["counts"].items()})
