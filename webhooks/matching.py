"""Which events a subscription wants: its kinds, its scope and its condition.

Kinds are those of events/kinds.py, a family (`alias.*`, or `alias` alone, as the events API's
`kind=` filter takes them), or `*` for every kind. The condition is a query in the search
language (docs/search.md), evaluated on the model version the event concerns (its `model_id`:
the uploaded, changed or deleted version, the version an alias names) as the version is when the
event is recorded, inside the change's transaction. An event about no version (a workspace, a
project, a member) does not match a subscription with a condition.
"""

from django.core.exceptions import ValidationError

from events.kinds import FAMILIES, KINDS
from registry.search.compiler import compile_query
from registry.search.errors import QueryError

EVERY_KIND = "*"
MAX_KINDS = 100


def clean_kinds(value) -> list[str]:
    """The kinds as stored: a list of distinct strings, each known. Raises a ValidationError on `kinds`."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError({"kinds": "Give a list of event kinds: model.created, a family such as alias.*, or *."})
    if len(value) > MAX_KINDS:
        raise ValidationError({"kinds": f"At most {MAX_KINDS} kinds."})
    kinds: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _known(item):
            shown = repr(item)[:70]
            raise ValidationError(
                {
                    "kinds": f"Unknown kind {shown}: give a kind (model.created), a family "
                    f"({', '.join(sorted(FAMILIES))}, alone or as alias.*) or *."
                }
            )
        if item not in kinds:
            kinds.append(item)
    return kinds


def _known(item: str) -> bool:
    return item == EVERY_KIND or item in KINDS or item.removesuffix(".*") in FAMILIES


def wants_kind(kinds: list[str], kind: str) -> bool:
    family = kind.split(".", 1)[0]
    return any(item in (EVERY_KIND, kind, family, f"{family}.*") for item in kinds)


def clean_condition(text) -> str:
    """The condition as stored (blank for none), after checking that it compiles."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValidationError({"condition": 'Give a query as text, e.g. alias = "production".'})
    if text.strip():
        try:
            compile_query(text)
        except QueryError as error:
            raise ValidationError({"condition": str(error)}) from None
    return text


def condition_holds(condition: str, model_id: int | None) -> bool:
    """Whether the version `model_id` matches the condition now (one query); blank always holds."""
    if not condition.strip():
        return True
    if model_id is None:
        return False
    from registry.models import MLModel

    try:
        compiled = compile_query(condition)
    except QueryError:
        # Saved when it compiled; a later change of the language could make it stop. Then the
        # subscription matches nothing rather than everything.
        return False
    return compiled is None or MLModel.objects.filter(pk=model_id).filter(compiled).exists()
