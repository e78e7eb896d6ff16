"""Static types of condition values, and the environment a condition is checked against.

Types exist only at compile time: they let the checker reject ``disbursement_date > 5``
when the policy loads, and let the compiler pick each operator's implementation once
instead of testing value types on every evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

__all__ = [
    "BOOL",
    "DATE",
    "DECIMAL",
    "INT",
    "NULL",
    "STRING",
    "Environment",
    "ParamSource",
    "ValueType",
]

Kind = Literal["int", "decimal", "string", "bool", "date", "list", "null"]


@dataclass(frozen=True)
class ValueType:
    """The type of a field, parameter or sub-expression.

    ``enum_values`` narrows a ``string`` to a declared set, so the checker can catch a
    misspelt enum value; ``item`` is the element type of a ``list``.
    """

    kind: Kind
    enum_values: tuple[str, ...] | None = None
    item: ValueType | None = None

    def __post_init__(self) -> None:
        if (self.kind == "list") != (self.item is not None):
            raise ValueError("a list type needs an item type, and only a list type has one")
        if self.enum_values is not None and self.kind != "string":
            raise ValueError("only a string type can list enum values")

    @classmethod
    def enum(cls, values: Iterable[str]) -> ValueType:
        """A string type restricted to ``values`` (a field declared ``type: enum``)."""
        return cls("string", enum_values=tuple(values))

    @classmethod
    def list_of(cls, item: ValueType) -> ValueType:
        """A list whose elements are of type ``item``."""
        return cls("list", item=item)

    @property
    def is_number(self) -> bool:
        """Ints and decimals mix freely in arithmetic and comparisons."""
        return self.kind in ("int", "decimal")

    @property
    def is_enum(self) -> bool:
        return self.enum_values is not None

    def __str__(self) -> str:
        if self.enum_values is not None:
            return f"enum[{', '.join(self.enum_values)}]"
        if self.item is not None:
            return f"list[{self.item}]"
        return self.kind


INT = ValueType("int")
DECIMAL = ValueType("decimal")
STRING = ValueType("string")
BOOL = ValueType("bool")
DATE = ValueType("date")
NULL = ValueType("null")


class ParamSource(Protocol):
    """The policy's named parameters, possibly effective-dated."""

    def names(self) -> Iterable[str]:
        """Every parameter name, for did-you-mean suggestions."""
        ...

    def type_of(self, name: str) -> ValueType | None:
        """The parameter's type, or ``None`` if there is no such parameter."""
        ...

    def value_at(self, name: str, on: date) -> Any:
        """The value in force on ``on``; ``None`` if none is in force yet."""
        ...


class _NoParams:
    """A parameter source with no parameters, the default of :class:`Environment`."""

    def names(self) -> Iterable[str]:
        return ()

    def type_of(self, name: str) -> ValueType | None:
        return None

    def value_at(self, name: str, on: date) -> Any:
        return None


@dataclass(frozen=True)
class Environment:
    """Everything a condition may read, with its type.

    ``fields`` holds every readable name: the policy's declared fields and the
    built-ins (``as_of``, ``tier``, ``disbursement_date``, ``loan_id``) that the caller
    adds. ``params`` answers ``params.NAME`` and ``param_at("NAME", d)``.
    """

    fields: Mapping[str, ValueType]
    params: ParamSource = field(default_factory=_NoParams)
