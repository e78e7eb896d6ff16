"""Property tests: robustness on any text, and agreement of every evaluator.

Expressions are generated as small trees, rendered to text with the fewest
parentheses precedence allows, and evaluated three ways: the fast compiled closure,
the tracing closure, and a reference interpreter written here from the Kleene
tables, independent of the library.
"""

from __future__ import annotations

import calendar
import operator
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from followup_policy.errors import ConditionError
from followup_policy.expressions import (
    BOOL,
    DATE,
    DECIMAL,
    INT,
    Environment,
    ValueType,
    compile_condition,
)

TIERS = ("low", "medium", "high")
ENV = Environment({
    "i1": INT, "i2": INT, "i3": INT, "d1": DECIMAL, "d2": DECIMAL,
    "b1": BOOL, "b2": BOOL, "b3": BOOL, "t": ValueType.enum(TIERS),
    "dt1": DATE, "dt2": DATE, "as_of": DATE,
})
INT_NAMES = ("i1", "i2", "i3")
NUMBER_NAMES = (*INT_NAMES, "d1", "d2")
BOOL_NAMES = ("b1", "b2", "b3")
DATE_NAMES = ("dt1", "dt2", "as_of")

Tree = tuple[Any, ...]

# Precedence levels of the rendered text: higher binds tighter.
OR, AND, NOT, CMP, SUM, PRODUCT, NEG, ATOM = range(1, 9)


# -- generating expressions ---------------------------------------------------------------


def name(n: str) -> Tree:
    return ("name", n)


def literal(value: Any, text: str) -> Tree:
    return ("lit", value, text)


int_literals = st.integers(0, 12).map(lambda v: literal(v, str(v)))
decimal_literals = st.sampled_from(["0.1", "0.2", "0.3", "1.5", "2.25", "0.0"]).map(
    lambda t: literal(Decimal(t), t))
number_leaves = st.one_of(st.sampled_from(NUMBER_NAMES).map(name), int_literals,
                          decimal_literals)


def _number_branches(child: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.tuples(st.just("arith"), st.sampled_from("+-*"), child, child),
        # Divide only by fields: a literal zero divisor is (rightly) a compile error.
        st.tuples(st.just("arith"), st.just("/"), child,
                  st.sampled_from(NUMBER_NAMES).map(name)),
        st.tuples(st.just("neg"), child),
    )


numbers = st.recursive(number_leaves, _number_branches, max_leaves=6)
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")


@st.composite
def comparisons(draw: st.DrawFn) -> Tree:
    count = draw(st.integers(1, 3))
    ops = draw(st.lists(st.sampled_from(COMPARE_OPS), min_size=count, max_size=count))
    operands = draw(st.lists(numbers, min_size=count + 1, max_size=count + 1))
    return ("cmp", tuple(ops), tuple(operands))


dates = st.dates(date(2023, 1, 1), date(2026, 12, 31))
date_operands = st.one_of(st.sampled_from(DATE_NAMES).map(name),
                          dates.map(lambda d: literal(d, f'date("{d.isoformat()}")')))

bool_leaves = st.one_of(
    st.sampled_from(BOOL_NAMES).map(name),
    st.sampled_from([literal(True, "true"), literal(False, "false")]),
    comparisons(),
    st.tuples(st.just("is_set"), st.sampled_from((*NUMBER_NAMES, *BOOL_NAMES, "t")).map(name)),
    st.tuples(st.just("in"), st.booleans(), st.just(name("t")),
              st.lists(st.sampled_from(TIERS), max_size=3).map(tuple)),
    st.tuples(st.just("in"), st.booleans(), st.sampled_from(INT_NAMES).map(name),
              st.lists(st.integers(0, 4), max_size=3).map(tuple)),
    st.tuples(st.just("cmp"), st.sampled_from(COMPARE_OPS).map(lambda op: (op,)),
              st.tuples(date_operands, date_operands)),
    st.tuples(st.just("cmp"), st.just((">",)),
              st.tuples(st.tuples(st.just("call"), st.sampled_from(
                  ["days_between", "months_between"]), date_operands, date_operands),
                  st.integers(-40, 40).map(lambda v: literal(v, str(v)) if v >= 0
                                           else ("neg", literal(-v, str(-v)))))),
    st.tuples(st.just("cmp"), st.just(("<=",)),
              st.tuples(st.tuples(st.just("since"), date_operands), int_literals)),
)


def _bool_branches(child: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.tuples(st.just("not"), child),
        st.tuples(st.just("and"), child, child),
        st.tuples(st.just("or"), child, child),
    )


conditions = st.recursive(bool_leaves, _bool_branches, max_leaves=8)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


small_decimals = st.sampled_from(["0", "0.1", "0.2", "0.3", "1.5", "-2.25", "7"]).map(Decimal)
snapshots = st.fixed_dictionaries({
    "i1": maybe(st.integers(-5, 5)), "i2": maybe(st.integers(-5, 5)),
    "i3": maybe(st.integers(-5, 5)), "d1": maybe(small_decimals), "d2": maybe(small_decimals),
    "b1": maybe(st.booleans()), "b2": maybe(st.booleans()), "b3": maybe(st.booleans()),
    "t": maybe(st.sampled_from(TIERS)), "dt1": maybe(dates), "dt2": maybe(dates),
    "as_of": maybe(dates),
})


# -- rendering ----------------------------------------------------------------------------


def render(tree: Tree) -> tuple[str, int]:
    """Text of ``tree`` and the precedence level of its outermost operator."""
    kind = tree[0]
    if kind == "lit":
        return tree[2], ATOM
    if kind == "name":
        return tree[1], ATOM
    if kind == "neg":
        return "-" + wrap(tree[1], NEG), NEG
    if kind == "arith":
        level = SUM if tree[1] in "+-" else PRODUCT
        return f"{wrap(tree[2], level)} {tree[1]} {wrap(tree[3], level + 1)}", level
    if kind == "cmp":
        parts = [wrap(tree[2][0], SUM)]
        for op, operand in zip(tree[1], tree[2][1:], strict=True):
            parts += [op, wrap(operand, SUM)]
        return " ".join(parts), CMP
    if kind == "not":
        return "not " + wrap(tree[1], NOT), NOT
    if kind in ("and", "or"):
        level = AND if kind == "and" else OR
        return f"{wrap(tree[1], level + 1)} {kind} {wrap(tree[2], level + 1)}", level
    if kind == "is_set":
        return f"is_set({render(tree[1])[0]})", ATOM
    if kind == "in":
        items = ", ".join(repr(item) if isinstance(item, int) else f'"{item}"'
                          for item in tree[3])
        op = "not in" if tree[1] else "in"
        return f"{wrap(tree[2], SUM)} {op} [{items}]", CMP
    if kind == "call":
        return f"{tree[1]}({render(tree[2])[0]}, {render(tree[3])[0]})", ATOM
    if kind == "since":
        return f"days_since({render(tree[1])[0]})", ATOM
    raise AssertionError(kind)


def wrap(tree: Tree, level: int) -> str:
    text, own = render(tree)
    return text if own >= level else f"({text})"


# -- the reference interpreter ------------------------------------------------------------

KLEENE_AND = {(True, True): True, (True, False): False, (True, None): None,
              (False, True): False, (False, False): False, (False, None): False,
              (None, True): None, (None, False): False, (None, None): None}
KLEENE_OR = {(a, b): (None if v is None else not v)
             for (a, b), v in {(x, y): KLEENE_AND[(None if x is None else not x,
                                                   None if y is None else not y)]
                               for x, y in KLEENE_AND}.items()}
ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


def reference(tree: Tree, values: dict[str, Any]) -> Any:
    kind = tree[0]
    if kind == "lit":
        return tree[1]
    if kind == "name":
        return values[tree[1]]
    if kind == "neg":
        value = reference(tree[1], values)
        return None if value is None else -value
    if kind == "arith":
        a, b = reference(tree[2], values), reference(tree[3], values)
        if a is None or b is None:
            return None
        if tree[1] == "/":
            return None if b == 0 else Decimal(a) / Decimal(b)
        return {"+": operator.add, "-": operator.sub, "*": operator.mul}[tree[1]](a, b)
    if kind == "cmp":
        operands = [reference(operand, values) for operand in tree[2]]
        result: bool | None = True
        for op, a, b in zip(tree[1], operands, operands[1:], strict=False):
            pair = None if a is None or b is None else ORDER[op](a, b)
            result = KLEENE_AND[result, pair]
        return result
    if kind == "not":
        value = reference(tree[1], values)
        return None if value is None else not value
    if kind == "and":
        return KLEENE_AND[reference(tree[1], values), reference(tree[2], values)]
    if kind == "or":
        return KLEENE_OR[reference(tree[1], values), reference(tree[2], values)]
    if kind == "is_set":
        return reference(tree[1], values) is not None
    if kind == "in":
        item = reference(tree[2], values)
        if item is None:
            return None
        return (item not in tree[3]) if tree[1] else (item in tree[3])
    if kind in ("call", "since"):
        start = reference(tree[-2] if kind == "call" else tree[1], values)
        end = reference(tree[3], values) if kind == "call" else values["as_of"]
        if start is None or end is None:
            return None
        if kind == "call" and tree[1] == "months_between":
            return _months(start, end)
        return (end - start).days
    raise AssertionError(kind)


def _add_months(start: date, months: int) -> date:
    year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
    return date(year, month0 + 1, min(start.day, calendar.monthrange(year, month0 + 1)[1]))


def _months(start: date, end: date) -> int:
    """Whole months by counting, independent of durations.months_between."""
    if end < start:
        return -_months(end, start)
    months = 0
    while _add_months(start, months + 1) <= end:
        months += 1
    return months


def names_in(tree: Tree) -> set[str]:
    if tree[0] == "name":
        return {tree[1]}
    found: set[str] = set()
    for part in tree[1:]:
        if isinstance(part, tuple) and part and isinstance(part[0], str) and (
                part[0] in ("name", "lit", "neg", "arith", "cmp", "not", "and", "or",
                            "is_set", "in", "call", "since")):
            found |= names_in(part)
        elif isinstance(part, tuple):
            for sub in part:
                if isinstance(sub, tuple) and sub and isinstance(sub[0], str):
                    found |= names_in(sub)
    if tree[0] == "since":
        found.add("as_of")
    return found


# -- properties ---------------------------------------------------------------------------

RELAXED = settings(max_examples=300, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])


@RELAXED
@given(conditions, st.lists(snapshots, min_size=1, max_size=4))
def test_fast_path_trace_and_reference_agree(tree: Tree, cases: list[dict[str, Any]]) -> None:
    text = render(tree)[0]
    condition = compile_condition(text, ENV)
    for values in cases:
        expected = reference(tree, values)
        assert condition(values) is expected, text
        trace = condition.trace(values)
        assert trace.value is expected, text
        assert trace.text == text
        missing = condition.missing_fields(values)
        if expected is not None:
            assert missing == ()
        else:
            assert list(missing) == sorted(set(missing))
            assert all(values[field] is None for field in missing), (text, missing)
            assert set(missing) <= names_in(tree)
            if "/" not in text:
                assert missing, text  # unknown without division means some null mattered


SAMPLES: dict[str, Any] = {
    "i1": 1, "i2": 2, "i3": 0, "d1": Decimal("0.5"), "d2": Decimal(3), "b1": True, "b2": False,
    "b3": True, "t": "low", "dt1": date(2024, 1, 31), "dt2": date(2024, 3, 1),
    "as_of": date(2024, 2, 29),
}


@RELAXED
@given(conditions, snapshots)
def test_missing_fields_are_exactly_what_leaves_the_result_unknown(
        tree: Tree, values: dict[str, Any]) -> None:
    text = render(tree)[0]
    if "/" in text or "is_set" in text:
        # Division by zero is unknown with no field missing; is_set turns a null into a
        # known value, so filling a field can change what decides the result.
        return
    condition = compile_condition(text, ENV)
    if condition(values) is not None:
        return
    missing = condition.missing_fields(values)
    # Enough: supplying the reported fields decides the condition.
    supplied = {**values, **{field: SAMPLES[field] for field in missing}}
    assert condition(supplied) is not None, (text, missing)
    # Only those: supplying every other missing field leaves it unknown.
    others = {field: SAMPLES[field] for field, value in values.items()
              if value is None and field not in missing}
    assert condition({**values, **others}) is None, (text, missing)


IDENTIFIER_SOUP = st.sampled_from([
    "i1", "d1", "b1", "t", "as_of", "params", "params.x", "date", "len", "is_set", "days_since",
    "param_at", "and", "or", "not", "in", "true", "false", "null", "lambda", "for", "if",
    "else", "is", "None", "True", "(", ")", "[", "]", ",", ".", "=", "==", "!=", "<", "<=",
    ">", ">=", "+", "-", "*", "/", "**", "//", "%", "&&", "!", '"', "'", '"low"', "'x'",
    "0", "1", "0.5", "5.", "1e3", '"2024-01-01"', "{", ":", "#", "\\", "（", "\u200b", " ",
    "  ", "\n", "\t", "华东",
])


@RELAXED
@given(st.text(max_size=300))
def test_any_text_compiles_or_raises_condition_error(text: str) -> None:
    _compile_or_condition_error(text)


@RELAXED
@given(st.lists(IDENTIFIER_SOUP, max_size=40).map(" ".join))
def test_token_soup_compiles_or_raises_condition_error(text: str) -> None:
    _compile_or_condition_error(text)


@RELAXED
@given(st.lists(IDENTIFIER_SOUP, max_size=60).map("".join))
def test_glued_token_soup_compiles_or_raises_condition_error(text: str) -> None:
    _compile_or_condition_error(text)


@st.composite
def near_valid(draw: st.DrawFn) -> str:
    """A valid condition with a few edits: deletions, insertions, duplications."""
    text = render(draw(conditions))[0]
    for _ in range(draw(st.integers(1, 3))):
        if not text:
            break
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start, min(len(text), start + 6)))
        action = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if action == "delete":
            text = text[:start] + text[end:]
        elif action == "insert":
            text = text[:start] + draw(IDENTIFIER_SOUP) + text[start:]
        else:
            text = text[:end] + text[start:end] + text[end:]
    return text


@RELAXED
@given(near_valid())
def test_near_valid_text_compiles_or_raises_condition_error(text: str) -> None:
    _compile_or_condition_error(text)


@RELAXED
@given(st.integers(1, 3000), st.sampled_from(["(", "not ", "-", "[", "len(", "a + ", "- (",
                                                "f(", "params.", "\"", "1 < "]))
def test_repetition_compiles_or_raises_condition_error(count: int, unit: str) -> None:
    _compile_or_condition_error(unit * count + "b1")
    _compile_or_condition_error(unit * (count // len(unit) + 1))


def _compile_or_condition_error(text: str) -> None:
    try:
        condition = compile_condition(text, ENV)
    except ConditionError as error:
        assert 0 <= error.offset <= len(text)
        assert error.length >= 0
        assert error.message
        return
    values = dict.fromkeys(ENV.fields)
    assert condition(values) in (True, False, None)
    assert condition.trace(values).value is condition(values)
