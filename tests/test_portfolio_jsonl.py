"""JSONL files checked in DuckDB (engines/portfolio/jsonl.py) against the record path.

A line DuckDB can vouch for goes straight to the plan's SQL; every other line goes
through the policy's reader with its own index and line number. Random files of good
lines and bad ones (wrong JSON types, numbers Python and DuckDB read differently,
duplicate keys, escapes, bad JSON, blank lines, CRLF, follow-up entries good and bad)
must give exactly what ``check_records`` of the record path's records and the same SQL
give.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb", reason="the portfolio extra (duckdb) is not installed")
pytest.importorskip("pyarrow", reason="the portfolio extra (pyarrow) is missing")

import followup_policy as fp
from followup_policy.cli import run
from followup_policy.engines.portfolio import Reject, evaluate_portfolio
from followup_policy.engines.portfolio.engine import (
    duckdb_session,
    policy_sql,
    run_checked,
)
from followup_policy.engines.portfolio.jsonl import check_jsonl, jsonl_file
from followup_policy.engines.portfolio.tables import (
    FollowUpTable,
    check_records,
    records_from,
)

from .conftest import HEAD_OFFICE, PORTFOLIO

POLICY = fp.loads_policy("""\
policy: {id: lines, title: 行, version: "1"}
fields:
  i1: {type: int, min: 0, max: 100}
  i2: {type: int, default: 7}
  d1: {type: decimal, min: 0}
  d2: {type: decimal, default: 1.5}
  b1: {type: bool}
  t: {type: enum, values: [low, medium, high, "1"], required: true}
  s: {type: string}
  dt1: {type: date}
timing_nodes:
  - {id: n0, title: 节点, after: 1 month, window: 10 days, channel: phone}
  - {id: n1, title: 锚点, after: 2 days, anchor: dt1, channel: phone, when: b1}
risk_tiers:
  - {tier: high, when: 'i1 > 50 or t == "high"'}
  - {tier: low}
frequency:
  high: {every: 1 month, channel: phone}
  low: {every: 3 months, channel: sms}
rules:
  - {id: r0, title: 规则, severity: low, when: 'd1 / d2 > 1 and s != "vip"',
     action: {kind: review, after: 3 days, channel: phone}}
  - {id: r1, title: 规则1, severity: low, when: 'i2 >= 7', cooldown: 1 month,
     action: {kind: review, after: 1 day, anchor: dt1, channel: phone}}
  - {id: r2, title: 规则2, severity: low, when: 'is_set(s)',
     action: {kind: review, after: 5 days, channel: phone}}
  - {id: r3, title: 规则3, severity: low, when: 's == "1.50" or t == "1"',
     action: {kind: review, after: 2 days, channel: phone}}
""", "lines.yaml")
AS_OF = date(2026, 11, 28)


DATES = ['"2025-01-31"', '"2024-02-29"', '"2026-11-01"']
BAD_DATES = ['"2025-02-30"', '"2025-1-31"', '" 2025-01-31"', '"1850-01-01"', "20250131",
             '""', '"\\u0032025-01-31"', "null"]
# key: (values the SQL check takes, values it must leave to the reader or read as it
# does: wrong JSON types, numbers Python and DuckDB read differently, blanks, escapes)
VALUES: dict[str, tuple[list[str], list[str]]] = {
    "loan_id": (['"L1"', '"贷款2"', "3", '"12"', "-0"],
                ['" L4"', '""', '"\\u3000"', "1.5", "true", "123456789012345678901",
                 "[1]", '"L\\u0031"']),
    "disbursement_date": (DATES, BAD_DATES),
    "as_of": (["null", *DATES], ['"1850-01-01"', '""', "5"]),
    "i1": (["0", "42", "100", '"42"', '"042"', "null"],
           ["101", "-1", "42.0", "4.2e1", "true", "99999999999999999999", '" 42"']),
    "i2": (["-5", "7", "0", "-0", '"-0"'], ["1e2", "7.5"]),
    "d1": (["0", "0.30", "1234.56", "2.50", "1.5", '"0.30"', '"1.50"', "-0.0", "12"],
           ['"007"', "0.1234567", "1e-7", "1E+2", "12345678901234567890.5", "-1.00", "-0",
            "NaN", "Infinity", '"abc"', "[]", '"-0"']),
    "d2": (["0.25", "1.50", "0", "3", "null"], ["0.0000001", '"2.5 "']),
    "b1": (["true", "false", '"true"', "null"], ['"True"', "1", '"yes"']),
    "t": (['"low"', '"medium"', '"high"', '"1"', "1"],
          ['"hgih"', '" low"', '""', "1.0", "null", '"hi\\u0067h"', "true"]),
    "s": (['"vip"', '"ok"', '"中文"', "12", '"2e3x"', '"1 2"'],
          ['" x"', '"\\u3000中文"', '""', '" "', "1.50", "false", '{"a": 1}', '"a\\nb"',
           '"\\ud800"', '"x\\"y"', '"1.5"']),
    "dt1": (DATES, BAD_DATES),
    "extra": (['"x"', "[[[1]]]", '{"a": [1, {"b": null}]}', "1" * 30],
              ["NaN", "[1, 2,]"]),
}
ENTRY_VALUES: dict[str, tuple[list[str], list[str]]] = {
    "action": (['"n0"', '"n1"', '"r0"', '"r1"', '"r2"', '"frequency"'],
               ['" n0"', '""', "5", "null", '"n\\u0030"']),
    "date": (DATES, ['"2025-02-30"', '"1850-01-01"', "null", "20250131"]),
    "channel": (['"phone"', '"sms"', "null", '""', "5"], ["true", "1.50", "[]"]),
    "outcome": (['"reached"', '"no_answer"', "null"], ["false"]),
    "performed_by": (['"A1"', "[1, 2]"], ["NaN"]),
}


@st.composite
def objects(draw: Any, values: dict[str, tuple[list[str], list[str]]],
            required: tuple[str, ...]) -> str:
    """A JSON object of some of ``values``' keys (the ``required`` ones mostly present),
    mostly of good values, sometimes one odd value or a key twice, randomly spaced."""
    keys = [k for k in values if k in required and draw(st.integers(0, 9)) > 0]
    keys += draw(st.lists(st.sampled_from([k for k in values if k not in required]),
                          unique=True, max_size=len(values)))
    chosen = {k: draw(st.sampled_from(values[k][0])) for k in keys}
    if keys and draw(st.integers(0, 2)) == 0:
        odd = draw(st.sampled_from(keys))
        chosen[odd] = draw(st.sampled_from(values[odd][1]))
    pairs = list(chosen.items())
    if keys and draw(st.integers(0, 5)) == 0:  # a duplicate key: Python keeps the last
        twice = draw(st.sampled_from(keys))
        pairs.append((twice, draw(st.sampled_from(values[twice][0]))))
    space = draw(st.sampled_from(["", " ", "\t"]))
    return "{" + f",{space}".join(f'"{k}":{space}{v}' for k, v in pairs) + "}"


@st.composite
def loan_lines(draw: Any) -> str:
    body = draw(objects(VALUES, ("loan_id", "disbursement_date", "t")))
    history = draw(st.one_of(
        st.none(),
        st.lists(objects(ENTRY_VALUES, ("action", "date")), max_size=4).map(
            lambda items: "[" + ", ".join(items) + "]"),
        st.sampled_from(["null", '"[]"', '""', "5", "[5]", "{}", "[null]", "[[]]"]),
    ))
    if history is not None:
        body = body[:-1] + (", " if body != "{}" else "") + f'"follow_ups": {history}}}'
    return body


odd_lines = st.sampled_from([
    "", "   ", "\t", "not json", "[1, 2]", "5", '"text"', "null", "{", '{"loan_id": "L1",}',
    '{"loan_id": "L1", "disbursement_date": "2025-01-31", "t": "low",}',
    "{} {}", '\ufeff{"loan_id": "B1", "disbursement_date": "2025-01-31", "t": "low"}',
    '{"loan_id": "L1", "disbursement_date": "2025-01-31", "t": "low", "i1": 1' + "0" * 5000
    + "}", "[" * 500 + "]" * 500,
])
line_ends = st.sampled_from(["\n", "\n", "\r\n", "\r"])


def _record_path(path: Path, as_of: date | None, table: Any = None) -> tuple[list[Any], Any]:
    """What the record path gives: ``check_records`` of its records (with the rows of the
    follow-ups ``table``), the SQL, and the table's rows that reached no loan."""
    history = None if table is None else FollowUpTable(table)
    checked = check_records(POLICY, records_from(path, history), as_of)
    unmatched = None if history is None else history.unmatched()
    return _items(run_checked(POLICY, policy_sql(POLICY), checked, "duckdb")), unmatched


def _items(result: Any) -> list[Any]:
    return [item if isinstance(item, Reject) else item.model_dump_json()
            for item in result.items()]


# rows of a separate follow-ups table (as a list of mappings, as the API takes one)
table_rows = st.fixed_dictionaries({
    "loan_id": st.sampled_from(["L1", "贷款2", "3", "12", "0", "L9", None, 3]),
    "action": st.sampled_from(["n0", "r1", "frequency", " n0", 5, None]),
    "date": st.sampled_from(["2025-03-01", date(2025, 4, 1), datetime(2025, 4, 1, 9),
                             "2025-02-30", None]),
    "channel": st.sampled_from([None, "phone", "", 5]),
    "outcome": st.sampled_from([None, "reached"]),
})


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(st.one_of(loan_lines(), loan_lines(), odd_lines), min_size=1,
                      max_size=14),
       ends=st.lists(line_ends, min_size=14, max_size=14),
       last_end=st.booleans(),
       table=st.one_of(st.none(), st.lists(table_rows, max_size=6)),
       as_of=st.one_of(st.none(), st.just(AS_OF)))
def test_jsonl_checked_in_duckdb_agrees_with_the_record_path(
        tmp_path_factory: pytest.TempPathFactory, lines: list[str], ends: list[str],
        last_end: bool, table: list[dict[str, Any]] | None, as_of: date | None) -> None:
    text = "".join(line + end for line, end in zip(lines, ends, strict=False))
    if not last_end:
        text = text.rstrip("\r\n")
    path = tmp_path_factory.mktemp("jsonl") / "loans.jsonl"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    expected, unmatched = _record_path(path, as_of, table)
    result = evaluate_portfolio(POLICY, path, table, as_of=as_of)
    assert _items(result) == expected
    if table is not None:
        assert result.unmatched_follow_ups == unmatched


def test_each_value_alone_agrees_with_the_record_path(tmp_path: Path) -> None:
    """Every good and odd value of every key, each on an otherwise plain line (so the
    SQL check, not another bad value, decides it), nested entries' values too."""
    base = {k: good[0] for k, (good, _) in VALUES.items()}
    entry = {k: good[0] for k, (good, _) in ENTRY_VALUES.items()}

    def line(values: dict[str, str], entries: list[dict[str, str]]) -> str:
        history = ", ".join("{" + ", ".join(f'"{k}": {v}' for k, v in e.items()) + "}"
                            for e in entries)
        return ("{" + ", ".join(f'"{k}": {v}' for k, v in values.items())
                + f', "follow_ups": [{history}]}}')

    lines = [line(base, [entry])]
    for key, (good, odd) in VALUES.items():
        lines += [line({**base, key: value}, [entry]) for value in good + odd]
    for key, (good, odd) in ENTRY_VALUES.items():
        lines += [line(base, [entry, {**entry, key: value}]) for value in good + odd]
    # a key twice, the second value another: Python keeps the last, DuckDB the first
    lines += [line(base, [entry])[:-1] + f', "{key}": {(good + odd)[-1]}}}'
              for key, (good, odd) in VALUES.items()]
    lines += [line(base, [{**entry, key: good[0]}])[:-3] + f', "{key}": {(good + odd)[-1]}}}]}}'
              for key, (good, odd) in ENTRY_VALUES.items()]
    path = tmp_path / "values.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _items(evaluate_portfolio(POLICY, path, as_of=AS_OF))
    assert result == _record_path(path, AS_OF)[0]
    fast, slow = _fast_and_slow(path)
    assert fast > len(lines) // 3 and slow > len(lines) // 4


def _fast_and_slow(path: Path) -> tuple[int, int]:
    """How many lines the SQL check passed, and how many went to the reader."""
    with duckdb_session() as con:
        source = jsonl_file(path)
        assert source is not None
        checked = check_jsonl(con, POLICY, source, AS_OF, None)
        assert checked is not None
        slow = checked.loans.num_rows + len(checked.fallback) + len(checked.rejects)
        return checked.count - slow, slow


def test_plain_lines_skip_the_reader_and_odd_ones_take_it(tmp_path: Path) -> None:
    good = ('{"loan_id": "L%d", "disbursement_date": "2025-01-31", "t": "low", "i1": 5,'
            ' "d1": 0.30, "d2": 2, "b1": true, "s": "ok", "dt1": "2026-01-31",'
            ' "follow_ups": [{"action": "n0", "date": "2025-03-01", "channel": "phone"}]}')
    lines = [good % i for i in range(6)]
    path = tmp_path / "loans.jsonl"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    assert _fast_and_slow(path) == (6, 0)
    lines[1] = lines[1].replace('"t": "low"', '"t": "hgih"')  # the reader's message
    lines[2] = lines[2].replace('"s": "ok"', '"s": "\\u00e9"')  # an escape: the reader reads it
    lines[3] = lines[3].replace('"i1": 5', '"i1": 5, "i1": 6')  # duplicate key: the last wins
    lines[4] = lines[4].replace('"phone"}', '"phone", "date": "2025-03-02"}')
    lines[5] = " \t" + lines[5] + "\t "  # white space around the object: still plain
    path.write_text("\r\n".join(lines), encoding="utf-8")
    assert _fast_and_slow(path) == (2, 4)
    result = _items(evaluate_portfolio(POLICY, path, as_of=AS_OF))
    assert result == _record_path(path, AS_OF)[0]
    assert result[1].line == 2 and "did you mean 'high'" in result[1].error


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_command_line_writes_the_per_loan_bytes(tmp_path: Path, fmt: str) -> None:
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:60]
    lines[3] = lines[3].replace('"loan_type": "residential"', '"loan_type": "residental"')
    lines[7] = "not json"
    lines[9] = lines[9].replace('"disbursement_date": "', '"disbursement_date": "x')
    lines[12] = lines[12][:-1] + ', "credit_score": 1' + "0" * 30 + "}"
    lines[15] = lines[15].replace('{"loan_id": "', '{"loan_id": "\\u8d37')
    lines.insert(20, "   ")
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    results = {}
    for engine in ("portfolio", "per-loan"):
        out, err = io.StringIO(), io.StringIO()
        code = run(["evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--engine",
                    engine, "-f", fmt, "--summary", str(path)], out, err, io.StringIO())
        results[engine] = (code, out.getvalue(), err.getvalue())
    assert results["portfolio"] == results["per-loan"]
    code, _, err = results["portfolio"]
    rejects = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert code == 1 and [(r["index"], r["line"]) for r in rejects] == [
        (3, 4), (7, 8), (9, 10), (12, 13)]


def test_the_command_line_merges_a_follow_ups_table_as_per_loan(tmp_path: Path) -> None:
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:40]
    path = tmp_path / "loans.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ids = [json.loads(line)["loan_id"] for line in lines]
    table = [{"loan_id": ids[i], "action": "d30", "date": "2026-07-11", "channel": "phone",
              "outcome": "reached"} for i in range(0, 40, 3)]
    table += [{"loan_id": "NOPE", "action": "d30", "date": "2026-07-11"},
              {"loan_id": ids[4], "action": "d30", "date": "2026-02-30"}]
    history = tmp_path / "follow_ups.jsonl"
    history.write_text("".join(json.dumps(row) + "\n" for row in table), encoding="utf-8")
    results = {}
    for engine in ("portfolio", "per-loan"):
        out, err = io.StringIO(), io.StringIO()
        code = run(["evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--engine",
                    engine, "--follow-ups", str(history), "--summary", str(path)], out, err,
                   io.StringIO())
        results[engine] = (code, out.getvalue(), err.getvalue())
    assert results["portfolio"] == results["per-loan"]
    code, _, err = results["portfolio"]
    assert code == 1 and "follow_ups[" in err and "'NOPE', which is not in the loans" in err
    missing = io.StringIO()
    assert run(["evaluate", "-p", str(HEAD_OFFICE), "--engine", "portfolio", "--follow-ups",
                str(tmp_path / "absent.parquet"), str(path)], io.StringIO(), missing,
               io.StringIO()) == 2
    assert len(missing.getvalue().splitlines()) == 1, missing.getvalue()


def test_a_gbk_file_with_a_bad_byte_reads_as_per_loan(tmp_path: Path) -> None:
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:30]
    lines[2] = lines[2].replace('{"loan_id": "', '{"loan_id": "贷款')
    data = "\n".join(lines).encode("gb18030").split(b"\n")
    data[5] = data[5].replace(b'"loan_id": "', b'"loan_id": "\xff', 1)  # not GB18030
    path = tmp_path / "gbk.jsonl"
    path.write_bytes(b"\n".join(data) + b"\n")
    results = {}
    for engine in ("portfolio", "per-loan"):
        out, err = io.StringIO(), io.StringIO()
        code = run(["evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--engine",
                    engine, "--encoding", "gbk", str(path)], out, err, io.StringIO())
        results[engine] = (code, out.getvalue(), err.getvalue())
    assert results["portfolio"] == results["per-loan"]
    code, out, err = results["portfolio"]
    assert code == 1 and '"loan_id": "贷款' in out.replace('":"', '": "')
    assert [json.loads(line)["index"] for line in err.splitlines()] == [5]


def test_each_follow_ups_table_value_alone_agrees_with_the_record_path(tmp_path: Path) -> None:
    """Each value of a separate follow-ups table's row alone, on a loan of its own."""
    base = {"action": "n0", "date": "2025-03-01", "channel": "phone", "outcome": "reached"}
    odd: list[tuple[str, Any]] = [
        ("action", 5), ("action", " n0"), ("date", date(2025, 4, 1)),
        ("date", datetime(2025, 4, 1, 9)), ("date", "2025-02-30"), ("date", None),
        ("channel", 5), ("channel", True), ("channel", ""), ("outcome", 1.5),
        ("outcome", None)]
    lines = [f'{{"loan_id": "L{i}", "disbursement_date": "2025-01-31", "t": "low",'
             f' "b1": true, "dt1": "2025-01-31"}}' for i in range(len(odd) + 1)]
    table = [{"loan_id": f"L{i}", **base, key: value} for i, (key, value) in enumerate(odd)]
    table += [{"loan_id": f"L{len(odd)}", **base}, {"loan_id": "L99", **base}]
    path = tmp_path / "loans.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected, unmatched = _record_path(path, AS_OF, table)
    result = evaluate_portfolio(POLICY, path, table, as_of=AS_OF)
    assert _items(result) == expected
    assert result.unmatched_follow_ups == unmatched and len(unmatched) == 1
