"""Warnings for keys that no model in scope holds (`metrics.acuracy`), with the nearest that exist.

A key no model holds is not an error (a model may be uploaded with it tomorrow), but an empty
answer to a typo looks like "no model is that good". So a list that comes back empty names the
keys of its query and ordering that the key catalogue (registry/keystats.py) does not know in
the scope, with the nearest catalogued keys (difflib). The catalogue rows are the scope's
visible ones (`ProjectKeyCount.objects.visible_to(user)`, the groups the caller may see): a key
that only someone else's private model holds is neither "known" nor suggested.

A key is known when the catalogue holds it or a path below it: `hp.optimizer exists` is no
typo when the catalogue has `optimizer.lr`.
"""

import difflib
from dataclasses import dataclass

from django.db.models import Q

from registry import keypaths
from registry.search import fields, lexer
from registry.search.errors import QueryError
from registry.search.parser import parse_ordering, parse_query
from registry.search.syntax import And, Comparison, FieldRef, Not, Or

MAX_SUGGESTIONS = 3
CUTOFF = 0.6  # difflib's similarity below which a key is not offered


@dataclass(frozen=True)
class KeyWarning:
    key: str  # as written in the query (`m.acuracy`)
    message: str
    suggestions: list[str]  # spelled as the query spells its field (`m.accuracy`)

    def as_dict(self) -> dict:
        return {"key": self.key, "message": self.message, "suggestions": self.suggestions}


def json_keys(query: str | None, ordering: str | None) -> list[FieldRef]:
    """The JSON keys a query and an ordering name, in order, each once; none if either cannot be read."""
    refs: list[FieldRef] = []
    try:
        tree = parse_query(query) if query else None
        terms = parse_ordering(ordering) if ordering else []
    except QueryError:
        return []  # the filter's own error says what is wrong
    _collect(tree, refs)
    refs.extend(term.target for term in terms)
    seen, unique = set(), []
    for ref in refs:
        name = (ref.field.name, ref.path)
        if ref.path is not None and name not in seen:
            seen.add(name)
            unique.append(ref)
    return unique


def _collect(node, refs: list[FieldRef]) -> None:
    if isinstance(node, And | Or):
        for child in node.children:
            _collect(child, refs)
    elif isinstance(node, Not):
        _collect(node.child, refs)
    elif isinstance(node, Comparison) and node.target.field.kind == fields.JSON:
        refs.append(node.target)


def unknown_key_warnings(refs: list[FieldRef], catalogue_rows) -> list[KeyWarning]:
    """Warnings for the `refs` that no row of `catalogue_rows` (ProjectKeyCount, already scoped to
    what the caller sees) holds; at most two queries, the second only when a key is unknown."""
    if not refs:
        return []
    held = Q()
    for ref in refs:
        held |= Q(section=ref.field.name, key=ref.key) | Q(section=ref.field.name, key__startswith=ref.key + ".")
    known = set(catalogue_rows.filter(held).order_by().values_list("section", "key").distinct())
    unknown = [ref for ref in refs if not any(_holds(ref, section, key) for section, key in known)]
    if not unknown:
        return []
    sections = {ref.field.name for ref in unknown}
    catalogued: dict[str, list[str]] = {}
    rows = catalogue_rows.filter(section__in=sections).order_by("section", "key").values_list("section", "key")
    for section, key in rows.distinct():
        catalogued.setdefault(section, []).append(key)
    return [_warning(ref, catalogued.get(ref.field.name, [])) for ref in unknown]


def _holds(ref: FieldRef, section: str, key: str) -> bool:
    return section == ref.field.name and (key == ref.key or key.startswith(ref.key + "."))


def _warning(ref: FieldRef, keys: list[str]) -> KeyWarning:
    prefix = ref.text[: len(ref.text) - len(ref.text.split(".", 1)[1])]  # `m.` or `metrics.`, as written
    nearest = difflib.get_close_matches(ref.key, keys, n=MAX_SUGGESTIONS, cutoff=CUTOFF)
    suggestions = [prefix + _spelled(key) for key in nearest]
    message = f"No model here has the key {ref.text}"
    message += f"; did you mean {' or '.join(suggestions)}?" if suggestions else "."
    return KeyWarning(ref.text, message, suggestions)


def _spelled(key: str) -> str:
    """A catalogued key as the query language reads it (`` `val acc` ``, not the bare `val acc`)."""
    return lexer.spell_key(keypaths.split(key))
