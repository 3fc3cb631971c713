"""The parsed form of a query: a tree of these nodes, with offsets kept for error messages."""

from dataclasses import dataclass
from datetime import date, datetime

from registry import keypaths
from registry.search.fields import Field

Scalar = int | float | str | bool | None | date | datetime


@dataclass(frozen=True)
class FieldRef:
    field: Field
    path: tuple[str, ...] | None  # the JSON key path, for hyperparameters, parameters and metrics
    offset: int
    text: str  # as written, for messages

    @property
    def key(self) -> str | None:
        """The path as the key catalogue names it (`optimizer.lr`, `` `a.b` ``)."""
        return None if self.path is None else keypaths.join(self.path)


@dataclass(frozen=True)
class Literal:
    kind: str  # "number", "string", "boolean", "null" or "date"
    value: Scalar
    offset: int
    text: str


@dataclass(frozen=True)
class Comparison:
    """`field operator value`, `field in (values)`, `field like "pattern"` or `field exists`."""

    target: FieldRef
    operator: str  # = != < <= > >= in like exists
    values: tuple[Literal, ...]
    offset: int  # of the operator


@dataclass(frozen=True)
class And:
    children: tuple


@dataclass(frozen=True)
class Or:
    children: tuple


@dataclass(frozen=True)
class Not:
    child: object


@dataclass(frozen=True)
class OrderTerm:
    target: FieldRef
    descending: bool
