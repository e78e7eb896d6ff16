"""Type checking: an untyped tree plus an :class:`Environment` to a typed tree.

Mistakes a policy author can make (an unknown field, a misspelt enum value, a date
compared with a number, ``x == null``) are caught here, when the policy loads, so
they never surface as a silently wrong follow-up schedule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import NoReturn

from ..errors import ConditionError, did_you_mean
from ._ast import Binary, BoolOp, Call, Compare, ListExpr, Literal, Name, Node, Op, Param, Unary
from ._types import BOOL, DATE, DECIMAL, INT, NULL, STRING, Environment, ValueType
from .operators import FUNCTIONS, Operator, operator_of
from .translator import Application, Translator

__all__ = ["FUNCTION_NAMES", "check", "check_condition", "compatible"]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

FUNCTION_NAMES = frozenset(FUNCTIONS)
_USAGE = {name: function.usage or name for name, function in FUNCTIONS.items()}


def compatible(left: ValueType, right: ValueType) -> bool:
    """Whether values of the two types can be tested for equality or membership."""
    if left.kind == "null" or right.kind == "null":
        return True
    if left.is_number and right.is_number:
        return True
    if left.kind != right.kind:
        return False
    if left.item is not None and right.item is not None:
        return compatible(left.item, right.item)
    return True


def _unify(left: ValueType, right: ValueType) -> ValueType | None:
    """The element type of a list holding both types, or None if they do not mix."""
    if left.kind == "null":
        return right
    if right.kind == "null":
        return left
    if left.is_number and right.is_number:
        return DECIMAL if "decimal" in (left.kind, right.kind) else INT
    if left.kind != right.kind:
        return None
    if left.item is not None and right.item is not None:
        item = _unify(left.item, right.item)
        return None if item is None else ValueType.list_of(item)
    if left.kind == "string" and left != right:
        return STRING
    return left


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
    """Like :func:`did_you_mean`, but a difference of case alone always matches."""
    options = list(candidates)
    for option in options:
        if option.casefold() == name.casefold():
            return option
    return did_you_mean(name, options)


def _literal_type(value: object) -> ValueType:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, str):
        return STRING
    if isinstance(value, date):
        return DATE
    return DECIMAL


def _is_null(node: Node) -> bool:
    return isinstance(node, Literal) and node.value is None


def _string_value(node: Node) -> str | None:
    if isinstance(node, Literal) and isinstance(node.value, str):
        return node.value
    return None


def _type(node: Node) -> ValueType:
    assert node.type is not None, "checked nodes always carry a type"
    return node.type


class _Checker(Translator[Node]):
    def __init__(self, env: Environment, text: str) -> None:
        self.env = env
        self.text = text

    def source(self, node: Node) -> str:
        return self.text[node.offset:node.end]

    @staticmethod
    def fail(message: str, node: Node | Op, suggestion: str | None = None) -> NoReturn:
        raise ConditionError(message, node.offset, node.length, suggestion)

    def param_names(self) -> list[str]:
        return sorted(self.env.params.names())

    def check(self, node: Node) -> Node:
        if isinstance(node, Call):  # before the table lookup: the name may be misspelt
            return self.call(node)
        return self.translate(node)

    def literal(self, node: Literal) -> Node:
        return replace(node, type=_literal_type(node.value))

    def apply(self, op: Operator, node: Application) -> Node:
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Binary):
            return self.binary(node)
        assert isinstance(node, BoolOp), "calls are checked before the table lookup"
        return self.bool_op(node)

    # -- names ------------------------------------------------------------------------------

    def name(self, node: Name) -> Node:
        kind = self.env.fields.get(node.name)
        if kind is not None:
            return replace(node, type=kind)
        name = node.name
        if name == "params":
            self.fail("write params.NAME to read a parameter", node)
        if name in FUNCTION_NAMES:
            self.fail(f"'{name}' is a function; call it as {_USAGE[name]}", node)
        if name in self.param_names():
            self.fail(f"unknown name '{name}'; parameters are read as params.NAME", node,
                      f"params.{name}")
        self.fail(f"unknown name '{name}'", node,
                  _suggest(name, [*self.env.fields, "params"]))

    def param(self, node: Param) -> Node:
        kind = self.env.params.type_of(node.name)
        if kind is None:
            raise ConditionError(f"unknown parameter '{node.name}'", node.name_offset,
                                 len(node.name), _suggest(node.name, self.param_names()))
        return replace(node, type=kind)

    # -- operators --------------------------------------------------------------------------

    def list_expr(self, node: ListExpr) -> Node:
        items = tuple(self.check(item) for item in node.items)
        item_type = NULL
        for item in items:
            unified = _unify(item_type, _type(item))
            if unified is None:
                self.fail(f"list mixes {item_type} and {item.type}", item)
            item_type = unified
        return replace(node, items=items, type=ValueType.list_of(item_type))

    def unary(self, node: Unary) -> Node:
        operand = self.check(node.operand)
        kind = _type(operand)
        if node.op == "not":
            if kind != BOOL:
                self.fail(f"'not' needs true or false, got {kind}", operand)
            return replace(node, operand=operand, type=BOOL)
        if not kind.is_number:
            self.fail(f"'-' needs a number, got {kind}", operand)
        return replace(node, operand=operand, type=operator_of(node).result_type((kind,)))

    def binary(self, node: Binary) -> Node:
        left, right = self.check(node.left), self.check(node.right)
        for operand in (left, right):
            if not _type(operand).is_number:
                hint = ""
                if node.op == "-" and left.type == DATE and right.type == DATE:
                    hint = "; use days_between(a, b)"
                self.fail(f"'{node.op}' needs numbers, got {operand.type}{hint}", operand)
        kind = operator_of(node).result_type((_type(left), _type(right)))
        return replace(node, left=left, right=right, type=kind)

    def bool_op(self, node: BoolOp) -> Node:
        operands = tuple(self.check(operand) for operand in node.operands)
        for operand in operands:
            if operand.type != BOOL:
                self.fail(f"'{node.op}' needs true or false on both sides, got {operand.type}",
                          operand)
        return replace(node, operands=operands, type=BOOL)

    def compare(self, node: Compare) -> Node:
        operands = tuple(self.check(operand) for operand in node.operands)
        for index, op in enumerate(node.ops):
            self.comparison(operands[index], op, operands[index + 1])
        return replace(node, operands=operands, type=BOOL)

    def comparison(self, left: Node, op: Op, right: Node) -> None:
        if op.op in ("in", "not in"):
            self.membership(left, op, right)
        elif op.op in ("==", "!="):
            self.equality(left, op, right)
        else:
            self.ordering(left, op, right)

    def equality(self, left: Node, op: Op, right: Node) -> None:
        for null, other in ((left, right), (right, left)):
            if _is_null(null):
                fix = f"{'not ' if op.op == '==' else ''}is_set({self.source(other)})"
                self.fail(f"'{op.op} null' is not allowed; use is_set(x) to test for a"
                          " missing value", null, fix)
        self.require_compatible(left, op, right)
        self.check_enum_value(left, right)
        self.check_enum_value(right, left)

    def ordering(self, left: Node, op: Op, right: Node) -> None:
        for operand in (left, right):
            if _is_null(operand):
                self.fail(f"'{op.op}' cannot order null; use is_set(x) to test for a missing"
                          " value", operand)
        self.require_compatible(left, op, right)
        lt, rt = _type(left), _type(right)
        if lt.is_enum or rt.is_enum:
            self.fail(f"enum values have no order, so '{op.op}' would compare spelling;"
                      " use == or in", op)
        if not (lt.is_number or lt.kind in ("date", "string")):
            self.fail(f"'{op.op}' needs numbers, dates or strings, got {lt}", op)

    def membership(self, left: Node, op: Op, right: Node) -> None:
        rt = _type(right)
        if rt.item is None:
            self.fail(f"'{op.op}' needs a list on the right, got {rt}", right)
        if _is_null(left):
            self.fail(f"'{op.op}' cannot look for null; use is_set(x) to test for a missing"
                      " value", left)
        lt = _type(left)
        if not compatible(lt, rt.item):
            self.fail(f"cannot look for {lt} in {rt}", op)
        if isinstance(right, ListExpr):
            for item in right.items:
                self.check_enum_value(left, item)
        elif rt.item.is_enum:
            self.check_enum_value(replace(right, type=rt.item), left)

    def require_compatible(self, left: Node, op: Op, right: Node) -> None:
        lt, rt = _type(left), _type(right)
        if compatible(lt, rt):
            return
        suggestion = None
        for dated, other in ((lt, right), (rt, left)):
            value = _string_value(other)
            if dated == DATE and value is not None and _parse_date(value) is not None:
                suggestion = f'date("{value}")'
        self.fail(f"cannot compare {lt} with {rt}", op, suggestion)

    def check_enum_value(self, enum_node: Node, literal: Node) -> None:
        """A string literal compared with an enum must be one of its declared values."""
        values = _type(enum_node).enum_values
        value = _string_value(literal)
        if values is None or value is None or value in values:
            return
        owner = self.source(enum_node) if isinstance(enum_node, (Name, Param)) else "the enum"
        self.fail(f"'{value}' is not a value of {owner} ({', '.join(values)})", literal,
                  _suggest(value, values))

    # -- calls ------------------------------------------------------------------------------

    def call(self, node: Call) -> Node:
        name = node.name
        at_name = Name(node.offset, len(name), name)
        if name not in FUNCTION_NAMES:
            if name in self.env.fields:
                self.fail(f"'{name}' is a field, not a function", at_name)
            self.fail(f"unknown function '{name}'", at_name,
                      _suggest(name, sorted(FUNCTION_NAMES)))
        function = FUNCTIONS[name]
        expected = function.arity
        if len(node.args) != expected:
            plural = "argument" if expected == 1 else "arguments"
            self.fail(f"{name} takes {expected} {plural}: {_USAGE[name]}, got {len(node.args)}",
                      at_name)
        args = tuple(self.check(arg) for arg in node.args)
        if name == "date":
            return self.date_literal(node, args[0])
        if name == "param_at":
            return self.param_at(node, args)
        if name == "len":
            kind = _type(args[0])
            if kind.kind not in ("list", "string"):
                self.fail(f"len needs a list or a string, got {kind}", args[0])
        for arg, accepts in zip(args, function.accepts, strict=True):
            if accepts == "date" and arg.type != DATE:
                self.fail(f"{name} needs dates, got {arg.type}", arg)
        return replace(node, args=args, type=function.result_type([_type(a) for a in args]))

    def date_literal(self, node: Call, arg: Node) -> Node:
        text = _string_value(arg)
        if text is None:
            self.fail('date needs a quoted date, e.g. date("2024-05-18")', arg)
        value = _parse_date(text)
        if value is None:
            self.fail(f"'{text}' is not a valid date; write YYYY-MM-DD", arg)
        return Literal(node.offset, node.length, value, type=DATE)

    def param_at(self, node: Call, args: tuple[Node, ...]) -> Node:
        name = _string_value(args[0])
        if name is None:
            self.fail('param_at needs the parameter name in quotes, e.g. param_at("NAME", d)',
                      args[0])
        kind = self.env.params.type_of(name)
        if kind is None:
            self.fail(f"unknown parameter '{name}'", args[0],
                      _suggest(name, self.param_names()))
        if args[1].type != DATE:
            self.fail(f"param_at needs a date, got {args[1].type}", args[1])
        return replace(node, args=args, type=kind)


def _parse_date(text: str) -> date | None:
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError:
        return None


def check(node: Node, env: Environment, text: str) -> Node:
    """The tree with every node's ``type`` filled in, or a located :class:`ConditionError`.

    ``text`` is the source the tree was parsed from, used to quote it in messages.
    """
    return _Checker(env, text).check(node)


def check_condition(node: Node, env: Environment, text: str) -> Node:
    """Like :func:`check`, and the whole condition must be true or false."""
    checked = check(node, env, text)
    if checked.type != BOOL:
        raise ConditionError(f"condition must be true or false, got {checked.type}",
                             checked.offset, checked.length)
    return checked
