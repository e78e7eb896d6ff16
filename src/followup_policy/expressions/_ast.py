"""The syntax tree of a condition.

Every node keeps ``offset`` and ``length`` into the condition text, so any later
stage (type check, tracing) can point at the exact source of a sub-expression. The
checker returns a copy of the tree with ``type`` filled in; nodes are immutable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ._types import ValueType

__all__ = [
    "Binary",
    "BoolOp",
    "Call",
    "Compare",
    "ListExpr",
    "Literal",
    "Name",
    "Node",
    "Op",
    "Param",
    "Unary",
    "children",
    "walk",
    "with_children",
]


@dataclass(frozen=True, slots=True)
class Node:
    """Base of all nodes: the source span, and the type once checked."""

    offset: int
    length: int
    type: ValueType | None = field(default=None, compare=False, repr=False, kw_only=True)

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A constant: int, Decimal, str, bool, None, date, or a tuple of constants."""

    value: Any


@dataclass(frozen=True, slots=True)
class ListExpr(Node):
    """``[a, b, ...]`` with at least one non-constant item (constant lists are folded)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A field or built-in read from the snapshot values."""

    name: str


@dataclass(frozen=True, slots=True)
class Param(Node):
    """``params.NAME``: the parameter's value in force on ``as_of``."""

    name: str
    name_offset: int


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """``not x`` or ``-x``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """Arithmetic: ``+ - * / %``."""

    op: str
    op_offset: int
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    """``a and b and ...`` or ``a or b or ...``, kept flat so long chains stay shallow."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Op:
    """One comparison operator of a chain, with its own span for error messages."""

    op: str
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """``a < b <= c``: ``len(ops) == len(operands) - 1``, read as a Kleene ``and``."""

    operands: tuple[Node, ...]
    ops: tuple[Op, ...]


@dataclass(frozen=True, slots=True)
class Call(Node):
    """``name(args)``; the function name starts at ``offset``."""

    name: str
    args: tuple[Node, ...]


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``, in source order."""
    if isinstance(node, (Literal, Name, Param)):
        return ()
    if isinstance(node, ListExpr):
        return node.items
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, BoolOp):
        return node.operands
    if isinstance(node, Compare):
        return node.operands
    if isinstance(node, Call):
        return node.args
    raise TypeError(f"not a condition node: {node!r}")


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, without recursion (trees may be wide)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def with_children(node: Node, kids: tuple[Node, ...]) -> Node:
    """A copy of ``node`` with its sub-expressions replaced, in :func:`children` order."""
    if isinstance(node, ListExpr):
        return replace(node, items=kids)
    if isinstance(node, Unary):
        return replace(node, operand=kids[0])
    if isinstance(node, Binary):
        return replace(node, left=kids[0], right=kids[1])
    if isinstance(node, BoolOp):
        return replace(node, operands=kids)
    if isinstance(node, Compare):
        return replace(node, operands=kids)
    if isinstance(node, Call):
        return replace(node, args=kids)
    return node
