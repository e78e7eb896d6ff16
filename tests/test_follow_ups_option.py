"""``followup-policy evaluate --follow-ups FILE``: history as a long table beside the loans.

Each loan's history moved out of the example portfolio into a long table must give the
very decisions the nested history gives, on both engines; rows that reach no loan are
reported with the rejects, never dropped.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from .conftest import HEAD_OFFICE, PORTFOLIO
from .test_portfolio_cli import _run

COLUMNS = ("loan_id", "action", "date", "channel", "outcome")
ORPHANS = [{"loan_id": "NOPE-1", "action": "d30", "date": "2026-01-05", "channel": "phone",
            "outcome": "reached"},
           {"loan_id": "", "action": "d30", "date": "2026-01-05", "channel": "phone",
            "outcome": "reached"}]


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The first 150 example loans with nested history, and the same loans without it
    plus their history as a long CSV table (and two rows that reach no loan)."""
    folder = tmp_path_factory.mktemp("split")
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:150]
    nested, bare, rows = folder / "nested.jsonl", folder / "loans.jsonl", []
    nested.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loans = []
    for line in lines:
        loan = json.loads(line)
        for entry in loan.pop("follow_ups", None) or []:
            rows.append({"loan_id": loan["loan_id"], **entry})
        loans.append(json.dumps(loan, ensure_ascii=False))
    bare.write_text("\n".join(loans) + "\n", encoding="utf-8")
    assert len(rows) > 50  # the sample really carries history
    table = folder / "follow_ups.csv"
    with open(table, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows([*rows[:10], *ORPHANS, *rows[10:]])
    return {"nested": nested, "loans": bare, "follow_ups": table}


def _evaluate(*argv: str) -> tuple[int, str, str]:
    return _run("evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--summary",
                *argv)


@pytest.mark.parametrize("engine", ["per-loan", "portfolio"])
def test_a_long_history_table_gives_the_nested_decisions(split: dict[str, Path],
                                                         engine: str) -> None:
    if engine == "portfolio":
        pytest.importorskip("duckdb", reason="the portfolio extra (duckdb) is not installed")
    code, nested, nested_err = _evaluate("--engine", engine, str(split["nested"]))
    assert code == 0, nested_err
    code, out, err = _evaluate("--engine", engine, str(split["loans"]),
                               "--follow-ups", str(split["follow_ups"]))
    assert out == nested
    assert code == 1  # two rows of the table reached no loan
    reported = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [(r["table"], r["index"], r["loan_id"]) for r in reported] == [
        ("follow_ups", 10, "NOPE-1"), ("follow_ups", 11, None)]
    assert "not in the loans table" in reported[0]["error"]
    assert err.splitlines()[-1] == nested_err.splitlines()[-1] + \
        "; 2 follow-up rows reached no loan"


def test_worker_processes_read_the_same_history(split: dict[str, Path]) -> None:
    one = _evaluate(str(split["loans"]), "--follow-ups", str(split["follow_ups"]))
    two = _evaluate(str(split["loans"]), "--follow-ups", str(split["follow_ups"]), "-j", "2")
    assert one == two


def test_typed_parquet_loans_and_history_are_copied_by_duckdb(split: dict[str, Path],
                                                              tmp_path: Path) -> None:
    pytest.importorskip("duckdb", reason="the portfolio extra (duckdb) is not installed")
    pa = pytest.importorskip("pyarrow", reason="the portfolio extra (pyarrow) is missing")
    pq = pytest.importorskip("pyarrow.parquet")
    from .test_portfolio_cli import _typed_parquet

    loans = tmp_path / "loans.parquet"
    _typed_parquet(loans, 150)  # the same loans, typed columns, one reject
    with open(split["follow_ups"], encoding="utf-8", newline="") as stream:
        history = list(csv.DictReader(stream))
    table = pa.table({name: [row[name] or None for row in history] for name in COLUMNS})
    table = table.set_column(2, "date", table.column("date").cast(pa.date32()))
    follow_ups = tmp_path / "follow_ups.parquet"
    pq.write_table(table, follow_ups)
    actions = tmp_path / "actions.parquet"
    code, _, err = _evaluate(str(loans), "--follow-ups", str(follow_ups), "-f", "parquet",
                             "-o", str(actions))
    assert code == 1 and "2 follow-up rows reached no loan" in err
    assert "did you mean 'residential'" in err  # the typed file's one bad record

    import followup_policy as fp
    from followup_policy.engines.portfolio import evaluate_portfolio

    expected = evaluate_portfolio(fp.load_policy(HEAD_OFFICE), loans, follow_ups,
                                  as_of=date(2026, 11, 28))
    assert expected.actions.column("attempts").to_pylist().count(0) < expected.actions.num_rows
    assert pq.read_table(actions).to_pylist() == \
        expected.actions.drop_columns(["__row"]).to_pylist()


def test_an_unreadable_history_file_is_one_line_and_exit_2(split: dict[str, Path],
                                                           tmp_path: Path) -> None:
    code, out, err = _evaluate(str(split["loans"]), "--follow-ups",
                               str(tmp_path / "missing.csv"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "missing.csv" in err and "Traceback" not in err
