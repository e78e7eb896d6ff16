"""Snapshot checking (spec section 4): types, enums, bounds, defaults, exact decimals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import BaseModel

import followup_policy as fp

from .conftest import make_policy, snapshot

POLICY = """
fields:
  loan_type: {type: enum, values: [residential, commercial]}
  days_past_due: {type: int, default: 0, min: 0}
  ratio: {type: decimal}
  start: {type: date}
  flag: {type: bool}
  branch_name: {type: string, required: true}
rules:
  - id: low_ratio
    when: ratio == 0.3
    action: {kind: check}
  - id: late
    when: days_past_due > 5 and flag
    action: {kind: call}
"""
AS_OF = date(2026, 6, 1)


@pytest.fixture(scope="module")
def policy() -> fp.Policy:
    return make_policy(POLICY)


@pytest.mark.parametrize("ratio", [0.3, "0.3", Decimal("0.30"), "0.30"])
def test_decimals_are_exact_whatever_their_form(policy: fp.Policy, ratio: object) -> None:
    decision = policy.evaluate(snapshot(ratio=ratio, branch_name="SZ01"), as_of=AS_OF)
    assert decision.action("low_ratio") is not None


def test_csv_strings_are_coerced(policy: fp.Policy) -> None:
    row = {"loan_id": "L9", "disbursement_date": "2026-01-01", "loan_type": "residential",
           "days_past_due": "7", "ratio": "", "start": "2026-02-01", "flag": "true",
           "branch_name": "SZ01"}
    decision = policy.evaluate(row, as_of=AS_OF)
    assert decision.action("late") is not None and decision.action("low_ratio") is None


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"loan_type": "residental"}, "loan_type", "did you mean 'residential'"),
        ({"days_past_due": -1}, "days_past_due", "at least 0"),
        ({"days_past_due": "3.5"}, "days_past_due", "whole number"),
        ({"days_past_due": True}, "days_past_due", "number"),
        ({"ratio": "abc"}, "ratio", "number"),
        ({"ratio": "NaN"}, "ratio", "finite"),
        ({"start": "2026-02-30"}, "start", "YYYY-MM-DD"),
        ({"start": "2026-02-01T10:00:00"}, "start", "YYYY-MM-DD"),
        ({"start": "20260201"}, "start", "YYYY-MM-DD"),  # fromisoformat takes it on 3.11+
        ({"flag": "yes"}, "flag", "true or false"),
        ({"branch_name": None}, "branch_name", "required"),
        ({"disbursement_date": "yesterday"}, "disbursement_date", "YYYY-MM-DD"),
        ({"loan_id": None}, "loan_id", "loan_id"),
        ({"follow_ups": [{"action": "m3"}]}, "follow_ups[0].date", "YYYY-MM-DD"),
        ({"follow_ups": "not json"}, "follow_ups", "JSON list"),
        ({"follow_ups": [{"date": "2026-01-01"}]}, "follow_ups[0].action", "id"),
    ],
)
def test_bad_snapshot_names_loan_field_and_value(
    policy: fp.Policy, changes: dict[str, object], field: str, fragment: str
) -> None:
    data = snapshot(branch_name="SZ01")
    data.update(changes)
    with pytest.raises(fp.SnapshotError) as info:
        policy.evaluate(data, as_of=AS_OF)
    error = info.value
    assert error.field == field
    assert fragment in str(error)
    if field != "loan_id":
        assert error.loan_id == "L1" and str(error).startswith("loan 'L1': ")


def test_defaults_apply_and_unknown_keys_are_ignored(policy: fp.Policy) -> None:
    decision = policy.evaluate(snapshot(branch_name="x", flag=True, extra_system_field=[1, 2]),
                               as_of=AS_OF)
    assert decision.action("late") is None  # days_past_due defaulted to 0


def test_pydantic_models_and_date_objects_are_accepted(policy: fp.Policy) -> None:
    class Loan(BaseModel):
        loan_id: str
        disbursement_date: date
        branch_name: str
        days_past_due: int
        flag: bool

    loan = Loan(loan_id="M1", disbursement_date=date(2026, 1, 1), branch_name="HO",
                days_past_due=9, flag=True)
    assert policy.evaluate(loan, as_of=AS_OF).action("late") is not None


def test_follow_ups_may_arrive_as_json_text(policy: fp.Policy) -> None:
    history = '[{"action": "late", "date": "2026-05-30", "channel": "phone", "outcome": "reached"}]'
    data = snapshot(branch_name="x", days_past_due=9, flag=True, follow_ups=history)
    assert policy.evaluate(data, as_of=AS_OF).action("late") is None


def test_evaluate_many_keeps_order_and_reports_bad_records(policy: fp.Policy) -> None:
    rows = [snapshot(loan_id="A", branch_name="x"), snapshot(loan_id="B", loan_type="nope",
            branch_name="x"), "not a mapping", snapshot(loan_id="C", branch_name="x")]
    results = list(policy.evaluate_many(rows, as_of=AS_OF))
    assert [type(r).__name__ for r in results] == ["Decision", "RecordError", "RecordError",
                                                   "Decision"]
    bad = results[1]
    assert isinstance(bad, fp.RecordError)
    assert (bad.index, bad.loan_id, bad.field) == (1, "B", "loan_type")
    assert isinstance(results[2], fp.RecordError) and results[2].loan_id is None
