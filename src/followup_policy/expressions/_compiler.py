"""Compilation: a typed tree to a Python closure, plus constant folding.

Each node becomes a small closure that captures exactly what it needs (child
closures, the operator function picked for its static types, constants), so
evaluation does no type dispatch and no allocation in the common cases, and writes
no shared state. Policy text is never passed to ``eval``, ``exec`` or ``compile``.

The fast build adds shortcuts for the commonest shapes (``field > 30``,
``field in ["a", "b"]``, ``0 < field <= 5``); the tracing build leaves them out so every
sub-expression is recorded, but both take each operator's implementation from the
table of :mod:`.operators`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from operator import itemgetter
from typing import Any

from ..errors import ConditionError
from ._ast import (
    Binary,
    BoolOp,
    Call,
    Compare,
    ListExpr,
    Literal,
    Name,
    Node,
    Param,
    children,
    with_children,
)
from ._trace import traced
from ._types import Environment, ValueType
from .operators import FUNCTIONS, OPERATORS, Operator, comparison_of, operator_of
from .translator import Application, Translator

__all__ = ["KLEENE", "Evaluator", "build", "fold"]

Evaluator = Callable[[Any], Any]
"""Takes the values mapping (or a trace context) and returns the node's value."""

_as_of: Evaluator = itemgetter("as_of")
_NOT_CONSTANT = frozenset(op.symbol for op in OPERATORS if op.context)  # read as_of or params


def build(node: Node, env: Environment, *, tracing: bool = False) -> Evaluator:
    """The closure evaluating ``node``; with ``tracing``, one that records every node."""
    return _Builder(env, tracing).build(node)


class _Builder(Translator[Evaluator]):
    def __init__(self, env: Environment, tracing: bool) -> None:
        self.env = env
        self.tracing = tracing

    def build(self, node: Node) -> Evaluator:
        if self.tracing:
            return traced(node, self.translate(node))
        return self.shortcut(node) or self.translate(node)

    def literal(self, node: Literal) -> Evaluator:
        return _constant(node.value)

    def name(self, node: Name) -> Evaluator:
        getter: Evaluator = itemgetter(node.name)
        return getter

    def param(self, node: Param) -> Evaluator:
        return self.parameter(node.name, _as_of)

    def parameter(self, name: str, on: Evaluator) -> Evaluator:
        implementation = FUNCTIONS["param_at"].implementation
        assert implementation is not None
        return _strict1(partial(implementation, self.env.params, name), on)

    def list_expr(self, node: ListExpr) -> Evaluator:
        return _list(tuple(self.build(item) for item in node.items))

    def shortcut(self, node: Node) -> Evaluator | None:
        """A faster closure for a common shape, with the same semantics; None if not one."""
        if isinstance(node, Compare):
            operands = node.operands
            if len(operands) == 2:
                left, right = operands
                op = _comparison(node, 0)
                if isinstance(right, Literal) and _known_constant(right):
                    if isinstance(left, Name):
                        return _name_vs_constant(left.name, node.ops[0].op, op, right)
                    return _expr_vs_constant(self.build(left), op, right.value)
                if isinstance(left, Literal) and _known_constant(left):
                    return _constant_vs_expr(op, left.value, self.build(right))
            elif len(operands) == 3:
                low, middle, high = operands
                if (isinstance(low, Literal) and _known_constant(low)
                        and isinstance(high, Literal) and _known_constant(high)):
                    return _range(low.value, _comparison(node, 0), self.build(middle),
                                  _comparison(node, 1), high.value)
        if isinstance(node, Call) and node.name == "is_set":
            arg = node.args[0]
            if isinstance(arg, Name):
                return _name_is_set(arg.name)
        return None

    def compare(self, node: Compare) -> Evaluator:
        operands = tuple(self.build(operand) for operand in node.operands)
        ops = tuple(_comparison(node, index) for index in range(len(node.ops)))
        if len(ops) == 1:
            return _strict2(ops[0], operands[0], operands[1])
        return _chain(operands, ops)

    def apply(self, op: Operator, node: Application) -> Evaluator:
        """An operator or function by its table entry: three generic shapes cover them all.

        ``strict`` entries run their reference implementation unless an operand is
        unknown; ``never`` entries run it on whatever the operand is; ``kleene``
        entries have short-circuiting closures of their own (:data:`KLEENE`).
        """
        kids = children(node)
        implementation = op.implementation
        assert implementation is not None, f"{op.symbol} is resolved by the checker"
        if op.context == "params":
            parameter = kids[0]
            assert isinstance(parameter, Literal)
            return self.parameter(parameter.value, self.build(kids[1]))
        args = tuple(self.build(kid) for kid in kids)
        if op.context == "as_of":
            args += (_as_of,)
        if op.nulls == "kleene":
            return KLEENE[op.key](args)
        if op.nulls == "never":
            return _total1(implementation, args[0])
        if len(args) == 1:
            return _strict1(implementation, args[0])
        return _strict2(implementation, args[0], args[1])


def _comparison(node: Compare, index: int) -> Callable[[Any, Any], Any]:
    """The implementation of the ``index``-th comparison, chosen by static type."""
    implementation = comparison_of(node, index).implementation
    assert implementation is not None
    return implementation


# -- closure factories: module-level so each closure captures only its own arguments -------


def _constant(value: Any) -> Evaluator:
    def constant(values: Any) -> Any:
        return value

    return constant


def _list(items: tuple[Evaluator, ...]) -> Evaluator:
    def make_list(values: Any) -> tuple[Any, ...]:
        return tuple([item(values) for item in items])

    return make_list


def _strict1(function: Callable[[Any], Any], arg: Evaluator) -> Evaluator:
    """``function(arg)``, unknown when the argument is."""

    def strict1(values: Any) -> Any:
        a = arg(values)
        return None if a is None else function(a)

    return strict1


def _strict2(function: Callable[[Any, Any], Any], left: Evaluator, right: Evaluator
             ) -> Evaluator:
    """``function(left, right)``, unknown when either is; both sides are always evaluated
    so a trace names every missing operand, not just the first."""

    def strict2(values: Any) -> Any:
        a = left(values)
        b = right(values)
        if a is None or b is None:
            return None
        return function(a, b)

    return strict2


def _total1(function: Callable[[Any], Any], arg: Evaluator) -> Evaluator:
    """``function(arg)`` even when the argument is unknown (``is_set``)."""

    def total1(values: Any) -> Any:
        return function(arg(values))

    return total1


def _and(operands: tuple[Evaluator, ...]) -> Evaluator:
    """Kleene ``and``: false if any operand is false, else unknown if any is unknown."""
    if len(operands) == 2:
        first, second = operands

        def and2(values: Any) -> Any:
            a = first(values)
            if a is None:
                b = second(values)
                return False if b is not None and not b else None
            if not a:
                return False
            return second(values)

        return and2

    def and_n(values: Any) -> bool | None:
        unknown = False
        for operand in operands:
            result = operand(values)
            if result is None:
                unknown = True
            elif not result:
                return False
        return None if unknown else True

    return and_n


def _or(operands: tuple[Evaluator, ...]) -> Evaluator:
    """Kleene ``or``: true if any operand is true, else unknown if any is unknown."""
    if len(operands) == 2:
        first, second = operands

        def or2(values: Any) -> Any:
            a = first(values)
            if a is None:
                return True if second(values) else None
            if a:
                return True
            return second(values)

        return or2

    def or_n(values: Any) -> bool | None:
        unknown = False
        for operand in operands:
            result = operand(values)
            if result is None:
                unknown = True
            elif result:
                return True
        return None if unknown else False

    return or_n


KLEENE: dict[str, Callable[[tuple[Evaluator, ...]], Evaluator]] = {"and": _and, "or": _or}
"""The interpreter's translation of each ``kleene`` entry of the operator table."""


def _chain(operands: tuple[Evaluator, ...], ops: tuple[Callable[[Any, Any], Any], ...]
           ) -> Evaluator:
    """``a < b <= c`` as the Kleene ``and`` of its pairs, each operand evaluated once."""
    first = operands[0]
    rest = tuple(zip(ops, operands[1:], strict=True))

    def chain(values: Any) -> bool | None:
        unknown = False
        a = first(values)
        for op, operand in rest:
            b = operand(values)
            if a is None or b is None:
                unknown = True
            elif not op(a, b):
                return False
            a = b
        return None if unknown else True

    return chain


# -- shortcuts of the fast build ------------------------------------------------------------


def _known_constant(node: Node) -> bool:
    return isinstance(node, Literal) and node.value is not None


def _name_vs_constant(name: str, symbol: str, op: Callable[[Any, Any], Any], constant: Literal
                      ) -> Evaluator:
    value = constant.value
    item = constant.type.item if constant.type is not None else None
    if symbol in ("in", "not in") and item is not None and item.kind != "list":
        return _membership(name, frozenset(value), symbol == "not in")

    def name_vs_constant(values: Any) -> Any:
        a = values[name]
        return None if a is None else op(a, value)

    return name_vs_constant


def _expr_vs_constant(operand: Evaluator, op: Callable[[Any, Any], Any], value: Any
                      ) -> Evaluator:
    def expr_vs_constant(values: Any) -> Any:
        a = operand(values)
        return None if a is None else op(a, value)

    return expr_vs_constant


def _constant_vs_expr(op: Callable[[Any, Any], Any], value: Any, operand: Evaluator
                      ) -> Evaluator:
    def constant_vs_expr(values: Any) -> Any:
        b = operand(values)
        return None if b is None else op(value, b)

    return constant_vs_expr


def _membership(name: str, members: frozenset[Any], negated: bool) -> Evaluator:
    # A frozenset finds scalars exactly as a tuple does (equal numbers hash equally).
    if negated:

        def not_member(values: Any) -> bool | None:
            a = values[name]
            return None if a is None else a not in members

        return not_member

    def member(values: Any) -> bool | None:
        a = values[name]
        return None if a is None else a in members

    return member


def _range(low: Any, low_op: Callable[[Any, Any], Any], middle: Evaluator,
           high_op: Callable[[Any, Any], Any], high: Any) -> Evaluator:
    def in_range(values: Any) -> Any:
        x = middle(values)
        if x is None:
            return None
        return low_op(low, x) and high_op(x, high)

    return in_range


def _name_is_set(name: str) -> Evaluator:
    def name_is_set(values: Any) -> bool:
        return values[name] is not None

    return name_is_set


# -- constant folding -----------------------------------------------------------------------


def fold(node: Node, env: Environment) -> Node:
    """Replace literal-only subtrees by their value, computed by the same closures.

    Also folds ``false and ...`` and ``true or ...``, whose value no operand can change.
    """
    kids = children(node)
    if not kids:
        return node
    folded = with_children(node, tuple(fold(kid, env) for kid in kids))
    kids = children(folded)
    if isinstance(folded, Call) and folded.name in _NOT_CONSTANT:
        return folded
    if isinstance(folded, Binary) and operator_of(folded).key in ("div", "mod"):
        divisor = folded.right
        if isinstance(divisor, Literal) and divisor.value == 0:
            what = "division" if folded.op == "/" else "remainder"
            raise ConditionError(f"{what} by zero", divisor.offset, divisor.length)
    if all(isinstance(kid, Literal) for kid in kids):
        return _literal(folded, _evaluate_constant(folded, env), folded.type)
    if isinstance(folded, BoolOp):
        absorbing = folded.op == "or"  # true absorbs 'or', false absorbs 'and'
        for kid in kids:
            if isinstance(kid, Literal) and kid.value is absorbing:
                return _literal(folded, absorbing, folded.type)
    return folded


def _literal(node: Node, value: Any, kind: ValueType | None) -> Literal:
    return Literal(node.offset, node.length, value, type=kind)


_EMPTY: Mapping[str, Any] = {}


def _evaluate_constant(node: Node, env: Environment) -> Any:
    try:
        return build(node, env)(_EMPTY)
    except (ArithmeticError, ValueError) as exc:  # e.g. decimal overflow
        raise ConditionError(f"cannot compute this constant: {exc}", node.offset,
                             node.length) from None
