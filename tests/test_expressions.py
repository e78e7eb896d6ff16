"""Behaviour of the condition language: values, three-valued logic, tracing, params."""

from __future__ import annotations

import doctest
import pickle
import threading
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from itertools import product
from typing import Any

import pytest

from followup_policy.expressions import (
    BOOL,
    DATE,
    DECIMAL,
    INT,
    STRING,
    Condition,
    Environment,
    Trace,
    ValueType,
    _condition,
    _parser,
    compile_condition,
    parse,
)

TIERS = ValueType.enum(("low", "medium", "high"))


class FakeParams:
    """An effective-dated parameter table, as the policy loader would provide."""

    def __init__(self, tables: Mapping[str, tuple[ValueType, list[tuple[date, Any]]]]) -> None:
        self.tables = dict(tables)

    def names(self) -> Iterable[str]:
        return self.tables.keys()

    def type_of(self, name: str) -> ValueType | None:
        entry = self.tables.get(name)
        return None if entry is None else entry[0]

    def value_at(self, name: str, on: date) -> Any:
        found = None
        for start, value in self.tables[name][1]:
            if start <= on:
                found = value
        return found


PARAMS = FakeParams({
    "second_home_min_down_payment": (DECIMAL, [(date(2023, 8, 31), Decimal("0.30")),
                                               (date(2024, 5, 17), Decimal("0.25"))]),
    "high_risk_score": (INT, [(date.min, 550)]),
    "watched_regions": (ValueType.list_of(STRING), [(date.min, ("north", "east"))]),
})

FIELDS: dict[str, ValueType] = {
    "as_of": DATE,
    "disbursement_date": DATE,
    "loan_id": STRING,
    "tier": TIERS,
    "risk_tier": TIERS,
    "days_past_due": INT,
    "homes_owned_in_city": INT,
    "declared_home_order": INT,
    "down_payment_ratio": DECIMAL,
    "score": INT,
    "region": STRING,
    "delinquency_start_date": DATE,
    "contacted": BOOL,
    "p": BOOL,
    "q": BOOL,
    "r": BOOL,
    "a": INT,
    "b": INT,
    "c": INT,
    "x": DECIMAL,
    "tags": ValueType.list_of(STRING),
}
ENV = Environment(fields=FIELDS, params=PARAMS)


def values(**given: Any) -> dict[str, Any]:
    """Every field missing except those given; as_of defaults to a fixed date."""
    result: dict[str, Any] = dict.fromkeys(FIELDS)
    result["as_of"] = date(2026, 11, 28)
    result.update(given)
    return result


def run(text: str, **given: Any) -> Any:
    return compile_condition(text, ENV)(values(**given))


# -- literals and arithmetic --------------------------------------------------------------


def test_decimal_literals_are_exact() -> None:
    assert run("0.1 + 0.2 == 0.3") is True
    assert run("x == 0.3", x=Decimal("0.1") + Decimal("0.2")) is True
    assert run("x * 3 == 0.9", x=Decimal("0.3")) is True


def test_division_is_exact_and_division_by_zero_is_unknown() -> None:
    condition = compile_condition("a / b == 0.25", ENV)
    assert condition(values(a=1, b=4)) is True
    assert condition(values(a=1, b=0)) is None
    assert condition.missing_fields(values(a=1, b=0)) == ()
    assert run("x / a > 0.3", x=Decimal("1"), a=3) is True


def test_remainder_has_the_sign_of_the_dividend_and_zero_divisor_is_unknown() -> None:
    assert run("a % b == 1", a=7, b=3) is True
    assert run("a % b == -1", a=-7, b=3) is True  # as SQL MOD, not Python's 2
    assert run("a % b == 1", a=7, b=-3) is True
    trace = compile_condition("a % b == 1", ENV).trace(values(a=7, b=3))
    assert isinstance(trace.children[0].value, int)
    assert run("x % a == 0.5", x=Decimal("3.5"), a=3) is True
    assert run("x % a == -0.5", x=Decimal("-3.5"), a=3) is True
    assert run("a % b == 1", a=7, b=0) is None
    assert run("a % b == 1", a=None, b=3) is None
    assert run("a + b % c == 2", a=1, b=4, c=3) is True  # % binds like * and /
    condition = compile_condition("a % b == 0", ENV)
    assert condition.missing_fields(values(a=1, b=0)) == ()


def test_int_arithmetic_stays_int_and_precedence_holds() -> None:
    trace = compile_condition("a + b * c == 7", ENV).trace(values(a=1, b=2, c=3))
    left = trace.children[0]
    assert left.value == 7 and isinstance(left.value, int)
    assert run("-a * b == -6", a=2, b=3) is True
    assert run("a - b - c == -4", a=1, b=2, c=3) is True
    assert run("(a - b) * c == -3", a=1, b=2, c=3) is True


def test_string_literals_with_escapes_and_both_quotes() -> None:
    assert run(r'region == "a\"b"', region='a"b') is True
    assert run(r"region == 'it\'s'", region="it's") is True
    assert run(r'region == "back\\slash\n"', region="back\\slash\n") is True
    assert run('region == "华东"', region="华东") is True


def test_constant_subtrees_are_folded() -> None:
    condition = compile_condition("a > 2 * 3 + 1", ENV)
    trace = condition.trace(values(a=10))
    folded = trace.children[1]
    assert (folded.text, folded.value, folded.children) == ("2 * 3 + 1", 7, ())
    assert compile_condition("1 < 2 or a > 1", ENV).trace(values()).value is True
    assert compile_condition("false and a > 1", ENV)(values()) is False


# -- three-valued logic -------------------------------------------------------------------

T, F, U = True, False, None
KLEENE_AND = {(T, T): T, (T, F): F, (T, U): U, (F, T): F, (F, F): F, (F, U): F,
              (U, T): U, (U, F): F, (U, U): U}
KLEENE_OR = {(T, T): T, (T, F): T, (T, U): T, (F, T): T, (F, F): F, (F, U): U,
             (U, T): T, (U, F): U, (U, U): U}
KLEENE_NOT = {T: F, F: T, U: U}


@pytest.mark.parametrize(("p", "q"), list(product([T, F, U], repeat=2)))
def test_and_or_follow_kleene_tables_in_both_orders(p: bool | None, q: bool | None) -> None:
    given = values(p=p, q=q)
    assert compile_condition("p and q", ENV)(given) is KLEENE_AND[p, q]
    assert compile_condition("q and p", ENV)(given) is KLEENE_AND[q, p]
    assert compile_condition("p or q", ENV)(given) is KLEENE_OR[p, q]
    assert compile_condition("q or p", ENV)(given) is KLEENE_OR[q, p]


@pytest.mark.parametrize(("p", "q", "r"), list(product([T, F, U], repeat=3)))
def test_long_chains_fold_the_kleene_tables(p: bool | None, q: bool | None,
                                            r: bool | None) -> None:
    given = values(p=p, q=q, r=r)
    assert compile_condition("p and q and r", ENV)(given) is KLEENE_AND[KLEENE_AND[p, q], r]
    assert compile_condition("p or q or r", ENV)(given) is KLEENE_OR[KLEENE_OR[p, q], r]
    assert (compile_condition("p and q or r", ENV)(given)
            is KLEENE_OR[KLEENE_AND[p, q], r])


@pytest.mark.parametrize("p", [T, F, U])
def test_not_follows_kleene_table(p: bool | None) -> None:
    assert compile_condition("not p", ENV)(values(p=p)) is KLEENE_NOT[p]
    assert compile_condition("not not p", ENV)(values(p=p)) is p


def test_short_circuit_keeps_kleene_semantics() -> None:
    # Unknown first must not stop the evaluation: unknown and false is false.
    assert run("a > 1 and b > 1", a=None, b=0) is False
    assert run("a > 1 or b > 1", a=None, b=5) is True
    assert run("a > 1 and b > 1", a=None, b=5) is None


def test_comparisons_arithmetic_and_functions_with_null_are_unknown() -> None:
    assert run("a == 1", a=None) is None
    assert run("a != 1", a=None) is None
    assert run("a + 1 > 0", a=None) is None
    assert run("-a < 0", a=None) is None
    assert run("region in [\"north\", \"south\"]", region=None) is None
    assert run("region not in [\"north\"]", region=None) is None
    assert run("\"north\" in tags", tags=None) is None
    assert run("days_since(delinquency_start_date) > 30") is None
    assert run("months_between(disbursement_date, as_of) > 3") is None
    assert run("len(tags) > 0") is None


def test_is_set_is_never_unknown() -> None:
    assert run("is_set(a)", a=None) is False
    assert run("is_set(a)", a=0) is True
    assert run("not is_set(a + b)", a=1, b=None) is True
    assert compile_condition("is_set(a)", ENV).missing_fields(values()) == ()


# -- comparisons --------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "expected"), [(-1, F), (0, F), (1, T), (5, T), (6, F), (None, U)])
def test_chained_comparison_means_and(a: int | None, expected: bool | None) -> None:
    assert run("0 < a <= 5", a=a) is expected
    assert run("0 < a and a <= 5", a=a) is expected


def test_chain_with_unknown_middle_or_end() -> None:
    assert run("a < b < c", a=1, b=None, c=3) is None
    assert run("a < b < c", a=None, b=5, c=3) is False  # the known pair is false
    assert run("a < b < c", a=None, b=1, c=3) is None
    assert run("a == b == c", a=2, b=2, c=2) is True
    assert compile_condition("a < b < c", ENV).missing_fields(values(b=1)) == ("a", "c")


def test_membership_and_enums() -> None:
    assert run('risk_tier in ["medium", "high"]', risk_tier="high") is True
    assert run('risk_tier not in ["medium", "high"]', risk_tier="high") is False
    assert run('"north" in tags', tags=["south", "north"]) is True
    assert run("a in [1, 2.5]", a=1) is True
    assert run("x in [1, 2.5]", x=Decimal("2.50")) is True
    assert run('region in [region, "x"]', region="y") is True
    assert run("a in []", a=1) is False
    assert run("tags == [\"a\", \"b\"]", tags=["a", "b"]) is True  # list vs literal tuple


def test_dates_and_strings_order() -> None:
    assert run('disbursement_date < date("2024-05-17")', disbursement_date=date(2024, 5, 16))
    assert run('region < "m"', region="east") is True
    assert run('as_of >= date("2026-11-28")') is True


# -- date functions -----------------------------------------------------------------------


def test_date_functions_and_month_ends() -> None:
    assert run('months_between(date("2026-01-31"), date("2026-02-28")) == 1') is True
    assert run('months_between(date("2026-01-31"), date("2026-02-27")) == 0') is True
    assert run('months_between(date("2024-02-29"), date("2025-02-28")) == 12') is True
    assert run('days_between(date("2024-02-28"), date("2024-03-01")) == 2') is True
    assert run('days_between(date("2024-03-01"), date("2024-02-28")) == -2') is True
    assert run("days_since(disbursement_date) == 31", disbursement_date=date(2026, 10, 28))
    assert run("days_since(disbursement_date) > 0", disbursement_date=date(2026, 10, 28),
               as_of=None) is None
    assert run("months_between(disbursement_date, as_of) >= 3",
               disbursement_date=date(2026, 8, 28)) is True


def test_days_since_reports_as_of_when_it_is_missing() -> None:
    condition = compile_condition("days_since(disbursement_date) > 30", ENV)
    given = values(disbursement_date=date(2026, 1, 1), as_of=None)
    assert condition(given) is None
    assert condition.missing_fields(given) == ("as_of",)
    assert "as_of" in condition.fields


def test_len_of_lists_and_strings() -> None:
    assert run("len(tags) == 2", tags=["a", "b"]) is True
    assert run("len(loan_id) == 3", loan_id="L01") is True
    assert run("len([1, 2, a]) == 3", a=None) is True


# -- parameters ---------------------------------------------------------------------------


def test_params_take_the_value_in_force_on_as_of() -> None:
    condition = compile_condition("down_payment_ratio >= params.second_home_min_down_payment",
                                  ENV)
    ratio = Decimal("0.28")
    assert condition(values(down_payment_ratio=ratio, as_of=date(2024, 1, 1))) is False
    assert condition(values(down_payment_ratio=ratio, as_of=date(2024, 5, 17))) is True
    before = values(down_payment_ratio=ratio, as_of=date(2023, 1, 1))
    assert condition(before) is None
    assert condition.missing_fields(before) == ("params.second_home_min_down_payment",)
    assert condition.params == {"second_home_min_down_payment"}
    assert condition.fields == {"down_payment_ratio", "as_of"}


def test_param_at_reads_the_value_in_force_on_another_date() -> None:
    condition = compile_condition(
        'down_payment_ratio >= param_at("second_home_min_down_payment", disbursement_date)',
        ENV)
    ratio = Decimal("0.28")
    assert condition(values(down_payment_ratio=ratio, disbursement_date=date(2023, 9, 1)))\
        is False
    assert condition(values(down_payment_ratio=ratio, disbursement_date=date(2024, 6, 1)))
    unknown_date = values(down_payment_ratio=ratio)
    assert condition(unknown_date) is None
    assert condition.missing_fields(unknown_date) == ("disbursement_date",)
    too_early = values(down_payment_ratio=ratio, disbursement_date=date(2020, 1, 1))
    assert condition.missing_fields(too_early) == ("params.second_home_min_down_payment",)
    assert condition.params == {"second_home_min_down_payment"}
    assert condition.fields == {"down_payment_ratio", "disbursement_date"}


def test_list_parameters_work_with_in() -> None:
    assert run("region in params.watched_regions", region="east") is True
    assert run("score > params.high_risk_score", score=600) is True


# -- missing fields and traces ------------------------------------------------------------


def test_missing_fields_names_only_what_made_the_result_unknown() -> None:
    condition = compile_condition("a > 1 or b > 2", ENV)
    assert condition(values(a=None, b=5)) is True
    assert condition.missing_fields(values(a=None, b=5)) == ()
    assert condition(values(a=None, b=0)) is None
    assert condition.missing_fields(values(a=None, b=0)) == ("a",)
    assert condition.missing_fields(values(a=None, b=None)) == ("a", "b")


def test_missing_fields_ignores_nulls_that_did_not_matter() -> None:
    condition = compile_condition(
        "homes_owned_in_city >= 2 and declared_home_order == 1 and (p or q)", ENV)
    given = values(homes_owned_in_city=None, declared_home_order=1, p=True, q=None)
    assert condition(given) is None
    assert condition.missing_fields(given) == ("homes_owned_in_city",)
    known = values(homes_owned_in_city=None, declared_home_order=2)
    assert condition(known) is False
    assert condition.missing_fields(known) == ()


def test_missing_fields_are_sorted_and_deduplicated() -> None:
    condition = compile_condition("c > 1 and (a > 1 or a < -1) and b + a > 0", ENV)
    assert condition.missing_fields(values()) == ("a", "b", "c")


def test_trace_records_every_evaluated_sub_expression() -> None:
    text = "days_past_due > 30 and risk_tier == \"high\""
    trace = compile_condition(text, ENV).trace(values(days_past_due=45, risk_tier="low"))
    assert trace == Trace(text, 0, False, (
        Trace("days_past_due > 30", 0, True, (
            Trace("days_past_due", 0, 45), Trace("30", 16, 30))),
        Trace('risk_tier == "high"', 23, False, (
            Trace("risk_tier", 23, "low"), Trace('"high"', 36, "high"))),
    ))


def test_trace_omits_what_short_circuiting_skipped_and_keeps_parentheses() -> None:
    trace = compile_condition("(a > 1) and (b > 1)", ENV).trace(values(a=0, b=5))
    assert trace.value is False
    assert [child.text for child in trace.children] == ["(a > 1)"]


# -- the Condition object -----------------------------------------------------------------


def test_condition_is_immutable_and_reports_what_it_reads() -> None:
    condition = compile_condition("a > 1 and params.high_risk_score > b", ENV)
    assert isinstance(condition, Condition)
    assert condition.text == "a > 1 and params.high_risk_score > b"
    assert condition.fields == {"a", "b", "as_of"}
    assert condition.params == {"high_risk_score"}
    with pytest.raises(AttributeError):
        condition.text = "b > 1"
    assert repr(condition) == "Condition('a > 1 and params.high_risk_score > b')"


def test_condition_pickles_by_recompiling() -> None:
    condition = compile_condition("a > 1", Environment({"a": INT}))
    copy = pickle.loads(pickle.dumps(condition))
    assert copy.text == "a > 1" and copy({"a": 2}) is True


def test_condition_is_safe_to_share_between_threads() -> None:
    condition = compile_condition("a > b or (p and c in [1, 2, 3])", ENV)
    cases = [values(a=i % 7, b=3, p=i % 2 == 0, c=i % 4) for i in range(200)]
    expected = [condition(case) for case in cases]
    expected_missing = [condition.missing_fields(case) for case in cases]
    failures: list[int] = []

    def worker() -> None:
        for _ in range(20):
            for index, case in enumerate(cases):
                if (condition(case) is not expected[index]
                        or condition.trace(case).value is not expected[index]
                        or condition.missing_fields(case) != expected_missing[index]):
                    failures.append(index)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_value_type_names() -> None:
    assert str(INT) == "int"
    assert str(TIERS) == "enum[low, medium, high]"
    assert str(ValueType.list_of(STRING)) == "list[string]"
    assert ValueType.enum(["a"]) == ValueType("string", enum_values=("a",))
    assert BOOL.kind == "bool" and DATE.kind == "date"
    with pytest.raises(ValueError, match="item type"):
        ValueType("list")


def test_environment_without_params() -> None:
    condition = compile_condition("a > 1", Environment({"a": INT}))
    assert condition({"a": 5}) is True


def test_parse_is_a_stage_of_its_own() -> None:
    tree = parse("not (a < b)")
    assert (tree.offset, tree.length) == (0, 11)
    assert type(tree).__name__ == "Unary"


def test_doctests() -> None:
    for module in (_condition, _parser):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0
