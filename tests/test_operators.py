"""The operator table: every engine translates every entry, and agrees with its implementation.

An operator added to :data:`OPERATORS` without a translation in one engine fails
here, before any differential test has to stumble on it.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from followup_policy.engines.generated import _expressions as generated
from followup_policy.engines.portfolio import conditions as sql
from followup_policy.expressions import BOOL, Environment, compile_condition
from followup_policy.expressions._checker import FUNCTION_NAMES
from followup_policy.expressions._compiler import KLEENE
from followup_policy.expressions.operators import (
    BY_KEY,
    FUNCTIONS,
    OPERATORS,
    kleene_and,
    kleene_or,
)

TRANSLATED = [op for op in OPERATORS if op.translated]
KEYS = {op.key for op in TRANSLATED}


def test_keys_are_unique_and_functions_are_the_checker_s() -> None:
    assert len(BY_KEY) == len(OPERATORS)
    assert frozenset(FUNCTIONS) == FUNCTION_NAMES
    for op in OPERATORS:
        assert len(op.accepts) == op.arity, op.key
        assert (op.usage is not None) == (op.shape == "function"), op.key
        assert (op.implementation is not None) == op.translated, op.key


def test_interpreter_covers_every_entry() -> None:
    """The interpreter's generic shapes: strict or never with one or two operands, kleene."""
    for op in TRANSLATED:
        if op.nulls == "kleene":
            assert op.key in KLEENE, op.key
        else:
            assert op.arity + (op.context == "as_of") <= 2, op.key
    assert set(KLEENE) <= KEYS


def test_generated_engine_covers_every_entry() -> None:
    written = [set(generated.INLINE), set(generated.CALLED), set(generated.KLEENE)]
    for a, b in itertools.combinations(written, 2):
        assert not a & b, "an entry is written two ways"
    assert set().union(*written) == KEYS


def test_portfolio_sql_covers_every_entry() -> None:
    applications, comparisons = set(sql.APPLICATIONS), set(sql.COMPARISONS)
    assert not applications & comparisons
    assert comparisons == {op.key for op in TRANSLATED if op.shape == "comparison"}
    assert applications | comparisons == KEYS


def test_analysis_covers_every_entry() -> None:
    pytest.importorskip("z3", reason="the analysis extra (z3-solver) is missing")
    from followup_policy.analysis import translate

    applications, comparisons = set(translate.APPLICATIONS), set(translate.COMPARISONS)
    assert comparisons == {op.key for op in TRANSLATED if op.shape == "comparison"}
    assert applications | comparisons == KEYS
    assert not applications & comparisons


def test_the_policy_format_documents_every_entry() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "policy-format.md").read_text("utf-8")
    for op in OPERATORS:
        assert f"`{op.usage or op.symbol}`" in doc, op.key


SAMPLES: dict[str, list[Any]] = {
    "number": [0, 3, -7, Decimal("2.5"), Decimal("-0.1")],
    "bool": [True, False],
    "date": [date(2024, 1, 31), date(2024, 2, 29), date(2023, 12, 1)],
    "any": [None, 0, "a", date(2024, 1, 1)],
    "number, date or string": [1, Decimal("1.5"), 2],
    "any but a list": [1, Decimal("1.0"), 2],
    "a list of compatible values": [(1, 2), (Decimal("1.0"), None), ()],
}


def _operands(accepts: tuple[str, ...]) -> list[tuple[Any, ...]]:
    pools = [SAMPLES.get(kind, SAMPLES["number, date or string"]) for kind in accepts]
    return list(itertools.product(*pools))


@pytest.mark.parametrize("key", sorted(generated.INLINE))
def test_generated_inline_operators_compute_the_implementation(key: str) -> None:
    """Each Python operator the generated engine writes gives the implementation's value."""
    op = BY_KEY[key]
    assert op.implementation is not None
    template = generated.INLINE[key]
    for operands in _operands(op.accepts):
        args = operands + ((date(2024, 6, 30),) if op.context == "as_of" else ())
        names = {f"x{i}": value for i, value in enumerate(args)}
        written = template.format(*names)
        assert eval(written, {}, names) == op.implementation(*args), (key, args)


@pytest.mark.parametrize("values", list(itertools.product([True, False, None], repeat=3)))
def test_kleene_closures_follow_the_reference(values: tuple[bool | None, ...]) -> None:
    env = Environment({"a": BOOL, "b": BOOL, "c": BOOL})
    row = dict(zip("abc", values, strict=True))
    assert compile_condition("a and b and c", env)(row) == kleene_and(*values)
    assert compile_condition("a or b or c", env)(row) == kleene_or(*values)
    assert compile_condition("a and b", env)(row) == kleene_and(*values[:2])
    assert compile_condition("a or b", env)(row) == kleene_or(*values[:2])
