"""SQL for one condition: the typed syntax tree of ``expressions`` to a SQL expression.

Semantics follow the interpreter (``expressions/_compiler.py`` and ``_ops.py``):
- SQL ``AND``/``OR``/``NOT`` and null-strict operators are already Kleene logic;
- numbers are exact: every numeric sub-expression is a fraction ``num / den`` with a
  positive denominator, so ``x / 0`` is unknown (not infinity) and ``a / b > c`` is
  decided by exact multiplication, never by floating point;
- ``x in [a, b]`` is false, not unknown, when an item is null and no item equals ``x``;
- the names that left a condition unknown are computed in SQL with the interpreter's
  rule (a name is reported when it and every enclosing sub-expression are unknown).
A construct without a faithful SQL translation raises :class:`Unsupported`, so the
engine refuses the policy instead of producing different results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ...expressions import Condition
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
)
from ...expressions._checker import check_condition
from ...expressions._compiler import fold
from ...expressions._parser import parse
from .dialect import Dialect

__all__ = ["ConditionSql", "NameSql", "Unsupported", "compile_condition_sql", "typed_tree"]


class Unsupported(Exception):
    """A policy element the portfolio engine cannot evaluate exactly as the interpreter does."""


@dataclass(frozen=True)
class NameSql:
    """How the compiler reads a name: its SQL value and its text for reasons."""

    value: str
    shown: str


@dataclass(frozen=True)
class ConditionSql:
    """A condition in SQL: its value (TRUE/FALSE/NULL) and the names it reports as missing."""

    text: str
    value: str
    missing: tuple[tuple[str, str], ...]  # (name, SQL that is true when it is reported)


@dataclass(frozen=True)
class _Sql:
    text: str
    den: str | None = None  # numbers only: a positive denominator, None meaning 1


def typed_tree(condition: Condition) -> Node:
    """The checked, folded tree behind ``condition``, rebuilt from its text and environment."""
    env = condition._env
    return fold(check_condition(parse(condition.text), env, condition.text), env)


ParamTable = Callable[[str], tuple[tuple[date, Any], ...]]


class _Compiler:
    def __init__(self, dialect: Dialect, names: Callable[[str], NameSql],
                 params: ParamTable, as_of: str) -> None:
        self.d = dialect
        self.names = names
        self.params = params
        self.as_of = as_of
        self.cache: dict[int, _Sql] = {}

    # -- values --------------------------------------------------------------------------
    def sql(self, node: Node) -> _Sql:
        key = id(node)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self._sql(node)
        return found

    def _sql(self, node: Node) -> _Sql:
        if isinstance(node, Literal):
            return _Sql(self.literal(node.value))
        if isinstance(node, Name):
            return _Sql(self.names(node.name).value)
        if isinstance(node, Param):
            return _Sql(self.param_value(node.name, self.as_of))
        if isinstance(node, ListExpr):
            raise Unsupported("a list is only supported on the right of 'in'")
        if isinstance(node, Unary):
            operand = self.sql(node.operand)
            if node.op == "not":
                return _Sql(f"(NOT {operand.text})")
            return _Sql(f"(-({operand.text}))", operand.den)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, BoolOp):
            joiner = " AND " if node.op == "and" else " OR "
            return _Sql("(" + joiner.join(self.sql(o).text for o in node.operands) + ")")
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Call):
            return self.call(node)
        raise Unsupported(f"unknown condition node {type(node).__name__}")

    def literal(self, value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return f"({value})" if abs(value) < 2**62 else self.d.decimal(value)
        if isinstance(value, Decimal):
            return self.d.decimal(value)
        if isinstance(value, str):
            return self.d.string(value)
        if isinstance(value, date):
            return self.d.date(value)
        raise Unsupported(f"a constant of type {type(value).__name__} has no SQL form")

    def param_value(self, name: str, on: str) -> str:
        table = self.params(name)
        if not table:
            return "NULL"
        branches = " ".join(
            f"WHEN {on} >= {self.d.date(start)} THEN {self.literal(value)}"
            for start, value in reversed(table)
        )
        return f"(CASE {branches} ELSE NULL END)"

    def binary(self, node: Binary) -> _Sql:
        left, right = self.sql(node.left), self.sql(node.right)
        ln, ld, rn, rd = left.text, left.den, right.text, right.den
        if node.op == "*":
            return _Sql(f"({ln} * {rn})", _den(ld, rd))
        if node.op in ("+", "-"):
            if ld is None and rd is None:
                return _Sql(f"({ln} {node.op} {rn})")
            return _Sql(f"({_times(ln, rd)} {node.op} {_times(rn, ld)})", _den(ld, rd))
        if node.op == "/":
            num = _times(ln, rd)
            return _Sql(
                f"(CASE WHEN {rn} > 0 THEN {num} WHEN {rn} < 0 THEN -({num}) END)",
                _den(ld, f"abs({rn})"),
            )
        raise Unsupported(f"the operator '{node.op}' has no SQL translation yet")

    def compare(self, node: Compare) -> _Sql:
        pairs = []
        for index, op in enumerate(node.ops):
            left, right = node.operands[index], node.operands[index + 1]
            if op.op in ("in", "not in"):
                pairs.append(self.membership(left, right, op.op == "not in"))
            else:
                pairs.append(self.comparison(left, op.op, right))
        if len(pairs) == 1:
            return _Sql(pairs[0])
        return _Sql("(" + " AND ".join(pairs) + ")")

    def comparison(self, left: Node, op: str, right: Node) -> str:
        for side in (left, right):
            if side.type is not None and side.type.kind == "list":
                raise Unsupported("comparing lists has no SQL translation yet")
        a, b = self.sql(left), self.sql(right)
        sql_op = {"==": "=", "!=": "<>"}.get(op, op)
        return f"({_times(a.text, b.den)} {sql_op} {_times(b.text, a.den)})"

    def membership(self, item: Node, items: Node, negated: bool) -> str:
        if isinstance(items, Literal):
            if not isinstance(items.value, tuple):
                raise Unsupported("'in' on text has no SQL translation yet")
            candidates = [v for v in items.value if v is not None]
            if any(isinstance(v, tuple) for v in candidates):
                raise Unsupported("lists of lists have no SQL translation yet")
            target = self.sql(item)
            if target.den is None and candidates:
                found = f"({target.text} IN ({', '.join(self.literal(v) for v in candidates)}))"
            else:
                found = self.any_equal(target, [_Sql(self.literal(v)) for v in candidates])
        elif isinstance(items, ListExpr):
            if any(part.type is not None and part.type.kind == "list" for part in items.items):
                raise Unsupported("lists of lists have no SQL translation yet")
            target = self.sql(item)
            found = self.any_equal(target, [self.sql(part) for part in items.items])
        else:
            raise Unsupported("'in' needs a list written in the condition")
        target_sql = self.sql(item).text
        result = f"(NOT {found})" if negated else found
        return f"(CASE WHEN {target_sql} IS NULL THEN NULL ELSE {result} END)"

    def any_equal(self, target: _Sql, candidates: list[_Sql]) -> str:
        if not candidates:
            return "FALSE"
        tests = [
            f"COALESCE({_times(target.text, c.den)} = {_times(c.text, target.den)}, FALSE)"
            for c in candidates
        ]
        return "(" + " OR ".join(tests) + ")"

    def call(self, node: Call) -> _Sql:
        name = node.name
        if name == "param_at":
            parameter = node.args[0]
            assert isinstance(parameter, Literal)
            on = self.sql(node.args[1]).text
            return _Sql(self.param_value(str(parameter.value), on))
        if name == "is_set":
            return _Sql(f"({self.sql(node.args[0]).text} IS NOT NULL)")
        if name == "days_since":
            return _Sql(self.d.days_between(self.sql(node.args[0]).text, self.as_of))
        if name == "days_between":
            a, b = (self.sql(arg).text for arg in node.args)
            return _Sql(self.d.days_between(a, b))
        if name == "months_between":
            a, b = (self.sql(arg).text for arg in node.args)
            return _Sql(self.months_between(a, b))
        if name == "len":
            arg = node.args[0]
            if arg.type is not None and arg.type.kind == "string":
                return _Sql(self.d.length(self.sql(arg).text))
            if isinstance(arg, ListExpr):
                return _Sql(str(len(arg.items)))
            raise Unsupported("len() of this value has no SQL translation yet")
        raise Unsupported(f"the function {name}() has no SQL translation yet")

    def months_between(self, a: str, b: str) -> str:
        def forward(start: str, end: str) -> str:
            d = self.d
            raw = (f"(({d.year(end)} - {d.year(start)}) * 12"
                   f" + ({d.month(end)} - {d.month(start)}))")
            return (f"({raw} - CASE WHEN {d.add_months_expr(start, raw)} > {end}"
                    f" THEN 1 ELSE 0 END)")

        return (f"(CASE WHEN {b} >= {a} THEN {forward(a, b)}"
                f" ELSE -({forward(b, a)}) END)")

    # -- which names are reported missing ------------------------------------------------
    def is_null(self, node: Node) -> str | None:
        """SQL true when ``node`` is unknown; None when it never is."""
        if isinstance(node, Literal):
            return "TRUE" if node.value is None else None
        if isinstance(node, ListExpr) or (isinstance(node, Call) and node.name == "is_set"):
            return None
        return f"({self.sql(node).text} IS NULL)"

    def missing(self, root: Node) -> tuple[tuple[str, str], ...]:
        found: dict[str, list[str]] = {}
        stack: list[tuple[Node, tuple[str, ...]]] = [(root, ())]
        while stack:
            node, above = stack.pop()
            here = self.is_null(node)
            if here is None:
                continue
            path = above + (here,) if node is not root else above
            if isinstance(node, Name):
                found.setdefault(node.name, []).append(_all(path))
            elif isinstance(node, Param):
                found.setdefault(f"params.{node.name}", []).append(_all(path))
            elif isinstance(node, Call) and node.name == "param_at":
                arg = self.is_null(node.args[1])
                known = path if arg is None else path + (f"(NOT {arg})",)
                parameter = node.args[0]
                assert isinstance(parameter, Literal)
                found.setdefault(f"params.{parameter.value}", []).append(_all(known))
            for child in children(node):
                if isinstance(node, Call) and node.name == "param_at" and child is node.args[0]:
                    continue
                stack.append((child, path))
        return tuple((name, "(" + " OR ".join(tests) + ")")
                     for name, tests in sorted(found.items()))


def _all(tests: tuple[str, ...]) -> str:
    return "(" + " AND ".join(tests) + ")" if tests else "TRUE"


def _den(a: str | None, b: str | None) -> str | None:
    """The product of two denominators, None meaning 1."""
    if a is None or b is None:
        return a if b is None else b
    return f"({a} * {b})"


def _times(value: str, factor: str | None) -> str:
    if factor is None:
        return value
    return f"({value} * {factor})"


def compile_condition_sql(condition: Condition, dialect: Dialect,
                          names: Callable[[str], NameSql], params: ParamTable,
                          as_of: str) -> ConditionSql:
    """``condition`` as SQL over the columns that ``names`` returns."""
    tree = typed_tree(condition)
    compiler = _Compiler(dialect, names, params, as_of)
    value = compiler.sql(tree).text
    return ConditionSql(condition.text, value, compiler.missing(tree))
