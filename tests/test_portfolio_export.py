"""Result tables written to files by DuckDB (export_portfolio, ``evaluate -f parquet``):
the same rows, in the same order, as the in-memory tables of evaluate_portfolio."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb", reason="the portfolio extra (duckdb) is not installed")
pq = pytest.importorskip("pyarrow.parquet", reason="the portfolio extra (pyarrow) is missing")

import followup_policy as fp  # noqa: E402
from followup_policy.engines.portfolio import evaluate_portfolio  # noqa: E402
from followup_policy.engines.portfolio.export import export_portfolio  # noqa: E402

from .conftest import HEAD_OFFICE, PORTFOLIO  # noqa: E402
from .test_portfolio_cli import BAD_LINES, _run, _typed_parquet  # noqa: E402

AS_OF = date(2026, 11, 28)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 example loans, the bad records, and two loans SQL leaves to the interpreter
    (a decimal of more than ten places)."""
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:200]
    lines[3:3] = BAD_LINES
    for position in (10, 150):
        loan = json.loads(lines[position])
        loan["monthly_income"] = 12345.123456789012  # twelve places
        lines[position] = json.dumps(loan, ensure_ascii=False)
    path = tmp_path_factory.mktemp("book") / "book.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rows(table: Any, drop: str = "__row") -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != drop} for row in table.to_pylist()]


def _with_loan_ids(result: Any) -> list[dict[str, Any]]:
    ids = dict(zip(result.decisions.column("__row").to_pylist(),
                   result.decisions.column("loan_id").to_pylist(), strict=True))
    return [{"loan_id": ids[row.pop("__row")], **row} for row in result.findings.to_pylist()]


def test_the_files_hold_the_in_memory_tables_rows_in_order(book: Path, tmp_path: Path) -> None:
    policy = fp.load_policy(HEAD_OFFICE)
    result = evaluate_portfolio(policy, book, as_of=AS_OF)
    assert len(result.per_loan) == 2  # the interpreter's rows are in the files too
    files = {name: tmp_path / f"{name}.parquet" for name in ("actions", "decisions",
                                                            "findings")}
    done = export_portfolio(policy, book, as_of=AS_OF, **files)
    assert _rows(pq.read_table(files["actions"])) == _rows(result.actions)
    assert _rows(pq.read_table(files["decisions"])) == _rows(result.decisions)
    assert pq.read_table(files["findings"]).to_pylist() == _with_loan_ids(result)
    statuses = result.actions.column("status").to_pylist()
    assert done.counts == {
        "records": 205, "decisions": 200, "rejected": 5, "actions": len(statuses),
        **{status: statuses.count(status) for status in set(statuses)}}
    assert [r.error for r in done.rejects] == [r.error for r in result.rejects]


def test_csv_and_jsonl_files_hold_the_same_rows(book: Path, tmp_path: Path) -> None:
    policy = fp.load_policy(HEAD_OFFICE)
    expected = _rows(evaluate_portfolio(policy, book, as_of=AS_OF).actions)
    export_portfolio(policy, book, as_of=AS_OF, actions=tmp_path / "a.csv")
    export_portfolio(policy, book, as_of=AS_OF, actions=tmp_path / "a.jsonl")
    with open(tmp_path / "a.csv", encoding="utf-8", newline="") as stream:
        from_csv = list(csv.DictReader(stream))
    from_jsonl = [json.loads(line) for line in
                  (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(from_csv) == len(from_jsonl) == len(expected)
    for want, got_csv, got_json in zip(expected, from_csv, from_jsonl, strict=True):
        # lists and the checklist are JSON text in a CSV cell, so a cell never splits
        assert json.loads(got_csv["reasons"]) == got_json["reasons"] == want["reasons"]
        checklist = json.loads(got_csv["checklist"]) if got_csv["checklist"] else None
        assert checklist == got_json["checklist"] == want["checklist"]
        assert got_csv["due_date"] == got_json["due_date"] == want["due_date"].isoformat()
        assert got_csv["task_key"] == got_json["task_key"] == want["task_key"]


def test_the_command_copies_the_actions_of_a_typed_parquet_file(tmp_path: Path) -> None:
    loans = tmp_path / "typed.parquet"
    _typed_parquet(loans, 120)
    actions = tmp_path / "actions.parquet"
    code, _, err = _run("evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28",
                        str(loans), "-f", "parquet", "-o", str(actions), "--summary")
    assert code == 1  # one reject, named as the per-loan reader names it
    assert "120 records: 119 evaluated, 1 rejected" in err
    assert "did you mean 'residential'" in err
    expected = evaluate_portfolio(fp.load_policy(HEAD_OFFICE), loans, as_of=AS_OF).actions
    assert _rows(pq.read_table(actions)) == _rows(expected)


def test_the_actions_table_as_csv_from_the_command(book: Path, tmp_path: Path) -> None:
    """``-f parquet -o actions.csv`` once stopped on the list columns (pyarrow's CSV
    writer refuses lists); now they are JSON text."""
    target = tmp_path / "actions.csv"
    code, _, err = _run("evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--summary",
                        "--engine", "portfolio", str(book), "-f", "parquet", "-o", str(target))
    assert code == 1, err
    _, _, per_loan = _run("evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28",
                          "--summary", "--engine", "per-loan", str(book), "-o", "/dev/null")
    assert err == per_loan  # the same rejects and the same counts
    with open(target, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert rows and all(json.loads(row["reasons"]) for row in rows)


def test_an_export_needs_a_file(book: Path) -> None:
    with pytest.raises(ValueError, match="at least one of actions="):
        export_portfolio(fp.load_policy(HEAD_OFFICE), book, as_of=AS_OF)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_write_arrow_keeps_the_tables_row_order(tmp_path: Path, suffix: str) -> None:
    """Past DuckDB's row-group size (122,880 rows) a parallel copy may reorder rows
    unless insertion order is kept; the file must hold the table's rows in order."""
    pa = pytest.importorskip("pyarrow")
    from followup_policy.engines.portfolio.command import write_arrow

    count = 300_000
    table = pa.table({"n": pa.array(range(count), type=pa.int64()),
                      "loan_id": pa.array([f"L{i:07d}" for i in range(count)])})
    target = tmp_path / f"rows{suffix}"
    write_arrow(table, target)
    if suffix == ".parquet":
        got = pq.read_table(target).column("n").to_pylist()
    else:
        got = [json.loads(line)["n"] for line in target.read_text().splitlines()]
    assert got == list(range(count))
