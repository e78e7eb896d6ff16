"""Tracing: the tree of sub-expression values behind one evaluation.

A traced condition runs the very same closures as the fast one, each wrapped to
record its node and value, so ``explain`` and ``missing_fields`` can never disagree
with what the fast path decided. The wrappers write only to a per-call context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._ast import Call, Literal, Name, Node, Param
from .operators import FUNCTIONS

__all__ = ["Record", "Trace", "TraceContext", "missing_names", "to_trace", "traced"]

Evaluator = Callable[[Any], Any]


@dataclass(frozen=True)
class Trace:
    """One evaluated sub-expression: its source slice, value (None = unknown) and parts.

    A sub-expression that short-circuiting skipped (``b`` in ``false and b``) has no
    entry among its parent's ``children``.
    """

    text: str
    offset: int
    value: Any
    children: tuple[Trace, ...] = ()


@dataclass(frozen=True, slots=True)
class Record:
    """A trace entry that still knows its node, for :func:`missing_names`."""

    node: Node
    value: Any
    children: tuple[Record, ...]


class TraceContext:
    """Stands in for the values mapping during a traced evaluation, collecting records."""

    __slots__ = ("records", "values")

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.records: list[Record] = []

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


def traced(node: Node, evaluate: Evaluator) -> Evaluator:
    """Wrap ``evaluate`` so each call records ``node``, its value and its children's."""

    def record(context: TraceContext) -> Any:
        outer = context.records
        context.records = []
        value = evaluate(context)
        outer.append(Record(node, value, tuple(context.records)))
        context.records = outer
        return value

    return record


def to_trace(record: Record, text: str) -> Trace:
    """The public view of a record: source slices instead of nodes."""
    node = record.node
    return Trace(text[node.offset:node.end], node.offset, record.value,
                 tuple(to_trace(child, text) for child in record.children))


def missing_names(root: Record, values: Mapping[str, Any]) -> tuple[str, ...]:
    """The names whose null value made ``root`` unknown, sorted.

    Only sub-expressions that ended unknown are followed, so ``a > 1 or b > 2`` with
    ``a`` null and ``b`` 5 names nothing (it is true), and with ``b`` 0 names only ``a``.
    """
    if root.value is not None:
        return ()
    found: set[str] = set()
    stack = [root]
    while stack:
        record = stack.pop()
        node = record.node
        unknown = [child for child in record.children if child.value is None]
        stack.extend(unknown)
        if isinstance(node, Name):
            found.add(node.name)
        elif isinstance(node, Param):
            found.add("as_of" if values.get("as_of") is None else f"params.{node.name}")
        elif isinstance(node, Call):
            context = FUNCTIONS[node.name].context
            if context == "as_of" and values.get("as_of") is None:
                found.add("as_of")
            elif context == "params" and not unknown and isinstance(node.args[0], Literal):
                found.add(f"params.{node.args[0].value}")
    return tuple(sorted(found))
