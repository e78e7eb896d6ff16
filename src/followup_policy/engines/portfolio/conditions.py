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
    children,
)
from ...expressions.operators import Operator, comparison_of, operator_of
from ...expressions.translator import Application, Translator
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
    """The checked, folded tree behind ``condition`` (the one its closures were built from)."""
    return condition.tree


ParamTable = Callable[[str], tuple[tuple[date, Any], ...]]


class _Compiler(Translator[_Sql]):
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
            found = self.cache[key] = self.translate(node)
        return found

    def literal(self, node: Literal) -> _Sql:
        return _Sql(self.constant(node.value))

    def name(self, node: Name) -> _Sql:
        return _Sql(self.names(node.name).value)

    def param(self, node: Param) -> _Sql:
        return _Sql(self.param_value(node.name, self.as_of))

    def list_expr(self, node: ListExpr) -> _Sql:
        raise Unsupported("a list is only supported on the right of 'in'")

    def apply(self, op: Operator, node: Application) -> _Sql:
        return APPLICATIONS[op.key](self, node)

    def args(self, node: Application) -> list[str]:
        """The SQL of the node's operands, then ``as_of`` if the function reads it."""
        texts = [self.sql(kid).text for kid in children(node)]
        return texts + [self.as_of] if operator_of(node).context == "as_of" else texts

    def constant(self, value: Any) -> str:
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
            f"WHEN {on} >= {self.d.date(start)} THEN {self.constant(value)}"
            for start, value in reversed(table)
        )
        return f"(CASE {branches} ELSE NULL END)"

    def compare(self, node: Compare) -> _Sql:
        pairs = [COMPARISONS[comparison_of(node, index).key](
                     self, node.operands[index], op.op, node.operands[index + 1])
                 for index, op in enumerate(node.ops)]
        if len(pairs) == 1:
            return _Sql(pairs[0])
        return _Sql("(" + " AND ".join(pairs) + ")")

    def comparison(self, left: Node, op: str, right: Node) -> str:
        a, b = self.sql(left), self.sql(right)
        sql_op = {"==": "=", "!=": "<>"}.get(op, op)
        return f"({_times(a.text, b.den)} {sql_op} {_times(b.text, a.den)})"

    def membership(self, item: Node, op: str, items: Node) -> str:
        negated = op == "not in"
        if isinstance(items, Literal):
            if not isinstance(items.value, tuple):
                raise Unsupported("'in' on text has no SQL translation yet")
            candidates = [v for v in items.value if v is not None]
            if any(isinstance(v, tuple) for v in candidates):
                raise Unsupported("lists of lists have no SQL translation yet")
            target = self.sql(item)
            if target.den is None and candidates:
                found = f"({target.text} IN ({', '.join(self.constant(v) for v in candidates)}))"
            else:
                found = self.any_equal(target, [_Sql(self.constant(v)) for v in candidates])
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
        if isinstance(node, ListExpr) or (isinstance(node, Call)
                                          and operator_of(node).nulls == "never"):
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
            elif isinstance(node, Call) and operator_of(node).context == "params":
                arg = self.is_null(node.args[1])
                known = path if arg is None else path + (f"(NOT {arg})",)
                parameter = node.args[0]
                assert isinstance(parameter, Literal)
                found.setdefault(f"params.{parameter.value}", []).append(_all(known))
            for child in children(node):
                if (isinstance(node, Call) and operator_of(node).context == "params"
                        and child is node.args[0]):
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

# -- one translation per entry of the operator table ------------------------------------


def _refuse(what: str) -> Callable[..., Any]:
    """The translation of an entry with no faithful SQL: the engine refuses the policy."""

    def refuse(*args: Any) -> Any:
        raise Unsupported(f"{what} has no SQL translation yet")

    return refuse


def _negate(c: _Compiler, node: Application) -> _Sql:
    operand = c.sql(children(node)[0])
    return _Sql(f"(-({operand.text}))", operand.den)


def _not(c: _Compiler, node: Application) -> _Sql:
    return _Sql(f"(NOT {c.sql(children(node)[0]).text})")


def _additive(c: _Compiler, node: Application) -> _Sql:
    assert isinstance(node, Binary)
    left, right = c.sql(node.left), c.sql(node.right)
    ln, ld, rn, rd = left.text, left.den, right.text, right.den
    if ld is None and rd is None:
        return _Sql(f"({ln} {node.op} {rn})")
    return _Sql(f"({_times(ln, rd)} {node.op} {_times(rn, ld)})", _den(ld, rd))


def _multiply(c: _Compiler, node: Application) -> _Sql:
    left, right = (c.sql(kid) for kid in children(node))
    return _Sql(f"({left.text} * {right.text})", _den(left.den, right.den))


def _divide(c: _Compiler, node: Application) -> _Sql:
    """Exact: the divisor's sign moves to the numerator, so the denominator stays positive
    and a zero divisor matches no branch (unknown, as in the library)."""
    left, right = (c.sql(kid) for kid in children(node))
    num = _times(left.text, right.den)
    rn = right.text
    return _Sql(f"(CASE WHEN {rn} > 0 THEN {num} WHEN {rn} < 0 THEN -({num}) END)",
                _den(left.den, f"abs({rn})"))


def _kleene(c: _Compiler, node: Application) -> _Sql:
    """SQL's AND and OR are Kleene's."""
    assert isinstance(node, BoolOp)
    joiner = " AND " if node.op == "and" else " OR "
    return _Sql("(" + joiner.join(c.sql(o).text for o in node.operands) + ")")


def _days_between(c: _Compiler, node: Application) -> _Sql:
    start, end = c.args(node)
    return _Sql(c.d.days_between(start, end))


def _months_between(c: _Compiler, node: Application) -> _Sql:
    start, end = c.args(node)
    return _Sql(c.months_between(start, end))


def _is_set(c: _Compiler, node: Application) -> _Sql:
    return _Sql(f"({c.args(node)[0]} IS NOT NULL)")


def _length(c: _Compiler, node: Application) -> _Sql:
    arg = children(node)[0]
    if arg.type is not None and arg.type.kind == "string":
        return _Sql(c.d.length(c.sql(arg).text))
    if isinstance(arg, ListExpr):
        return _Sql(str(len(arg.items)))
    raise Unsupported("len() of this value has no SQL translation yet")


def _param_at(c: _Compiler, node: Application) -> _Sql:
    parameter, on = children(node)
    assert isinstance(parameter, Literal)
    return _Sql(c.param_value(str(parameter.value), c.sql(on).text))


APPLICATIONS: dict[str, Callable[[_Compiler, Application], _Sql]] = {
    "neg": _negate, "not": _not, "add": _additive, "sub": _additive, "mul": _multiply,
    "div": _divide, "mod": _refuse("the operator '%'"), "and": _kleene, "or": _kleene,
    "days_between": _days_between, "days_since": _days_between,
    "months_between": _months_between, "is_set": _is_set, "len": _length,
    "param_at": _param_at,
}
"""The SQL of each unary, arithmetic, logic and function entry."""

_comparison = _Compiler.comparison
COMPARISONS: dict[str, Callable[[_Compiler, Node, str, Node], str]] = {
    "eq": _comparison, "ne": _comparison, "lt": _comparison, "le": _comparison,
    "gt": _comparison, "ge": _comparison,
    "in": _Compiler.membership, "not_in": _Compiler.membership,
    "list_eq": _refuse("comparing lists"), "list_ne": _refuse("comparing lists"),
    "list_in": _refuse("lists of lists"), "list_not_in": _refuse("lists of lists"),
}
"""The SQL of each comparison entry, for one pair of a chain (SQL true, false or null)."""


def compile_condition_sql(condition: Condition, dialect: Dialect,
                          names: Callable[[str], NameSql], params: ParamTable,
                          as_of: str) -> ConditionSql:
    """``condition`` as SQL over the columns that ``names`` returns."""
    tree = typed_tree(condition)
    compiler = _Compiler(dialect, names, params, as_of)
    value = compiler.sql(tree).text
    return ConditionSql(condition.text, value, compiler.missing(tree))
