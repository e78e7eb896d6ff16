"""The batch contract: one decision or one reject per input record, whatever it holds.

Each test first reproduces a defect of issue 14 (a record that used to stop the
batch, hang the CPU or change results) and checks the fixed behaviour.
"""

from __future__ import annotations

import decimal
import io
import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import followup_policy as fp
from followup_policy.cli import run
from followup_policy.decisions import Decision, RecordError
from followup_policy.snapshots import MAX_DATE, MAX_NUMBER_EXPONENT

from .conftest import HEAD_OFFICE, ROOT

SHENZHEN = ROOT / "policies" / "branches" / "shenzhen.yaml"


def _good(loan_id: str = "G", **extra: Any) -> dict[str, Any]:
    return {"loan_id": loan_id, "disbursement_date": "2026-01-15", "loan_type": "residential",
            **extra}


BAD_RECORDS: list[tuple[str, dict[str, Any], str]] = [
    ("date near 9999", _good("D", disbursement_date="9999-12-31"), "disbursement_date"),
    ("as_of near 9999", _good("A", as_of="9999-12-31"), "as_of"),
    ("decimal underflow/overflow",
     _good("X", monthly_income="1e-999999", monthly_housing_payment="1e999999"),
     "monthly_income"),
    ("lone surrogate loan id", _good("\ud800"), "loan_id"),
    ("CPU bomb int", _good("C", days_past_due=Decimal("1e999999999")), "days_past_due"),
    ("huge Python int", _good("H", days_past_due=10**5000), "days_past_due"),
    ("52-digit whole number in an enum", _good("W", loan_type=Decimal("4.608774452722239e+51")),
     "loan_type"),
    ("surrogate in enum", _good("E", property_use="\udcff"), "property_use"),
    ("deep list in a field", _good("N", credit_score=[[[[[[[[1]]]]]]]]), "credit_score"),
    ("huge text", _good("T", property_use="x" * 1_000_000), "property_use"),
    ("follow-up date near 9999",
     _good("F", follow_ups=[{"action": "m3", "date": "9999-12-31"}]), "follow_ups[0].date"),
    ("follow-up JSON text nested deep", _good("J", follow_ups="[" * 100_000), "follow_ups"),
]


@pytest.mark.parametrize(("name", "record", "field"), BAD_RECORDS,
                         ids=[name for name, _, _ in BAD_RECORDS])
def test_each_bad_record_is_one_reject_and_the_batch_goes_on(
        head_office: fp.Policy, name: str, record: dict[str, Any], field: str) -> None:
    started = time.monotonic()
    around = {"as_of": "2026-11-28"}
    results = list(head_office.evaluate_many(
        [_good("before", **around), record, _good("after", **around)],
        as_of=None if "as_of" in record else date(2026, 11, 28)))
    assert time.monotonic() - started < 5  # 1e999999999 used to take minutes
    assert [type(r) for r in results] == [Decision, RecordError, Decision]
    error = results[1]
    assert isinstance(error, RecordError)
    assert error.index == 1 and error.field == field
    assert "internal error" not in error.message
    assert len(error.message) < 400  # a 1 MB value is not echoed
    with pytest.raises(fp.SnapshotError):
        head_office.evaluate(record, as_of=None if "as_of" in record else date(2026, 11, 28))


def test_limits_are_stated_in_the_messages(head_office: fp.Policy) -> None:
    def message(**values: Any) -> str:
        with pytest.raises(fp.SnapshotError) as caught:
            head_office.evaluate(_good(**values), as_of=date(2026, 11, 28))
        return str(caught.value)

    assert str(MAX_DATE) in message(disbursement_date="9999-12-31")
    assert f"1e{MAX_NUMBER_EXPONENT}" in message(monthly_income="1e999999")
    assert "100 digits" in message(days_past_due=10**200)
    assert "lone surrogate" in message(loan_id="L\ud800")
    assert "10,000 characters" in message(property_use="x" * 20_000)
    with pytest.raises(ValueError, match="as_of 9999-12-31 is outside"):
        head_office.evaluate(_good(), as_of=date(9999, 12, 31))


def test_an_unexpected_exception_becomes_a_reject_for_that_record_only() -> None:
    class Exploding(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            if key == "loan_type":
                raise ZeroDivisionError("a bug somewhere")
            return super().get(key, default)

    policy = fp.load_policy(HEAD_OFFICE)
    results = list(policy.evaluate_many([_good("a"), Exploding(_good("b")), _good("c")],
                                        as_of=date(2026, 11, 28)))
    assert [type(r) for r in results] == [Decision, RecordError, Decision]
    error = results[1]
    assert isinstance(error, RecordError) and error.loan_id == "b"
    assert "internal error (ZeroDivisionError: a bug somewhere)" in error.message


def test_two_bad_records_in_a_file_lose_nothing(tmp_path: Path) -> None:
    lines = [json.dumps(_good(f"L{i}")) for i in range(600)]
    lines[100] = json.dumps(_good("BAD1", disbursement_date="9999-12-31"))
    lines[500] = '{"loan_id": "BAD2", "disbursement_date": "2026-01-01", ' \
                  '"loan_type": "residential", "monthly_income": 1e-999999}'
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run(["evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28",
                str(source)], out, err)
    assert code == 1
    assert len(out.getvalue().splitlines()) == 598
    rejects = [json.loads(line) for line in err.getvalue().splitlines()]
    assert [(r["line"], r["loan_id"]) for r in rejects] == [(101, "BAD1"), (501, "BAD2")]


def test_a_decision_that_cannot_be_written_is_a_reject(tmp_path: Path) -> None:
    # text that cannot be encoded reaches the CSV writer for loan L1 only
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(_good(f"L{i}")) for i in range(3)) + "\n",
                      encoding="utf-8")
    target = tmp_path / "out.csv"
    rejects = tmp_path / "rejects.jsonl"
    import followup_policy.output as output

    real = output._rows

    def rows(decision: Decision) -> list[list[str]]:
        produced = real(decision)
        if decision.loan_id == "L1":
            produced[-1][0] = "L1\ud800"
        return produced

    output._rows = rows  # type: ignore[assignment]
    try:
        code = run(["evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28", str(source),
                    "-f", "csv", "-o", str(target), "--rejects", str(rejects)],
                   io.StringIO(), io.StringIO())
    finally:
        output._rows = real  # type: ignore[assignment]
    assert code == 1
    written = target.read_text(encoding="utf-8")
    assert "L0," in written and "L2," in written and "L1" not in written
    [reject] = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert reject["loan_id"] == "L1" and "could not be written" in reject["error"]


UNREADABLE_LINES = [
    (b'{"loan_id": 1' + b"1" * 5_000 + b"}", "4,300"),
    (b"[" * 100_000, "nested"),
]


@pytest.mark.parametrize(("line", "why"), UNREADABLE_LINES, ids=["bigint", "deep"])
def test_an_unreadable_jsonl_line_is_a_reject_and_every_other_line_is_evaluated(
        tmp_path: Path, line: bytes, why: str) -> None:
    good = [json.dumps(_good(f"L{i}")).encode() for i in range(4)]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join([good[0], good[1], line, good[2], good[3]]) + b"\n")
    out, err = io.StringIO(), io.StringIO()
    code = run(["evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28",
                str(source)], out, err)
    assert code == 1
    assert [json.loads(x)["loan_id"] for x in out.getvalue().splitlines()] == [
        "L0", "L1", "L2", "L3"]
    [reject] = [json.loads(x) for x in err.getvalue().splitlines()]
    assert reject["line"] == 3 and why in reject["error"]


def test_results_do_not_depend_on_the_callers_decimal_context() -> None:
    policy = fp.load_policy(SHENZHEN)
    # 15001 / 30001 = 0.50002 > 0.50 makes the loan 关注; at 3 digits it would be 0.500
    loan = _good("SZ", monthly_income="30001", monthly_housing_payment="15001",
                 homes_owned_in_city=1, declared_home_order=1, credit_score=650)
    expected = policy.evaluate(loan, as_of=date(2026, 11, 28))
    assert expected.tier == "关注"
    with decimal.localcontext() as context:
        context.prec = 3
        context.traps[decimal.Inexact] = True
        context.traps[decimal.Rounded] = True
        assert policy.evaluate(loan, as_of=date(2026, 11, 28)) == expected
        assert list(policy.evaluate_many([loan], as_of=date(2026, 11, 28))) == [expected]
        assert policy.explain(loan, as_of=date(2026, 11, 28)).decision == expected
        assert decimal.getcontext().prec == 3  # the caller's context is left as it was


# -- fuzzing: arbitrary JSON values for every declared field ------------------------------

_HEAD = fp.load_policy(HEAD_OFFICE)
_FIELDS = [*_HEAD.document.fields, "loan_id", "disbursement_date", "as_of", "follow_ups"]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=30) | st.sampled_from(["9999-12-31", "0001-01-01", "1e999999",
                                              "2026-02-30", "-0", "NaN", "\ud800"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
_RECORD = st.dictionaries(st.sampled_from(_FIELDS), _JSON, max_size=len(_FIELDS)).map(
    lambda values: {**_good(), **values})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_RECORD, min_size=1, max_size=4))
def test_fuzz_evaluate_many_one_result_per_record_quickly(records: list[dict[str, Any]]
                                                         ) -> None:
    results = []
    started = time.monotonic()
    for result in _HEAD.evaluate_many(records, as_of=date(2026, 11, 28)):
        assert time.monotonic() - started < 1  # this one record's evaluation
        results.append(result)
        started = time.monotonic()
    assert [r.index for r in results if isinstance(r, RecordError)] == [
        i for i, r in enumerate(results) if isinstance(r, RecordError)]
    assert len(results) == len(records)
    for result in results:
        if isinstance(result, RecordError):
            assert "internal error" not in result.message, result.message


_LOAD_SECONDS: list[float] = []


def _cli_load_seconds() -> float:
    """How long a CLI run of one good record takes here (load + first use), with slack."""
    if not _LOAD_SECONDS:
        started = time.monotonic()
        run(["evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28", "-"],
            io.StringIO(), io.StringIO(), io.StringIO(json.dumps(_good()) + "\n"))
        _LOAD_SECONDS.append(2 * (time.monotonic() - started) + 1)
    return _LOAD_SECONDS[0]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_RECORD, min_size=1, max_size=4))
def test_fuzz_cli_one_output_line_per_record(records: list[dict[str, Any]]) -> None:
    lines = [json.dumps(r, default=str) for r in records]
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    code = run(["evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28", "-"],
               out, err, io.StringIO("\n".join(lines) + "\n"))
    # loading the policy is most of a run; each record may add at most a second
    assert time.monotonic() - started < _cli_load_seconds() + len(records)
    decisions = out.getvalue().splitlines()
    rejects = [json.loads(line) for line in err.getvalue().splitlines()]
    assert len(decisions) + len(rejects) == len(records)
    assert code == (1 if rejects else 0)
    assert all("internal error" not in r["error"] for r in rejects)


def test_jobs_hold_the_batch_contract_like_one_process(tmp_path: Path) -> None:
    """--jobs parses JSONL lines in the workers: unreadable lines and records beyond the
    value limits are the same rejects there, and nothing is lost."""
    lines = [json.dumps(_good(f"L{i}")).encode() for i in range(40)]
    lines[3] = json.dumps(_good("BAD1", disbursement_date="9999-12-31")).encode()
    lines[9] = b'{"loan_id": 1' + b"1" * 5_000 + b"}"
    lines[15] = b"[" * 100_000
    lines[30] = (b'{"loan_id": "BAD2", "disbursement_date": "2026-01-01", '
                 b'"loan_type": "residential", "monthly_income": 1e-999999}')
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")

    def evaluate(*extra: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = run(["evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28",
                    *extra, str(source)], out, err)
        return code, out.getvalue(), err.getvalue()

    single = evaluate()
    assert evaluate("--jobs", "2") == single
    code, out, err = single
    assert code == 1
    assert len(out.splitlines()) == 36
    rejects = [json.loads(line) for line in err.splitlines()]
    assert [(r["line"], r["loan_id"]) for r in rejects] == [
        (4, "BAD1"), (10, None), (16, None), (31, "BAD2")]
    assert "4,300" in rejects[1]["error"] and "nested" in rejects[2]["error"]
