"""A checked condition tree to one Python expression with the same three-valued result.

The expression mirrors the closures of :mod:`followup_policy.expressions._compiler`
node for node: strict operators give ``None`` when an operand is ``None`` (both
operands are always evaluated, as there), ``and``/``or`` follow Kleene's tables
with the same short-circuiting, chains are the Kleene ``and`` of their pairs, and
each operator is looked up in the table of
:mod:`followup_policy.expressions.operators` and written either as a Python operator
(:data:`INLINE`) or as a call of the table's own implementation (:data:`CALLED`: ``/``,
``%``, list equality, ``months_between``...).

Temporaries are assigned with ``:=`` so each sub-expression is written, and
evaluated, once. Every value from the policy goes through :class:`Constants`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ...expressions._ast import (
    Binary,
    BoolOp,
    Call,
    Compare,
    ListExpr,
    Literal,
    Name,
    Node,
    Param,
    Unary,
    children,
    walk,
)
from ...expressions._types import INT
from ...expressions.operators import Operator, comparison_of, operator_of
from ...expressions.translator import Application, Translator
from ._constants import Constants, int_literal
from ._runtime import LIBRARY_CONTEXT

__all__ = [
    "CALLED",
    "CONTEXT_FREE",
    "INLINE",
    "KLEENE",
    "MAX_INLINE_DEPTH",
    "NAMED_CONTEXT",
    "ON_INTS",
    "ExpressionWriter",
    "context_free",
    "depth",
]

MAX_INLINE_DEPTH = 24
"""Deeper trees are called through the compiled closure (Python limits nested parens)."""


def depth(node: Node) -> int:
    """Levels of the tree below and including ``node``."""
    stack = [(node, 1)]
    deepest = 0
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(current))
    return deepest


class ExpressionWriter(Translator[str]):
    """Writes expressions for one generated function.

    ``names`` maps each readable name (fields and built-ins) to the local variable
    holding it; ``params`` maps a parameter name to the local holding its value on
    ``as_of``; ``on`` is the local holding the evaluation date.
    """

    def __init__(self, constants: Constants, names: Mapping[str, str],
                 params: Mapping[str, str], on: str,
                 never_none: frozenset[str] = frozenset()) -> None:
        self.constants = constants
        self.names = names
        self.params = params
        self.on = on
        self.never_none = never_none
        """Locals that always hold a value (required or defaulted fields, the evaluation
        date): a strict operator on them needs no ``is None`` test."""
        self._temps = 0

    def known(self, operand: str) -> bool:
        """Whether ``operand`` is never ``None``: a constant or a never-``None`` local."""
        return _is_constant(operand) or operand in self.never_none

    def temp(self) -> str:
        self._temps += 1
        return f"_t{self._temps}"

    def helper(self, name: str, value: Any) -> str:
        return self.constants.helper(name, value)

    def write(self, node: Node) -> str:
        """An expression evaluating ``node`` to its value, or ``None`` when unknown."""
        return self.translate(node)

    # -- leaves ------------------------------------------------------------------------------

    def literal(self, node: Literal) -> str:
        value = node.value
        if value.__class__ is int:
            return int_literal(value)
        return self.constants.ref(value)

    @staticmethod
    def _is_scalar_list(node: Literal) -> bool:
        item = node.type.item if node.type is not None else None
        return item is not None and item.kind != "list"

    def name(self, node: Name) -> str:
        return self.names[node.name]

    def param(self, node: Param) -> str:
        return self.params[node.name]

    def list_expr(self, node: ListExpr) -> str:
        items = [self.write(item) for item in node.items]
        return "(" + "".join(item + ", " for item in items) + ")"

    # -- operators ---------------------------------------------------------------------------

    def strict1(self, operand: str, make: str) -> str:
        """``make`` (using ``{0}`` for the value) unless the operand is unknown."""
        if operand in self.never_none:
            return make.format(operand)
        if _LOCAL.match(operand):  # a local variable: read it twice rather than copy it
            return f"(None if {operand} is None else {make.format(operand)})"
        t = self.temp()
        return f"(None if ({t} := {operand}) is None else {make.format(t)})"

    def strict2(self, left: str, right: str, make: str) -> str:
        """``make`` (``{0}``, ``{1}`` for the values) unless an operand is unknown.

        Both operands are evaluated, as the interpreter does; an operand that is a
        constant is used as it is.
        """
        if self.known(left) and self.known(right):
            return make.format(left, right)
        if self.known(right):
            return self.strict1(left, make.replace("{1}", right))
        if self.known(left):
            return self.strict1(right, make.replace("{0}", left).replace("{1}", "{0}"))
        a, b = self.temp(), self.temp()
        return (f"(None if (({a} := {left}) is None) | (({b} := {right}) is None)"
                f" else {make.format(a, b)})")

    def template(self, op: Operator) -> str:
        """The Python text of one application of ``op``, ``{0}``, ``{1}`` for its operands."""
        inline = INLINE.get(op.key)
        if inline is not None:
            return inline
        named = NAMED_CONTEXT.get(op.key)
        if named is not None:
            self.helper("_divide_in_library", _DIVIDE_IN_LIBRARY)
            return named
        if op.key not in CALLED:
            raise KeyError(f"the generated engine has no translation of '{op.symbol}'")
        function = self.helper("_op_" + op.key, op.implementation)
        count = op.arity + (op.context == "as_of")
        return function + "(" + ", ".join(f"{{{i}}}" for i in range(count)) + ")"

    def apply(self, op: Operator, node: Application) -> str:
        if op.key in KLEENE:
            assert isinstance(node, BoolOp)
            return KLEENE[op.key](self, node)
        kids = children(node)
        if op.context == "params":
            parameter = kids[0]
            assert isinstance(parameter, Literal) and op.implementation is not None
            lookup = self.constants.ref(partial(op.implementation, self.params_source,
                                                parameter.value))
            return self.strict1(self.write(kids[1]), lookup + "({0})")
        make = self.template(op)
        if op.context == "as_of":  # the evaluation date, a local that is never None
            make = make.replace(f"{{{op.arity}}}", self.on)
        operands = [self.write(kid) for kid in kids]
        if op.nulls == "never":
            return make.format(*operands)
        if len(operands) == 1:
            return self.strict1(operands[0], make)
        return self.strict2(operands[0], operands[1], make)

    def sure(self, node: Node) -> bool:
        """Whether ``node`` always has a value here: built only from never-``None`` locals
        and constants by operators written inline (``/`` and the called ones may give
        ``None``, so they never count)."""
        if isinstance(node, Literal):
            return node.value is not None
        if isinstance(node, Name):
            return self.names[node.name] in self.never_none
        if isinstance(node, Compare):
            return (len(node.operands) == 2 and comparison_of(node, 0).key in INLINE
                    and all(self.sure(operand) for operand in node.operands))
        if isinstance(node, Unary | Binary | BoolOp | Call):
            key = operator_of(node).key
            return (key in INLINE or key in KLEENE) and all(self.sure(kid)
                                                            for kid in children(node))
        return False

    def kleene(self, node: BoolOp) -> str:
        """``and``/``or`` as nested conditional expressions, short-circuiting as the closures;
        over operands that always have a value, Python's own ``and``/``or``."""
        if all(self.sure(operand) for operand in node.operands):
            return "(" + f" {node.op} ".join(self.write(operand) for operand in node.operands) + ")"
        temps = [self.temp() for _ in node.operands]
        operands = [self.write(operand) for operand in node.operands]
        anyone_unknown = " or ".join(f"{t} is None" for t in temps)
        if node.op == "and":
            tail = f"(None if {anyone_unknown} else True)"
            for t, operand in reversed(list(zip(temps, operands, strict=True))):
                tail = f"(False if ({t} := {operand}) is not None and not {t} else {tail})"
            return tail
        tail = f"(None if {anyone_unknown} else False)"
        for t, operand in reversed(list(zip(temps, operands, strict=True))):
            tail = f"(True if ({t} := {operand}) else {tail})"
        return tail

    def comparison(self, node: Compare, index: int, a: str, b: str) -> str:
        """``a OP b`` for the ``index``-th operator, picked by static type as the compiler does."""
        return self.template(comparison_of(node, index)).format(a, b)

    def compare(self, node: Compare) -> str:
        operands = [self.write(operand) for operand in node.operands]
        if len(operands) == 2:
            right_node = node.operands[1]
            if (isinstance(right_node, Literal) and node.ops[0].op in ("in", "not in")
                    and right_node.value is not None and self._is_scalar_list(right_node)):
                # a frozenset finds scalars exactly as the tuple does (equal numbers hash equal)
                members = self.constants.ref(frozenset(right_node.value))
                op = node.ops[0].op
                return self.strict1(operands[0], "({0} " + op + " " + members + ")")
            left, right = operands
            if self.known(left) and self.known(right):
                return self.comparison(node, 0, left, right)
            if self.known(right) or self.known(left):
                operand = left if self.known(right) else right
                t = operand if _LOCAL.match(operand) else self.temp()
                a, b = (t, right) if self.known(right) else (left, t)
                assign = t if t == operand else f"({t} := {operand})"
                return f"(None if {assign} is None else {self.comparison(node, 0, a, b)})"
            a, b = self.temp(), self.temp()
            return (f"(None if (({a} := {left}) is None) | (({b} := {right}) is None)"
                    f" else {self.comparison(node, 0, a, b)})")
        temps = [self.temp() for _ in operands]
        anyone_unknown = " or ".join(f"{t} is None" for t in temps)
        tail = f"(None if {anyone_unknown} else True)"
        for index in reversed(range(len(node.ops))):
            a, b = temps[index], temps[index + 1]
            first = f"({a} := {operands[index]})" if index == 0 else a
            pair_false = (f"(({first} is not None) & (({b} := {operands[index + 1]}) is not None)"
                          f" and not {self.comparison(node, index, a, b)})")
            tail = f"(False if {pair_false} else {tail})"
        return tail

    params_source: Any = None
    """Set by the module writer: the policy's :class:`Parameters`, for ``param_at``."""


INLINE: dict[str, str] = {
    "neg": "(-{0})", "not": "(not {0})",
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})",
    "eq": "({0} == {1})", "ne": "({0} != {1})", "lt": "({0} < {1})", "le": "({0} <= {1})",
    "gt": "({0} > {1})", "ge": "({0} >= {1})", "in": "({0} in {1})",
    "not_in": "({0} not in {1})",
    "days_between": "({1} - {0}).days", "days_since": "({1} - {0}).days",
    "is_set": "({0} is not None)",
}
"""Entries written as Python operators, with the same result as their implementation."""

CALLED = frozenset({"div", "mod", "list_eq", "list_ne", "list_in", "list_not_in",
                    "months_between", "len", "param_at"})
"""Entries written as a call of the table's reference implementation (special rules)."""

KLEENE: dict[str, Callable[[ExpressionWriter, BoolOp], str]] = {
    "and": ExpressionWriter.kleene, "or": ExpressionWriter.kleene,
}
"""Entries with short-circuiting code of their own."""

NAMED_CONTEXT: dict[str, str] = {
    "div": "(None if {1} == 0 else _divide_in_library({0}, {1}))",
}
"""Entries written inline with the library's decimal context named (``_divide_in_library``
is ``LIBRARY_CONTEXT.divide``, which converts an int exactly, as ``Decimal(left)`` does)
instead of calling the table's implementation, which rounds in the current context. The
operands of a strict operator are always names or constants here, so one may be read
twice. A test holds each to the table's implementation."""

CONTEXT_FREE = frozenset({
    "not", "and", "or", "eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "list_eq",
    "list_ne", "list_in", "list_not_in", "days_between", "months_between", "days_since",
    "is_set", "len", "param_at", "date", *NAMED_CONTEXT,
})
"""Entries whose generated code gives the same result in any decimal context: comparisons
are exact on the finite decimals snapshots and policies carry (no rounding, no signal);
the rest work on dates, text, lists or lookups, or name the context (:data:`NAMED_CONTEXT`)."""

ON_INTS = frozenset({"neg", "add", "sub", "mul", "mod"})
"""Arithmetic that is context-free when every operand is an int (Python's ints are exact);
on a decimal it rounds in the current context."""


def context_free(node: Node) -> bool:
    """Whether the generated code of ``node`` gives the same value in any decimal context.

    Decided from the checked tree: every operator is in :data:`CONTEXT_FREE`, or in
    :data:`ON_INTS` with operands all typed ``int``. Anything else (an operator added to
    the table later included) needs the library's context made current.
    """
    for current in walk(node):
        if isinstance(current, Compare):
            keys = [comparison_of(current, index).key for index in range(len(current.ops))]
            if not all(key in CONTEXT_FREE for key in keys):
                return False
        elif isinstance(current, Unary | Binary | BoolOp | Call):
            key = operator_of(current).key
            if key in ON_INTS:
                if not all(kid.type == INT for kid in children(current)):
                    return False
            elif key not in CONTEXT_FREE:
                return False
    return True


_DIVIDE_IN_LIBRARY = LIBRARY_CONTEXT.divide  # one bound method, bound once per module


_CONSTANT = re.compile(r"^(K[0-9]+|-?[0-9]+)$")
_LOCAL = re.compile(r"^(v[0-9]+|p[0-9]+|on|tier|loan_id|disb)$")


def _is_constant(text: str) -> bool:
    """Whether an operand is a known, non-null constant: a constants-table name or an int.

    ``None`` is written as ``None`` and so never counts; the table holds no ``None``.
    """
    return _CONSTANT.match(text) is not None
