"""The portfolio engine through the command line and the API: same bytes, rejects, SQL."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("duckdb", reason="the portfolio extra (duckdb) is not installed")
pq = pytest.importorskip("pyarrow.parquet", reason="the portfolio extra (pyarrow) is missing")

import followup_policy as fp  # noqa: E402
from followup_policy.cli import run  # noqa: E402
from followup_policy.engines.portfolio import Unsupported, evaluate_portfolio  # noqa: E402
from followup_policy.engines.portfolio._require import MissingExtra, require  # noqa: E402
from followup_policy.records import read_records  # noqa: E402

from .conftest import HEAD_OFFICE, PORTFOLIO  # noqa: E402

BAD_LINES = [
    '{"loan_id": "X1", "disbursement_date": "2026-02-30"}',
    'not json at all',
    '{"loan_id": "X2", "disbursement_date": "2025-01-31", "loan_type": "residental"}',
    '{"disbursement_date": "2025-01-31", "loan_type": "residential"}',
    '{"loan_id": "X3", "disbursement_date": "2025-01-31", "loan_type": "residential",'
    ' "credit_score": "high"}',
]


def _run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err, io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def mixed_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example portfolio's first 300 loans with bad records in between."""
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:300]
    for offset, bad in enumerate(BAD_LINES):
        lines.insert(40 * offset + 7, bad)
    path = tmp_path_factory.mktemp("mixed") / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_both_engines_write_the_same_bytes(mixed_input: Path, fmt: str) -> None:
    results = {}
    for engine in ("portfolio", "per-loan"):
        results[engine] = _run("evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28",
                               "--engine", engine, "-f", fmt, "--summary", str(mixed_input))
    assert results["portfolio"] == results["per-loan"]
    code, _, err = results["portfolio"]
    assert code == 1  # rejected records
    assert "305 records: 300 evaluated, 5 rejected" in err
    rejects = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [r["line"] for r in rejects] == [8, 48, 88, 128, 168]
    assert "did you mean 'residential'" in rejects[2]["error"]


def test_parquet_in_picks_the_portfolio_engine_and_writes_actions(tmp_path: Path) -> None:
    with open(PORTFOLIO, encoding="utf-8") as stream:
        rows = [r.data for r in read_records(stream, "jsonl")][:200]
    pa = require("pyarrow")
    for row in rows:  # Parquet has no per-row nesting of optional keys: flatten follow_ups
        row["follow_ups"] = json.dumps(row.get("follow_ups", []))
    loans = tmp_path / "loans.parquet"
    columns = list(dict.fromkeys(key for row in rows for key in row))  # from_pylist would
    schema = pa.schema([(name, pa.string()) for name in columns])  # read the 1st row's only
    pq.write_table(pa.Table.from_pylist([{k: str(v) for k, v in r.items()} for r in rows],
                                        schema=schema), loans)
    actions = tmp_path / "actions.parquet"
    code, _, err = _run("evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28",
                        str(loans), "-f", "parquet", "-o", str(actions))
    assert code == 0, err
    table = pq.read_table(actions).to_pylist()
    policy = fp.load_policy(HEAD_OFFICE)
    expected = [(r["loan_id"], a.id, a.status, a.due_date)
                for r in rows for a in policy.evaluate(r, as_of=date(2026, 11, 28)).actions]
    assert sorted((a["loan_id"], a["id"], a["status"], a["due_date"]) for a in table) \
        == sorted(expected)
    first = table[0]
    key = "\x1f".join([first["loan_id"], first["id"], first["due_date"].isoformat()])
    assert first["task_key"] == hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def test_api_tables_count_every_row(mixed_input: Path) -> None:
    policy = fp.load_policy(HEAD_OFFICE)
    result = evaluate_portfolio(policy, mixed_input, as_of=date(2026, 11, 28))
    assert result.decisions.num_rows + len(result.rejects) == 305
    assert set(result.actions.column_names) >= {"loan_id", "task_key", "id", "status",
                                                "due_date", "deadline", "checklist", "reasons"}
    assert result.rejects_table.num_rows == 5


def test_follow_ups_may_come_as_a_separate_long_table() -> None:
    policy = fp.load_policy(HEAD_OFFICE)
    loan = {"loan_id": "L1", "disbursement_date": "2026-01-31", "loan_type": "residential"}
    history = [{"loan_id": "L1", "action": "d30", "date": "2026-03-01",
                "channel": "phone", "outcome": "reached"}]
    result = evaluate_portfolio(policy, [loan], history, as_of=date(2026, 11, 28))
    [decision] = list(result.items())
    nested = policy.evaluate({**loan, "follow_ups": [
        {k: v for k, v in history[0].items() if k != "loan_id"}]}, as_of=date(2026, 11, 28))
    assert decision.model_dump_json() == nested.model_dump_json()
    assert decision.action("d30") is None


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_sql_command_prints_the_statements(dialect: str) -> None:
    code, out, _ = _run("sql", "--dialect", dialect, str(HEAD_OFFICE))
    assert code == 0
    for view in ("evaluated", "actions", "findings", "decisions"):
        assert f"CREATE OR REPLACE TEMPORARY VIEW {view} AS" in out
    assert ("`__tier`" in out) == (dialect == "spark")


def test_unsupported_policy_falls_back_to_per_loan(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "policy: {id: p, title: t, version: '1'}\n"
        "fields: {score: {type: int}}\n"
        "rules:\n  - {id: r, title: r, category: risk, severity: low,"
        " when: score % 7 == 3, action: {kind: k, after: 1 day}}\n", encoding="utf-8")
    loans = tmp_path / "l.jsonl"
    loans.write_text('{"loan_id": "L", "disbursement_date": "2026-01-31", "score": 500}\n',
                     encoding="utf-8")
    with pytest.raises(Unsupported):
        evaluate_portfolio(fp.load_policy(policy), loans, as_of=date(2026, 11, 28))
    code, out, err = _run("evaluate", "-p", str(policy), "--as-of", "2026-11-28",
                          "--engine", "portfolio", str(loans))
    assert code == 0
    assert "evaluating per loan instead" in err
    assert json.loads(out)["actions"][0]["id"] == "r"


def test_a_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(MissingExtra, match=r"pip install 'followup-policy\[portfolio\]'"):
        require("duckdb")


OVERFLOWING = """\
policy: {id: p, title: t, version: '1'}
fields: {a: {type: decimal}, b: {type: decimal}}
rules:
  - id: r
    when: a / 3 / 7 / b / 13 * 100000000000 * a * a * a > 1
    action: {kind: k, after: 0 days, window: 1 days}
"""


def test_decimal_overflow_in_sql_is_refused_and_the_command_goes_per_loan(
        tmp_path: Path) -> None:
    """Found by the differential test: DuckDB's DECIMAL(38) overflows where the
    interpreter's decimals do not; the engine refuses instead of failing or guessing."""
    from followup_policy.engines.portfolio.conditions import Unsupported

    policy_path = tmp_path / "p.yaml"
    policy_path.write_text(OVERFLOWING, encoding="utf-8")
    policy = fp.load_policy(policy_path)
    loans = [{"loan_id": "L1", "disbursement_date": "2024-01-01", "a": "123456789.123456",
              "b": "0.000001"}, {"loan_id": "L2", "disbursement_date": "2024-01-01"}]
    with pytest.raises(Unsupported, match="38-digit decimals"):
        policy.evaluate_portfolio(loans, as_of=date(2024, 2, 1))
    source = tmp_path / "loans.jsonl"
    source.write_text("".join(json.dumps(loan) + "\n" for loan in loans), encoding="utf-8")
    outputs = {}
    for engine in ("portfolio", "per-loan"):
        code, out, err = _run("evaluate", "-p", str(policy_path), "--as-of", "2024-02-01",
                              "--engine", engine, str(source))
        assert code == 0, err
        outputs[engine] = out
    assert outputs["portfolio"] == outputs["per-loan"]
    assert [a["id"] for a in json.loads(outputs["per-loan"].splitlines()[0])["actions"]] == ["r"]
    code, _, err = _run("evaluate", "-p", str(policy_path), "--as-of", "2024-02-01",
                        "--engine", "portfolio", "-", stdin=source.read_text(encoding="utf-8"))
    assert code == 2 and "--engine per-loan" in err


def _typed_parquet(path: Path, count: int) -> None:
    """The first loans of the example portfolio as a typed Parquet file (the policy's
    field types; history left out: a nested column is read record by record)."""
    pa = require("pyarrow")
    policy = fp.load_policy(HEAD_OFFICE)
    arrow = {"int": pa.int64(), "decimal": pa.decimal128(18, 4), "string": pa.string(),
             "enum": pa.string(), "bool": pa.bool_(), "date": pa.date32()}
    schema = pa.schema([("loan_id", pa.string()), ("disbursement_date", pa.date32()),
                        *((name, arrow[spec.type])
                          for name, spec in policy.document.fields.items())])
    with open(PORTFOLIO, encoding="utf-8") as stream:
        rows = [r.data for r in read_records(stream, "jsonl")][:count]
    typed = []
    for row in rows:
        values = {}
        for column in schema:
            value = row.get(column.name)
            if value is not None and pa.types.is_date32(column.type):
                value = date.fromisoformat(value)
            values[column.name] = value
        typed.append(values)
    typed[5]["loan_type"] = "residental"  # a reject, with the reader's message
    pq.write_table(pa.Table.from_pylist(typed, schema=schema), path)


def test_a_typed_parquet_file_is_checked_in_sql_and_written_as_per_loan(tmp_path: Path) -> None:
    from followup_policy.engines.portfolio.command import typed_table_result

    loans = tmp_path / "typed.parquet"
    _typed_parquet(loans, 120)
    policy = fp.load_policy(HEAD_OFFICE)
    assert typed_table_result(policy, str(loans), date(2026, 11, 28)) is not None
    results = {engine: _run("evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28",
                            "--engine", engine, "--summary", str(loans))
               for engine in ("portfolio", "per-loan")}
    assert results["portfolio"] == results["per-loan"]
    code, out, err = results["portfolio"]
    assert code == 1 and len(out.splitlines()) == 119
    assert "120 records: 119 evaluated, 1 rejected" in err
    assert "did you mean 'residential'" in err


def test_the_api_reads_a_gbk_csv_as_the_command_line_does(tmp_path: Path) -> None:
    """``evaluate_portfolio`` on a CSV path uses the command line's reader: a GBK export
    is read in its detected encoding (it stopped with UnicodeDecodeError), a header
    name's spaces are trimmed, and a bad byte costs only the field reading it."""
    text = ("loan_id, disbursement_date,loan_type,branch\n"
            "贷款1,2025-01-01,residential,深圳分行\n贷款2,2025-03-31,residential,成都分行\n")
    source = tmp_path / "贷款.csv"
    source.write_bytes(text.encode("gbk") + "贷款3,2025-01-01,residential\n".encode("gbk")
                       .replace("款".encode("gbk"), b"\xff\x20"))
    policy = fp.load_policy(HEAD_OFFICE)
    result = evaluate_portfolio(policy, source, as_of=date(2026, 3, 1))
    code, out, err = _run("evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-03-01",
                          "--engine", "per-loan", str(source))
    assert code == 1
    assert [d.model_dump_json() for d in result.items() if isinstance(d, fp.Decision)] == \
        out.splitlines()
    assert [json.loads(line) for line in err.splitlines()] == [
        {"index": r.index, "line": r.line, "loan_id": r.loan_id, "field": r.field,
         "error": r.error} for r in result.rejects]
    assert [json.loads(line)["loan_id"] for line in out.splitlines()] == ["贷款1", "贷款2"]


def test_an_output_that_cannot_hold_every_character_is_written_per_loan() -> None:
    """An ASCII (or GBK) stdout refuses some decisions; the per-loan path rejects just
    those, by line, and goes on. The portfolio engine stopped with an internal error
    (exit 3); now it says why and runs per loan: the same bytes, rejects and exit code."""
    def run_on_ascii(engine: str) -> tuple[int, bytes, list[str]]:
        out = io.TextIOWrapper(io.BytesIO(), encoding="ascii", newline="")
        err = io.StringIO()
        code = run(["evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--engine",
                    engine, "--summary", str(PORTFOLIO)], out, err)
        out.flush()
        return code, out.buffer.getvalue(), err.getvalue().splitlines()  # type: ignore[attr-defined]

    code, written, said = run_on_ascii("portfolio")
    per_loan = run_on_ascii("per-loan")
    assert (code, written, said[1:]) == per_loan
    assert code == 1 and said[0].startswith("followup-policy: the output's encoding (ascii)")
    reject = json.loads(said[1])
    assert "the output's encoding (ascii) cannot hold" in reject["error"]
    assert "internal error" not in reject["error"]
