"""The one error the search language raises: what was expected, and where."""


class QueryError(ValueError):
    """A query or ordering that cannot be run, with the 0-based character offset of the problem.

    The message already names the offset, so callers can show `str(error)` as it is; `offset`
    is there for a UI that wants to point at the spot.
    """

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return self.message


def query_error(offset: int, problem: str, found: str | None = None, hint: str | None = None) -> QueryError:
    """`<problem> at offset <n>[, found <found>][; <hint>].`, the shape of every message."""
    message = f"{problem} at offset {offset}"
    if found is not None:
        message += f", found {found}"
    if hint is not None:
        message += f"; {hint}"
    return QueryError(message + ".", offset)
