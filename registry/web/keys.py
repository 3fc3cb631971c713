"""The JSON keys of models: their names (`metrics.accuracy`, `m.accuracy`), kinds and the list a user sees."""

import json
from dataclasses import dataclass, field

from django.db.models import Sum

from registry import keypaths
from registry.models import ProjectKeyCount
from registry.search.fields import FIELDS, JSON, JSON_SECTIONS

SECTIONS = JSON_SECTIONS  # the search language's JSON fields (registry/search/fields.py) are the one list
SECTION_LABELS = {section: section.capitalize() for section in SECTIONS}
# The table's column headers name a key's section in a word (the label is its title).
SECTION_SHORT = {"hyperparameters": "hp", "parameters": "param", "metrics": "metric"}
ALIASES = {name: field.name for field in FIELDS if field.kind == JSON for name in (field.name, *field.aliases)}
NUMBER, TEXT, BOOLEAN = "number", "text", "boolean"


def split_key(name: str) -> tuple[str, str] | None:
    """("metrics", "accuracy") for "metrics.accuracy" or "m.accuracy"; None for anything else.

    The key is a path as the catalogue writes it (registry/keypaths.py): "hp.optimizer.lr" gives
    ("hyperparameters", "optimizer.lr")."""
    section, dot, key = name.partition(".")
    section = ALIASES.get(section.lower())
    if not dot or not key or section is None:
        return None
    return section, key


def is_number(value) -> bool:
    """A JSON number: booleans are not numbers here, though Python counts them as ints."""
    return isinstance(value, int | float) and not isinstance(value, bool)


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


def _kind(counts: list[int]) -> str:
    """NUMBER if every value seen is a number, BOOLEAN if every one is a boolean, else TEXT (nulls aside)."""
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
    # How many of the models hold each key ("metrics.accuracy": 950): the table's default columns.
    counts: dict[str, int] = field(default_factory=dict)

    def fields(self) -> list[str]:
        return [f"{s}.{k}" for s in SECTIONS for k in sorted(self.kinds.get(s, {}))]

    def most_held(self, limit: int) -> list[str]:
        """The `limit` keys most models hold; ties go to metrics, then in the fields' order."""
        order = sorted(SECTIONS, key=lambda s: s != "metrics")
        ranked = [f"{s}.{k}" for s in order for k in sorted(self.kinds.get(s, {}))]
        return sorted(ranked, key=lambda name: -self.counts.get(name, 0))[:limit]

    def _find(self, name: str) -> tuple[str, str] | None:
        """(section, catalogued key) for `hp.optimizer.lr`; a key the catalogue lacks as a path is
        tried as one top-level key as written (`m.we`ird key`, a link from before keys were paths)."""
        parsed = split_key(name)
        if parsed is None:
            return None
        section, key = parsed
        known = self.kinds.get(section, {})
        for candidate in (key, keypaths.quote(key)):
            if candidate in known:
                return section, candidate
        return None

    def kind(self, name: str) -> str | None:
        found = self._find(name)
        return self.kinds[found[0]][found[1]] if found else None

    def canonical(self, name: str) -> str | None:
        found = self._find(name)
        return f"{found[0]}.{found[1]}" if found else None

    def sections(self):
        """[(section, label, [(field, key, kind)…])…] for the column chooser and the panel."""
        return [
            (s, SECTION_LABELS[s], [(f"{s}.{k}", k, self.kinds[s][k]) for k in sorted(self.kinds.get(s, {}))])
            for s in SECTIONS
            if self.kinds.get(s)
        ]


def key_catalog(user, project=None) -> KeyCatalog:
    """The keys of the models `user` may see: in `project`, or in every project they can see.

    One aggregate over the key counts that every model write keeps (registry.keystats), summed
    over the (uploader, private) groups the user may see, so the list is never stale: a model
    made private leaves other people's lists in the transaction that hides it.
    """
    rows = ProjectKeyCount.objects.visible_to(user)
    if project is not None:
        rows = rows.filter(project=project)
    kinds: dict[str, dict[str, str]] = {}
    counts: dict[str, int] = {}
    sums = (Sum("numbers"), Sum("booleans"), Sum("texts"), Sum("nulls"))
    counted = rows.order_by().values_list("section", "key").annotate(*sums)
    for section, key, numbers, booleans, texts, nulls in counted:
        kinds.setdefault(section, {})[key] = _kind([numbers, booleans, texts])
        counts[f"{section}.{key}"] = numbers + booleans + texts + nulls
    return KeyCatalog(kinds, counts)
