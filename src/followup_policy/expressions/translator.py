"""The walk every engine shares: a checked tree to the engine's own terms.

An engine (the interpreter's closures, the generated Python, the portfolio SQL, the
z3 terms of ``analysis``) subclasses :class:`Translator` and supplies the leaves
(constants, names, parameters, list displays), comparison chains, and one
:meth:`Translator.apply` that receives every operator and function already looked up
in :data:`.operators.OPERATORS`, so no engine re-lists which nodes carry which
operator.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from ._ast import Binary, BoolOp, Call, Compare, ListExpr, Literal, Name, Node, Param, Unary
from .operators import Operator, operator_of

__all__ = ["Application", "Translator"]

T = TypeVar("T")

Application = Unary | Binary | BoolOp | Call
"""The nodes that apply an operator or function of the table to their children."""


class Translator(Generic[T]):
    """Dispatches each node of a checked tree to the method translating its kind."""

    def translate(self, node: Node) -> T:
        if isinstance(node, (Unary, Binary, BoolOp, Call)):
            return self.apply(operator_of(node), node)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Literal):
            return self.literal(node)
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, Param):
            return self.param(node)
        if isinstance(node, ListExpr):
            return self.list_expr(node)
        raise TypeError(f"not a condition node: {node!r}")

    def literal(self, node: Literal) -> T:
        raise NotImplementedError

    def name(self, node: Name) -> T:
        raise NotImplementedError

    def param(self, node: Param) -> T:
        """``params.NAME``: the parameter's value on ``as_of``."""
        raise NotImplementedError

    def list_expr(self, node: ListExpr) -> T:
        raise NotImplementedError

    def compare(self, node: Compare) -> T:
        """A chain ``a < b <= c``: the Kleene ``and`` of its pairs, each pair's operator
        given by :func:`.operators.comparison_of`."""
        raise NotImplementedError

    def apply(self, op: Operator, node: Application) -> T:
        """``op`` (the table entry of ``node``) applied to the node's children."""
        raise NotImplementedError
