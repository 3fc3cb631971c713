"""Rule conditions, in the search language of `q=` (registry/search, docs/search.md).

A condition is parsed and compiled exactly as the models list does, and checked against one
version in the database. When the version fails it, each top-level part (joined by `and`) is
checked on its own, so the answer can say which part failed and what the version holds there:
`metrics.accuracy is 0.87; the rule for production needs metrics.accuracy >= 0.9`.
"""

import json
from dataclasses import dataclass

from registry import keypaths
from registry.models import MLModel
from registry.search import fields
from registry.search.compiler import compile_query
from registry.search.errors import QueryError
from registry.search.parser import parse_query
from registry.search.syntax import And, Comparison, FieldRef, Not


def condition_error(text: str) -> str | None:
    """The parser's message for a condition that cannot run, None for a good (or empty) one."""
    try:
        compile_query(text)
    except QueryError as error:
        return str(error)
    return None


@dataclass(frozen=True)
class Unmet:
    """A part of a condition that a version does not match: as written, and what the version
    holds in the fields it names (`metrics.accuracy is 0.87`), or "" when nothing can be said."""

    text: str
    found: str


def unmet_parts(condition: str, version: MLModel) -> list[Unmet]:
    """The parts of `condition` (a valid query) that `version` does not match; [] when it matches.

    One query when it matches; otherwise one more per top-level part."""
    tree = parse_query(condition)
    if tree is None or _matches(version, compile_query(condition)):
        return []
    parts = tree.children if isinstance(tree, And) else (tree,)
    unmet = [
        Unmet(text=_text(part), found=_found(part, version))
        for part in parts
        if len(parts) == 1 or not _matches(version, compile_query(_text(part)))
    ]
    # The whole fails while each part alone matches: only a part naming a relation with several
    # rows (tags) could do that; name the whole condition then.
    return unmet or [Unmet(text=_text(tree), found=_found(tree, version))]


def _matches(version: MLModel, condition) -> bool:
    return MLModel.objects.filter(condition, pk=version.pk).exists()


# ----------------------------------------------------------------------------- text


def _text(node, inside: type | None = None) -> str:
    """The node written back as a query, from the texts the parser kept (values as written)."""
    if isinstance(node, Comparison):
        return _comparison(node, negated=False)
    if isinstance(node, Not):
        if isinstance(node.child, Comparison) and node.child.operator in ("in", "like", "exists"):
            return _comparison(node.child, negated=True)
        if isinstance(node.child, Comparison):
            return f"not ({_comparison(node.child, negated=False)})"
        return f"not {_text(node.child, Not)}"
    word = " and " if isinstance(node, And) else " or "
    text = word.join(_text(child, type(node)) for child in node.children)
    return text if inside is None or (inside is And and isinstance(node, And)) else f"({text})"


def _comparison(node: Comparison, negated: bool) -> str:
    field, operator = node.target.text, f"not {node.operator}" if negated else node.operator
    if node.operator == "exists":
        return f"{field} {operator}"
    if node.operator == "in":
        return f"{field} {operator} ({', '.join(value.text for value in node.values)})"
    return f"{field} {operator} {node.values[0].text}"


# ----------------------------------------------------------------------------- what the version holds


def _targets(node) -> list[FieldRef]:
    if isinstance(node, Comparison):
        return [node.target]
    if isinstance(node, Not):
        return _targets(node.child)
    return [target for child in node.children for target in _targets(child)]


def _found(node, version: MLModel) -> str:
    seen: dict[str, str] = {}
    for target in _targets(node):
        if target.text not in seen:
            seen[target.text] = f"{target.text} {_value(target, version)}"
    return " and ".join(seen.values())


def _shown(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _value(target: FieldRef, version: MLModel) -> str:
    """What `version` holds in the field, read the way the query reads it: through the field's
    ORM path (a relation by its name), so every field of the allow-list is described alike."""
    field = target.field
    if field.kind == fields.JSON:
        section = getattr(version, field.column) or {}  # the key is a path: hp.optimizer.lr
        return (
            f"is {_shown(keypaths.value_at(section, target.path))}"
            if keypaths.has(section, target.path)
            else "is not set"
        )
    column = field.name_column or field.column
    rows = MLModel.objects.filter(pk=version.pk).values_list(column, flat=True)
    values = sorted({value for value in rows if value is not None}, key=str)
    if field.kind == fields.VISIBILITY:
        return f"is {version.visibility}"
    if not values:
        return "has none"
    if len(values) > 1:
        return f"is one of {', '.join(_shown(value) for value in values)}"
    return "is empty" if values[0] == "" else f"is {_shown(values[0])}"
