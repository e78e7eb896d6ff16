"""The operators and functions of the condition language, each defined once.

:data:`OPERATORS` is the one list of what a condition can compute: for every
operator and function its spelling, arity, the types it takes and gives, when its
result is unknown, and its reference implementation (the function the interpreter
runs, from :mod:`._ops`). The checker reads names, arities and result types from it;
every engine (the interpreter's closures, the generated Python, the portfolio SQL,
the z3 translation of ``analysis``) looks each operator of a tree up here with
:func:`operator_of` or :func:`comparison_of` and keeps one translation per entry,
keyed by :attr:`Operator.key`. Adding an operator is one entry here plus one
translation per engine; ``tests/test_operators.py`` fails for an engine that has
none (an engine may translate an entry to an explicit refusal, never silently).

Three-valued logic (:attr:`Operator.nulls`):

- ``strict``: unknown when any operand is unknown; the implementation is called only
  with known operands, and may itself answer unknown (``None``), e.g. ``x / 0``;
- ``kleene``: ``and``/``or`` follow Kleene's tables (``false and unknown`` is false);
- ``never``: never unknown (``is_set``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..durations import days_between, months_between
from ._ast import Binary, BoolOp, Call, Compare, Unary
from ._ops import (
    contains,
    divide,
    list_contains,
    list_equal,
    list_not_contains,
    list_not_equal,
    modulo,
    not_contains,
)
from ._types import BOOL, DATE, DECIMAL, INT, ParamSource, ValueType

__all__ = [
    "BY_KEY",
    "FUNCTIONS",
    "OPERATORS",
    "Context",
    "Nulls",
    "Operator",
    "Returns",
    "Shape",
    "comparison_of",
    "kleene_and",
    "kleene_or",
    "operator_of",
]

Shape = Literal["unary", "arithmetic", "logic", "comparison", "function"]
"""Where the operator appears: the syntax node it is read from."""

Nulls = Literal["strict", "kleene", "never"]
"""How unknown operands propagate (see the module docstring)."""

Returns = Literal["bool", "int", "decimal", "date", "operand", "number", "parameter"]
"""The result type: a fixed type, the operand's (``operand``), int when every operand
is an int else decimal (``number``), or the named parameter's type (``parameter``)."""

Context = Literal["", "as_of", "params"]
"""What an implementation reads besides its operands: ``as_of``, the evaluation date,
passed as its last argument (``days_since(d)`` is ``days_between(d, as_of)``);
``params``, the policy's parameter source, passed first, the first operand being a
parameter name written in quotes (``param_at``)."""


@dataclass(frozen=True)
class Operator:
    """One operator or function of the condition language."""

    key: str
    """Unique identifier; each engine's translations are keyed by it."""
    symbol: str
    """How a condition spells it (``+``, ``not in``, ``days_between``)."""
    shape: Shape
    arity: int
    """Operands; ``and``/``or`` take two *or more*."""
    accepts: tuple[str, ...]
    """The type of each operand, in words (the checker enforces them)."""
    returns: Returns
    nulls: Nulls
    unknown: str
    """When the result is unknown, in words."""
    implementation: Callable[..., Any] | None
    """The reference semantics on known operands (``strict``), on any operands
    (``never``, ``kleene``); ``None`` only for what the checker resolves at load time."""
    context: Context = ""
    """What the implementation reads besides its operands (see :data:`Context`)."""
    usage: str | None = None
    """For functions: how to call it, quoted in error messages."""
    translated: bool = True
    """False when the checker replaces it by a constant, so no engine ever sees it."""

    def result_type(self, operands: Sequence[ValueType]) -> ValueType | None:
        """The static result type for ``operands``; None for ``parameter`` (the checker's)."""
        fixed = {"bool": BOOL, "int": INT, "decimal": DECIMAL, "date": DATE}
        if self.returns in fixed:
            return fixed[self.returns]
        if self.returns == "operand":
            return operands[0]
        if self.returns == "number":
            return INT if all(kind == INT for kind in operands) else DECIMAL
        return None


def kleene_and(*values: bool | None) -> bool | None:
    """False if any value is false, else unknown if any is unknown, else true."""
    if any(value is False for value in values):
        return False
    return None if any(value is None for value in values) else True


def kleene_or(*values: bool | None) -> bool | None:
    """True if any value is true, else unknown if any is unknown, else false."""
    if any(value is True for value in values):
        return True
    return None if any(value is None for value in values) else False


def is_set(value: Any) -> bool:
    return value is not None


def length(value: Sequence[Any] | str) -> int:
    return len(value)


def param_at(params: ParamSource, name: str, on: Any) -> Any:
    """The parameter's value in force on ``on``; unknown before its first ``from``."""
    return params.value_at(name, on)


def _strict(key: str, symbol: str, shape: Shape, accepts: tuple[str, ...], returns: Returns,
            implementation: Callable[..., Any], unknown: str = "an operand is unknown",
            **extra: Any) -> Operator:
    return Operator(key, symbol, shape, len(accepts), accepts, returns, "strict", unknown,
                    implementation, **extra)


_NUMBERS = ("number", "number")
_ORDERED = ("number, date or string", "the same")
_EQUAL = ("any but a list", "a compatible value")
_MEMBER = ("any but a list", "a list of compatible values")
_LISTS = ("list", "a compatible list")
_IN_LISTS = ("list", "a list of compatible lists")
_MEMBER_UNKNOWN = "the value or the list is unknown (an unknown item just never matches)"

OPERATORS: tuple[Operator, ...] = (
    _strict("neg", "-", "unary", ("number",), "operand", operator.neg),
    _strict("not", "not", "unary", ("bool",), "bool", operator.not_),
    _strict("add", "+", "arithmetic", _NUMBERS, "number", operator.add),
    _strict("sub", "-", "arithmetic", _NUMBERS, "number", operator.sub),
    _strict("mul", "*", "arithmetic", _NUMBERS, "number", operator.mul),
    _strict("div", "/", "arithmetic", _NUMBERS, "decimal", divide,
            "an operand is unknown, or the divisor is 0"),
    _strict("mod", "%", "arithmetic", _NUMBERS, "number", modulo,
            "an operand is unknown, the divisor is 0, or the quotient needs more than"
            " 28 digits"),
    Operator("and", "and", "logic", 2, ("bool", "bool"), "bool", "kleene",
             "no operand is false and one is unknown", kleene_and),
    Operator("or", "or", "logic", 2, ("bool", "bool"), "bool", "kleene",
             "no operand is true and one is unknown", kleene_or),
    _strict("eq", "==", "comparison", _EQUAL, "bool", operator.eq),
    _strict("ne", "!=", "comparison", _EQUAL, "bool", operator.ne),
    _strict("lt", "<", "comparison", _ORDERED, "bool", operator.lt),
    _strict("le", "<=", "comparison", _ORDERED, "bool", operator.le),
    _strict("gt", ">", "comparison", _ORDERED, "bool", operator.gt),
    _strict("ge", ">=", "comparison", _ORDERED, "bool", operator.ge),
    _strict("in", "in", "comparison", _MEMBER, "bool", contains, _MEMBER_UNKNOWN),
    _strict("not_in", "not in", "comparison", _MEMBER, "bool", not_contains, _MEMBER_UNKNOWN),
    _strict("list_eq", "==", "comparison", _LISTS, "bool", list_equal),
    _strict("list_ne", "!=", "comparison", _LISTS, "bool", list_not_equal),
    _strict("list_in", "in", "comparison", _IN_LISTS, "bool", list_contains, _MEMBER_UNKNOWN),
    _strict("list_not_in", "not in", "comparison", _IN_LISTS, "bool", list_not_contains,
            _MEMBER_UNKNOWN),
    _strict("days_between", "days_between", "function", ("date", "date"), "int",
            days_between, usage="days_between(a, b)"),
    _strict("months_between", "months_between", "function", ("date", "date"), "int",
            months_between, usage="months_between(a, b)"),
    _strict("days_since", "days_since", "function", ("date",), "int", days_between,
            "the date or as_of is unknown", context="as_of", usage="days_since(d)"),
    Operator("is_set", "is_set", "function", 1, ("any",), "bool", "never", "never",
             is_set, usage="is_set(x)"),
    _strict("len", "len", "function", ("list or string",), "int", length, usage="len(x)"),
    _strict("param_at", "param_at", "function", ("parameter name in quotes", "date"),
            "parameter", param_at,
            "the date is unknown, or no value of the parameter is in force on it",
            context="params", usage='param_at("NAME", d)'),
    Operator("date", "date", "function", 1, ('"YYYY-MM-DD" in quotes',), "date", "never",
             "never", None, usage='date("YYYY-MM-DD")', translated=False),
)
"""Every operator and function, in the order the language documentation lists them."""

BY_KEY: dict[str, Operator] = {op.key: op for op in OPERATORS}
FUNCTIONS: dict[str, Operator] = {op.symbol: op for op in OPERATORS if op.shape == "function"}
"""The functions by name."""

_BY_SYMBOL: dict[tuple[str, str], Operator] = {
    (op.shape, op.symbol): op for op in OPERATORS if not op.key.startswith("list_")
}
_ON_LISTS: dict[str, Operator] = {
    op.symbol: op for op in OPERATORS if op.key.startswith("list_")
}


def operator_of(node: Unary | Binary | BoolOp | Call) -> Operator:
    """The table entry of a unary, arithmetic, logic or call node."""
    if isinstance(node, Call):
        return FUNCTIONS[node.name]
    shape: Shape = ("unary" if isinstance(node, Unary)
                    else "arithmetic" if isinstance(node, Binary) else "logic")
    return _BY_SYMBOL[shape, node.op]


def comparison_of(node: Compare, index: int) -> Operator:
    """The entry of the ``index``-th comparison of a chain, chosen by static type.

    Comparing lists (``==``/``!=`` of two lists, ``in`` a list of lists) has entries of
    its own, as list literals are tuples and snapshot lists are lists.
    """
    symbol = node.ops[index].op
    compared: ValueType | None
    if symbol in ("in", "not in"):
        kind = node.operands[index + 1].type
        compared = kind.item if kind is not None else None
    else:
        compared = node.operands[index].type
    if compared is not None and compared.kind == "list" and symbol in _ON_LISTS:
        return _ON_LISTS[symbol]
    return _BY_SYMBOL["comparison", symbol]
