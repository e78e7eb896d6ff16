"""Conditions to SMT terms, with the library's semantics.

A loan is a set of solver variables: for each snapshot field, whether the raw
snapshot sets it and the value it sets. Each policy reads those through its own
field declarations (a default fills a missing value; ``min``/``max``, enum values
and ``required`` restrict which snapshots it accepts), so a head-office policy and
a branch can be asked about the *same* loan.

Every value is encoded as a pair (``known``, ``value``): ``known`` is false when the
library would compute ``None`` (a missing field, a division by zero, a parameter not
yet in force), so the Kleene logic of conditions is encoded exactly. Numbers are
exact rationals, dates day numbers (``date.toordinal``), enums and text strings.

``months_between`` is encoded by sound bounds (whole calendar months with
month-end clamping are not linear); a proof stays a proof, and every example loan
is checked by the interpreter and refined when the bounds let a wrong one through.
A node the translation does not know raises :class:`Untranslatable`, and the
check that needed it reports *unknown*, never *proved*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..expressions import Condition, ValueType
from ..expressions._ast import BoolOp, Compare, ListExpr, Literal, Name, Node, Param, children
from ..expressions.operators import Operator, comparison_of, operator_of
from ..expressions.translator import Application, Translator
from ..policy import Policy
from ..schema import FieldSpec
from ..snapshots import _field_coercer
from ._solver import require_z3

__all__ = ["Loan", "MonthsTerm", "PolicyEncoding", "Untranslatable", "Val", "condition_tree"]

DATE_MIN = date.min.toordinal()
DATE_MAX = date.max.toordinal()
# Whitespace-only text is a missing value for the snapshot reader; excluding these
# characters (a subset of what str.strip() removes) keeps the domain a superset.
_BLANKS = " \t\n\r\x0b\x0c\u3000\xa0"
# |days(m months) - 146097/4800 * m| <= 3.41 for every start date (checked by a test)
_AVERAGE_MONTH = Fraction(146097, 4800)
_MONTH_SLACK = 4
_DECIMAL_DIGITS = 28  # Python's default decimal context, which the library uses


class Untranslatable(Exception):
    """A condition part the analysis cannot encode; checks that need it are unknown."""


@dataclass(frozen=True)
class Val:
    """A symbolic value: ``known`` is false where the library computes ``None``.

    ``kind`` is int, real, string, bool, date or list (then ``items`` holds them).
    """

    known: Any
    value: Any
    kind: str
    items: tuple[Val, ...] = ()


@dataclass(frozen=True)
class MonthsTerm:
    """One ``months_between`` whose value the solver only knows within bounds."""

    months: Any
    known: Any
    start: Any
    end: Any


@dataclass
class RawField:
    kind: str
    is_set: Any
    value: Any


def condition_tree(condition: Condition) -> Node:
    """The typed, folded tree of a compiled condition (what its closures were built from)."""
    return condition.tree


_KINDS = {"int": "int", "decimal": "real", "string": "string", "enum": "string",
          "bool": "bool", "date": "date"}


class Loan:
    """The symbolic snapshot shared by every policy asked about it."""

    def __init__(self) -> None:
        self.z3 = require_z3()
        z3 = self.z3
        self.fields: dict[str, RawField] = {}
        self.constraints: list[Any] = []
        self.months: list[MonthsTerm] = []
        self.as_of = z3.Int("as_of")
        self.disbursement_date = z3.Int("disbursement_date")
        self.loan_id = z3.String("loan_id")
        for day in (self.as_of, self.disbursement_date):
            self.constraints.append(z3.And(day >= DATE_MIN, day <= DATE_MAX))
        self.constraints.append(self.not_blank(self.loan_id))

    def not_blank(self, text: Any) -> Any:
        z3 = self.z3
        blanks = z3.Star(z3.Union([z3.Re(z3.StringVal(c)) for c in _BLANKS]))
        return z3.Not(z3.InRe(text, blanks))

    def raw(self, name: str, kind: str) -> RawField:
        """The raw snapshot variables of one field (created on first use)."""
        found = self.fields.get(name)
        if found is not None:
            if found.kind != kind:
                raise Untranslatable(f"field '{name}' has different types in the policies")
            return found
        z3 = self.z3
        sort = {"int": z3.IntSort(), "real": z3.RealSort(), "string": z3.StringSort(),
                "bool": z3.BoolSort(), "date": z3.IntSort()}[kind]
        raw = RawField(kind, z3.Bool(f"{name}?"), z3.Const(name, sort))
        if kind == "date":
            self.constraints.append(z3.Implies(raw.is_set, z3.And(raw.value >= DATE_MIN,
                                                                 raw.value <= DATE_MAX)))
        elif kind == "string":
            self.constraints.append(z3.Implies(raw.is_set, self.not_blank(raw.value)))
        self.fields[name] = raw
        return raw


class PolicyEncoding(Translator[Val]):
    """One policy's view of a :class:`Loan`: its fields, parameters, tier and conditions."""

    def __init__(self, policy: Policy, loan: Loan) -> None:
        self.policy = policy
        self.loan = loan
        self.z3 = loan.z3
        self.constraints: list[Any] = []
        self.values: dict[str, Val] = {}
        z3 = self.z3
        self.values["as_of"] = Val(z3.BoolVal(True), loan.as_of, "date")
        self.values["disbursement_date"] = Val(z3.BoolVal(True), loan.disbursement_date, "date")
        self.values["loan_id"] = Val(z3.BoolVal(True), loan.loan_id, "string")
        self.unsupported: dict[str, str] = {}
        for name, spec in policy.document.fields.items():
            if name == "disbursement_date":
                continue
            try:
                self.values[name] = self.declare(name, spec)
            except Untranslatable as exc:
                self.unsupported[name] = str(exc)
        self._tier: Val | None = None
        self._conditions: dict[int, Val] = {}

    # -- fields --------------------------------------------------------------------------

    def declare(self, name: str, spec: FieldSpec) -> Val:
        z3 = self.z3
        kind = _KINDS[spec.type]
        raw = self.loan.raw(name, kind)
        default = _field_coercer(name, spec).default
        if default is None:
            known, value = raw.is_set, raw.value
        else:
            known = z3.BoolVal(True)
            value = z3.If(raw.is_set, raw.value, self.constant(default, kind))
        if spec.required and default is None:
            self.constraints.append(raw.is_set)
        if spec.type == "enum":
            options = [raw.value == z3.StringVal(v) for v in spec.values or ()]
            self.constraints.append(z3.Implies(raw.is_set, z3.Or(options) if options
                                               else z3.BoolVal(False)))
        if kind in ("int", "real"):
            number = raw.value if kind == "real" else z3.ToReal(raw.value)
            if spec.min is not None:
                self.constraints.append(z3.Implies(raw.is_set, number >= _rational(spec.min)))
            if spec.max is not None:
                self.constraints.append(z3.Implies(raw.is_set, number <= _rational(spec.max)))
        return Val(known, value, kind)

    def constant(self, value: Any, kind: str | None = None) -> Any:
        z3 = self.z3
        if isinstance(value, bool):
            return z3.BoolVal(value)
        if isinstance(value, int) and kind != "real":
            return z3.IntVal(value)
        if isinstance(value, int | Decimal):
            return _rational(value)
        if isinstance(value, date):
            return z3.IntVal(value.toordinal())
        if isinstance(value, str):
            return z3.StringVal(value)
        raise Untranslatable(f"cannot encode the constant {value!r}")

    # -- the tier --------------------------------------------------------------------------

    def tier(self) -> Val:
        """The tier the policy assigns (first matching tier), unknown when none matches."""
        if self._tier is None:
            self._tier = self._build_tier()
        return self._tier

    def _build_tier(self) -> Val:
        z3 = self.z3
        parts = self.policy.parts
        if parts.tiers is None:
            if parts.tier_field is not None and parts.tier_field in self.values:
                return self.values[parts.tier_field]
            return Val(z3.BoolVal(False), z3.StringVal(""), "string")
        known: Any = z3.BoolVal(False)
        value: Any = z3.StringVal("")
        for tier in reversed(parts.tiers):
            name = z3.StringVal(tier.tier)
            if tier.when is None:
                known, value = z3.BoolVal(True), name
                continue
            hit = self.fires(tier.when, when_unknown_of(tier))
            known, value = z3.Or(hit, known), z3.If(hit, name, value)
        return Val(known, value, "string")

    def tier_is(self, name: str) -> Any:
        tier = self.tier()
        return self.z3.And(tier.known, tier.value == self.z3.StringVal(name))

    # -- conditions ------------------------------------------------------------------------

    def condition(self, condition: Condition) -> Val:
        """The condition as a symbolic three-valued boolean."""
        key = id(condition)
        found = self._conditions.get(key)
        if found is None:
            found = self.expr(condition_tree(condition))
            self._conditions[key] = found
        return found

    def true(self, condition: Condition) -> Any:
        v = self.condition(condition)
        return self.z3.And(v.known, v.value)

    def false(self, condition: Condition) -> Any:
        v = self.condition(condition)
        return self.z3.And(v.known, self.z3.Not(v.value))

    def unknown(self, condition: Condition) -> Any:
        return self.z3.Not(self.condition(condition).known)

    def fires(self, condition: Condition | None, when_unknown: str = "skip") -> Any:
        """Whether the element acts: true, or unknown when it says ``when_unknown: apply``."""
        if condition is None:
            return self.z3.BoolVal(True)
        if when_unknown == "apply":
            return self.z3.Not(self.false(condition))
        return self.true(condition)

    def expr(self, node: Node) -> Val:
        """The symbolic value of a checked sub-expression."""
        return self.translate(node)

    def literal(self, node: Literal) -> Val:
        return self.constant_val(node.value, node.type)

    def name(self, node: Name) -> Val:
        return self.read(node.name)

    def param(self, node: Param) -> Val:
        return self.param_at(node.name, self.values["as_of"])

    def list_expr(self, node: ListExpr) -> Val:
        return Val(self.z3.BoolVal(True), None, "list", tuple(self.expr(i) for i in node.items))

    def apply(self, op: Operator, node: Application) -> Val:
        translation = APPLICATIONS.get(op.key)
        if translation is None:
            raise Untranslatable(f"operator '{op.symbol}'")
        return translation(self, node)

    def operands(self, node: Application) -> list[Val]:
        """The values of the node's operands, then ``as_of`` if the function reads it."""
        values = [self.expr(kid) for kid in children(node)]
        if operator_of(node).context == "as_of":
            values.append(self.values["as_of"])
        return values

    def constant_val(self, value: Any, kind: ValueType | None) -> Val:
        z3 = self.z3
        if value is None:
            return Val(z3.BoolVal(False), z3.BoolVal(False), "null")
        if isinstance(value, tuple):
            item = kind.item if kind is not None else None
            return Val(z3.BoolVal(True), None, "list",
                       tuple(self.constant_val(v, item) for v in value))
        if isinstance(value, bool):
            return Val(z3.BoolVal(True), z3.BoolVal(value), "bool")
        if isinstance(value, int):
            return Val(z3.BoolVal(True), z3.IntVal(value), "int")
        if isinstance(value, Decimal):
            return Val(z3.BoolVal(True), _rational(value), "real")
        if isinstance(value, date):
            return Val(z3.BoolVal(True), z3.IntVal(value.toordinal()), "date")
        if isinstance(value, str):
            return Val(z3.BoolVal(True), z3.StringVal(value), "string")
        raise Untranslatable(f"constant {value!r}")

    def read(self, name: str) -> Val:
        if name == "tier":
            return self.tier()
        found = self.values.get(name)
        if found is None:
            raise Untranslatable(self.unsupported.get(name, f"name '{name}'"))
        return found

    def param_at(self, name: str, on: Val) -> Val:
        """The parameter in force on ``on`` (unknown before its first effective date)."""
        z3 = self.z3
        rows = sorted(self.policy.parameters.table(name), key=lambda row: row[0])
        kinds = {_value_kind(v) for _, v in rows}
        kind = "real" if kinds == {"int", "real"} else kinds.pop()
        first = rows[0][0]
        known = on.known if first == date.min else z3.And(on.known,
                                                          on.value >= first.toordinal())
        value = self.constant(rows[0][1], kind)
        for start, row_value in rows[1:]:
            value = z3.If(on.value >= start.toordinal(), self.constant(row_value, kind), value)
        return Val(known, value, kind)

    def numbers(self, node: Application) -> tuple[Val, Val, Any]:
        """Both operands of an arithmetic operator, and when both are known."""
        left, right = self.operands(node)
        if left.kind not in ("int", "real") or right.kind not in ("int", "real"):
            raise Untranslatable(f"'{operator_of(node).symbol}' on {left.kind} and {right.kind}")
        return left, right, self.z3.And(left.known, right.known)

    def modulo(self, left: Val, right: Val, known: Any) -> Val:
        """The remainder with the sign of the dividend; unknown for ``x % 0`` and, for
        decimals, when the quotient needs more than the 28 digits the library computes."""
        z3 = self.z3
        if left.kind == right.kind == "int":
            a, b = left.value, right.value
            remainder = z3.If(a >= 0, a, -a) % z3.If(b >= 0, b, -b)
            return Val(z3.And(known, b != 0), z3.If(a < 0, -remainder, remainder), "int")
        a, b = _real(z3, left), _real(z3, right)
        quotient = z3.Int(f"quotient#{len(self.loan.constraints)}")
        exact = a / b
        truncated = z3.If(exact >= 0, z3.And(z3.ToReal(quotient) <= exact,
                                             exact < z3.ToReal(quotient) + 1),
                          z3.And(z3.ToReal(quotient) - 1 < exact, exact <= z3.ToReal(quotient)))
        defined = z3.And(known, b != 0)
        self.loan.constraints.append(z3.Implies(defined, truncated))
        limit = 10 ** _DECIMAL_DIGITS
        return Val(z3.And(defined, quotient < limit, quotient > -limit),
                   a - b * z3.ToReal(quotient), "real")

    def bool_op(self, op: str, operands: Sequence[Val]) -> Val:
        z3 = self.z3
        trues = [z3.And(o.known, o.value) for o in operands]
        falses = [z3.And(o.known, z3.Not(o.value)) for o in operands]
        if op == "and":
            true, false = z3.And(trues), z3.Or(falses)
        else:
            true, false = z3.Or(trues), z3.And(falses)
        return Val(z3.Or(true, false), true, "bool")

    def compare(self, node: Compare) -> Val:
        operands = [self.expr(o) for o in node.operands]
        pairs = [COMPARISONS[comparison_of(node, i).key](self, operands[i], op.op,
                                                         operands[i + 1])
                 for i, op in enumerate(node.ops)]
        return pairs[0] if len(pairs) == 1 else self.bool_op("and", pairs)

    def membership(self, left: Val, op: str, right: Val) -> Val:
        z3 = self.z3
        if right.kind != "list" or left.kind == "list":
            raise Untranslatable(f"'{op}' on {left.kind} and {right.kind}")
        hits = [z3.And(item.known, self.equal(left, item)) for item in right.items]
        found = z3.Or(hits) if hits else z3.BoolVal(False)
        return Val(left.known, found if op == "in" else z3.Not(found), "bool")

    def comparison(self, left: Val, op: str, right: Val) -> Val:
        z3 = self.z3
        if "list" in (left.kind, right.kind):
            raise Untranslatable(f"'{op}' on lists")
        known = z3.And(left.known, right.known)
        if op == "==":
            return Val(known, self.equal(left, right), "bool")
        if op == "!=":
            return Val(known, z3.Not(self.equal(left, right)), "bool")
        a, b = self.comparable(left, right)
        return Val(known, _ORDERINGS[op](a, b), "bool")

    def comparable(self, left: Val, right: Val) -> tuple[Any, Any]:
        numbers = ("int", "real")
        if left.kind in numbers and right.kind in numbers:
            if left.kind == right.kind:
                return left.value, right.value
            return _real(self.z3, left), _real(self.z3, right)
        if left.kind != right.kind:
            raise Untranslatable(f"comparing {left.kind} with {right.kind}")
        return left.value, right.value

    def equal(self, left: Val, right: Val) -> Any:
        if "null" in (left.kind, right.kind):
            return self.z3.BoolVal(False)
        a, b = self.comparable(left, right)
        return a == b

    def months_between(self, start: Val, end: Val) -> Val:
        """Whole calendar months, as a fresh integer bounded by the day difference."""
        z3 = self.z3
        loan = self.loan
        months = z3.Int(f"months_between#{len(loan.months)}")
        known = z3.And(start.known, end.known)
        days = end.value - start.value

        def bounds(m: Any, d: Any) -> Any:
            # true m: days(m) <= d < days(m + 1), and 28m <= days(m) <= 31m,
            # |days(m) - 146097m/4800| <= 3.41
            return z3.And(m >= 0, 28 * m <= d, d < 31 * (m + 1),
                          4800 * d >= 146097 * m - 4800 * _MONTH_SLACK,
                          4800 * d < 146097 * (m + 1) + 4800 * _MONTH_SLACK)

        loan.constraints.append(z3.Implies(known, z3.If(days >= 0, bounds(months, days),
                                                       bounds(-months, -days))))
        loan.months.append(MonthsTerm(months, known, start.value, end.value))
        return Val(known, months, "int")


# -- one translation per entry of the operator table ------------------------------------

Translation = Callable[[PolicyEncoding, Application], Val]


def _untranslatable(what: str) -> Callable[..., Val]:
    """The translation of an entry the analysis cannot encode: checks needing it are unknown."""

    def refuse(*args: Any) -> Val:
        raise Untranslatable(what)

    return refuse


def _negate(e: PolicyEncoding, node: Application) -> Val:
    (operand,) = e.operands(node)
    if operand.kind not in ("int", "real"):
        raise Untranslatable("operator '-'")
    return Val(operand.known, -operand.value, operand.kind)


def _not(e: PolicyEncoding, node: Application) -> Val:
    (operand,) = e.operands(node)
    return Val(operand.known, e.z3.Not(operand.value), "bool")


def _arithmetic(combine: Callable[[Any, Any], Any]) -> Translation:
    """``+``, ``-``, ``*``: ints stay ints, a decimal on either side makes reals."""

    def arithmetic(e: PolicyEncoding, node: Application) -> Val:
        left, right, known = e.numbers(node)
        if left.kind == right.kind == "int":
            return Val(known, combine(left.value, right.value), "int")
        return Val(known, combine(_real(e.z3, left), _real(e.z3, right)), "real")

    return arithmetic


def _divide(e: PolicyEncoding, node: Application) -> Val:
    left, right, known = e.numbers(node)
    a, b = _real(e.z3, left), _real(e.z3, right)
    return Val(e.z3.And(known, b != 0), a / b, "real")


def _modulo(e: PolicyEncoding, node: Application) -> Val:
    return e.modulo(*e.numbers(node))


def _kleene(e: PolicyEncoding, node: Application) -> Val:
    assert isinstance(node, BoolOp)
    return e.bool_op(node.op, [e.expr(o) for o in node.operands])


def _days_between(e: PolicyEncoding, node: Application) -> Val:
    start, end = e.operands(node)
    return Val(e.z3.And(start.known, end.known), end.value - start.value, "int")


def _months_between(e: PolicyEncoding, node: Application) -> Val:
    return e.months_between(*e.operands(node))


def _is_set(e: PolicyEncoding, node: Application) -> Val:
    (operand,) = e.operands(node)
    return Val(e.z3.BoolVal(True), operand.known, "bool")


def _length(e: PolicyEncoding, node: Application) -> Val:
    (arg,) = e.operands(node)
    if arg.kind == "list":
        return Val(e.z3.BoolVal(True), e.z3.IntVal(len(arg.items)), "int")
    if arg.kind == "string":
        return Val(arg.known, e.z3.Length(arg.value), "int")
    raise Untranslatable(f"len of {arg.kind}")


def _param_at(e: PolicyEncoding, node: Application) -> Val:
    parameter, on = children(node)
    assert isinstance(parameter, Literal)
    return e.param_at(str(parameter.value), e.expr(on))


APPLICATIONS: dict[str, Translation] = {
    "neg": _negate, "not": _not,
    "add": _arithmetic(lambda a, b: a + b), "sub": _arithmetic(lambda a, b: a - b),
    "mul": _arithmetic(lambda a, b: a * b), "div": _divide, "mod": _modulo,
    "and": _kleene, "or": _kleene,
    "days_between": _days_between, "days_since": _days_between,
    "months_between": _months_between, "is_set": _is_set, "len": _length,
    "param_at": _param_at,
}
"""The z3 term of each unary, arithmetic, logic and function entry."""

COMPARISONS: dict[str, Callable[[PolicyEncoding, Val, str, Val], Val]] = {
    "eq": PolicyEncoding.comparison, "ne": PolicyEncoding.comparison,
    "lt": PolicyEncoding.comparison, "le": PolicyEncoding.comparison,
    "gt": PolicyEncoding.comparison, "ge": PolicyEncoding.comparison,
    "in": PolicyEncoding.membership, "not_in": PolicyEncoding.membership,
    "list_eq": _untranslatable("'==' on lists"), "list_ne": _untranslatable("'!=' on lists"),
    "list_in": _untranslatable("'in' on lists"),
    "list_not_in": _untranslatable("'not in' on lists"),
}
"""The z3 term of each comparison entry, for one pair of a chain."""

_ORDERINGS: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda x, y: x < y, "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y, ">=": lambda x, y: x >= y,
}


def when_unknown_of(element: Any) -> str:
    """``when_unknown`` of a tier, node or rule (``skip`` where the format has none)."""
    value = getattr(element, "when_unknown", None)
    return value if isinstance(value, str) else "skip"


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, Decimal):
        return "real"
    if isinstance(value, date):
        return "date"
    return "string"


def _rational(value: int | Decimal) -> Any:
    z3 = require_z3()
    fraction = Fraction(value)
    return z3.Q(fraction.numerator, fraction.denominator)


def _real(z3: Any, v: Val) -> Any:
    return z3.ToReal(v.value) if v.kind == "int" else v.value


def conjunction(z3: Any, parts: Iterable[Any]) -> Any:
    items = list(parts)
    return z3.And(items) if items else z3.BoolVal(True)

