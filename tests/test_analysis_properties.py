"""Property: the analyzer's answers agree with the interpreter on random conditions.

"Can never hold" means no random loan makes the condition hold; an example loan
from the analyzer makes it hold when evaluated.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import followup_policy as fp
from followup_policy.analysis import example_loan

from .conftest import make_policy

FIELDS = """\
fields:
  x: {type: int}
  n: {type: int, default: 0, min: 0}
  y: {type: decimal}
  d: {type: date}
  flag: {type: bool}
  kind: {type: enum, values: [a, b]}
parameters:
  t:
    - {from: 2024-01-01, value: 5}
    - {from: 2025-01-01, value: 10}
"""

ints = st.sampled_from(["x", "n", "-x", "x + n", "n * 2", "days_since(d)", "params.t",
                        "months_between(d, as_of)", "days_between(disbursement_date, d)"])
numbers = st.sampled_from(["y", "y / n", "x / 4", "y * 3"])
constants = st.integers(-3, 40).map(str)


@st.composite
def atoms(draw: st.DrawFn) -> str:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return f"{draw(ints)} {draw(st.sampled_from(['<', '<=', '>', '>=', '==', '!=']))}" \
               f" {draw(constants)}"
    if choice == 1:
        return f"{draw(numbers)} {draw(st.sampled_from(['<', '>', '==']))}" \
               f" {draw(st.sampled_from(['0', '0.5', '2.25', '-1']))}"
    if choice == 2:
        return draw(st.sampled_from(['kind == "a"', 'kind != "b"', 'kind in ["a"]']))
    if choice == 3:
        return draw(st.sampled_from(["flag", "not flag", "flag == false"]))
    if choice == 4:
        return f"is_set({draw(st.sampled_from(['x', 'y', 'd', 'flag', 'kind']))})"
    return f"{draw(st.integers(-3, 5))} < {draw(ints)} <= {draw(constants)}"


conditions = st.recursive(
    atoms(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda c: f"not ({c})"),
    ),
    max_leaves=4,
)

maybe = st.none().__or__
loans = st.fixed_dictionaries({
    "loan_id": st.just("L"),
    "disbursement_date": st.dates(date(2023, 6, 1), date(2026, 6, 1)),
    "as_of": st.dates(date(2023, 6, 1), date(2027, 6, 1)),
    "x": maybe(st.integers(-10, 60)),
    "n": maybe(st.integers(0, 5)),
    "y": maybe(st.decimals(-3, 3, places=2)),
    "d": maybe(st.dates(date(2023, 1, 1), date(2027, 1, 1))),
    "flag": maybe(st.booleans()),
    "kind": maybe(st.sampled_from(["a", "b"])),
})


def policy_for(condition: str) -> fp.Policy:
    return make_policy(FIELDS + "rules:\n"
                       f"  - {{id: r, when: '{condition}', action: {{kind: k, after: 1 day}}}}\n")


def fires(policy: fp.Policy, loan: dict[str, Any]) -> bool:
    return any(a.id == "r" for a in policy.evaluate(loan).actions)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, st.lists(loans, min_size=20, max_size=20))
def test_never_holds_and_examples_agree_with_evaluation(condition: str,
                                                        samples: list[dict[str, Any]]) -> None:
    policy = policy_for(condition)
    findings = {f.kind: f for f in fp.analyze(policy).findings}
    if "never_holds" in findings:
        assert findings["never_holds"].verdict == "problem"
        assert not any(fires(policy, loan) for loan in samples), condition
        return
    if "always_holds" in findings:
        assert all(fires(policy, loan) for loan in samples), condition
    example = example_loan(policy, "rule", "r")
    if example is not None:
        assert fires(policy, example), (condition, example)
    counter = example_loan(policy, "rule", "r", holds=False)
    if counter is not None:
        assert not fires(policy, counter), (condition, counter)


def test_decimal_examples_are_exact() -> None:
    policy = policy_for("y / 3 > 0.1 and y < 0.5")
    loan = example_loan(policy, "rule", "r")
    assert loan is not None and isinstance(loan["y"], Decimal) and fires(policy, loan)
    assert loan["as_of"] - loan["disbursement_date"] >= timedelta(0)
