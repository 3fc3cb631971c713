"""Rule conditions in the search language (registry/search, docs/search.md)."""

from registry.search.compiler import compile_query
from registry.search.errors import QueryError


def condition_error(text: str) -> str | None:
    """The parser's message for a condition that cannot run, None for a good (or empty) one."""
    try:
        compile_query(text)
    except QueryError as error:
        return str(error)
    return None
