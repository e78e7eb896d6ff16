"""Decisions JSONL made by DuckDB (engines/portfolio/decision_lines.py) against pydantic's.

The portfolio engine writes the command line's JSONL from its tables in SQL; these tests
hold those bytes to ``Decision.model_dump_json()`` (what the per-loan path writes) on
random decisions full of the characters JSON escapes, and through the command line.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb", reason="the portfolio extra (duckdb) is not installed")
pytest.importorskip("pyarrow", reason="the portfolio extra (pyarrow) is missing")

import followup_policy as fp
from followup_policy.cli import run
from followup_policy.decisions import (
    ACTION_ORDER,
    Action,
    ChecklistEntry,
    Decision,
    Finding,
)
from followup_policy.engines.portfolio.decision_lines import (
    lines_query,
    write_lines,
)
from followup_policy.engines.portfolio.engine import duckdb_session, evaluate_portfolio
from followup_policy.engines.portfolio.export import export_portfolio
from followup_policy.engines.portfolio.results import (
    PortfolioResult,
    per_loan_tables,
)
from followup_policy.engines.portfolio.tables import check_records, records_from

from .conftest import HEAD_OFFICE, PORTFOLIO
from .test_portfolio_cli import BAD_LINES, _typed_parquet

# what JSON escapes or might: quote, backslash, every control character, DEL, C1, the
# line separators, '/', and text that looks like an escape once a backslash precedes it
_SPECIAL = ['"', "\\", "/", "\x7f", "\x80", "\x9f", "\u2028", "\u2029", "\ufeff", "中",
            "😀", "\\u000B", "\\\\u001f", "u000B", *map(chr, range(0x20))]
_text = st.lists(st.one_of(st.sampled_from(_SPECIAL), st.characters(codec="utf-8")),
                 max_size=6).map("".join)
_maybe = st.none() | _text


@st.composite
def _actions(draw: st.DrawFn) -> tuple[Action, ...]:
    ids = draw(st.lists(_text, max_size=4, unique=True))
    actions = [Action(
        id=action_id, source=draw(st.sampled_from(["timing_node", "frequency", "rule"])),
        kind=draw(_text), title=draw(_text),
        status=draw(st.sampled_from(["overdue", "due", "upcoming"])),
        due_date=draw(st.dates()), deadline=draw(st.dates()), channel=draw(_maybe),
        severity=draw(_text), category=draw(_maybe), reference=draw(_maybe),
        checklist_id=draw(_maybe),
        checklist=tuple(ChecklistEntry(id=i, text=t)
                        for i, t in draw(st.lists(st.tuples(_text, _text), max_size=3))),
        reasons=tuple(draw(st.lists(_text, max_size=3))),
        attempts=draw(st.integers(0, 2**63 - 1)), last_attempt=draw(st.none() | st.dates()))
        for action_id in ids]
    return tuple(sorted(actions, key=ACTION_ORDER))  # a Decision's order, as evaluation's


_findings = st.lists(st.builds(Finding, rule=_text, kind=_text,
                               fields=st.lists(_text, max_size=3).map(tuple),
                               message=_text), max_size=3).map(tuple)
_decisions = st.builds(Decision, loan_id=_text, as_of=st.dates(), tier=_maybe,
                       policy_id=_text, policy_version=_text, policy_digest=_text,
                       actions=_actions(), findings=_findings)


def _expected(decisions: list[Decision]) -> str:
    return "".join(decision.model_dump_json() + "\n" for decision in decisions)


@pytest.fixture(scope="module")
def con() -> Iterator[Any]:
    """One DuckDB connection for every example (a connection costs more than a query)."""
    with duckdb_session() as connection:
        yield connection


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(decisions=st.lists(_decisions, max_size=5))
def test_sql_lines_are_pydantics_bytes(con: Any, decisions: list[Decision]) -> None:
    tables = per_loan_tables(dict(enumerate(decisions)))  # the tables as the engine has them
    for name, table in zip(("decisions", "actions", "findings"), tables, strict=True):
        con.register(f"__{name}", table)
    text = io.StringIO()
    write_lines(con, lines_query("__decisions", "__actions", "__findings"), text)
    assert text.getvalue() == _expected(decisions)


def test_a_file_and_a_utf8_stream_get_the_bytes(tmp_path: Path) -> None:
    decisions = [Decision("L\x0b\u2028\"/\\u000B", date(1, 1, 1), None, "p", "1", "d",
                          findings=(Finding("r", "k", ("a",), "m\x1f"),)),
                 Decision("中", date(9999, 12, 31), "关注", "p", "1", "d")]
    result = PortfolioResult(*per_loan_tables(dict(enumerate(decisions))), rejects=[],
                             per_loan={})
    result.write_jsonl(tmp_path / "out.jsonl")
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    stream.write("head\n")  # text written before the bytes stays before them
    result.write_jsonl(stream)
    expected = _expected(decisions).encode("utf-8")
    assert (tmp_path / "out.jsonl").read_bytes() == expected
    assert raw.getvalue() == b"head\n" + expected


@pytest.fixture(scope="module")
def mixed_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good loans, bad records, loans the interpreter evaluates (amounts SQL decimals do
    not hold exactly) and loan ids JSON must escape."""
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:120]
    for offset, bad in enumerate(BAD_LINES):
        lines.insert(20 * offset + 3, bad)
    for position, loan_id in ((5, 'F1"\\/\u2028\x0b\x1f'), (60, "F2\\u000B中")):
        loan = json.loads(lines[position])
        loan.update(loan_id=loan_id, monthly_income="12345.123456789012345")  # fallback
        lines.insert(position, json.dumps(loan, ensure_ascii=False))
    path = tmp_path_factory.mktemp("lines") / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _evaluate(engine: str, *argv: str, stdin: str = "") -> tuple[int, bytes, str]:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")  # a real stdout
    err = io.StringIO()
    code = run(["evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--engine",
                engine, "--summary", *argv], out, err, io.StringIO(stdin))
    out.flush()
    return code, out.buffer.getvalue(), err.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["stdout", "file", "stdin"])
def test_both_engines_write_the_same_jsonl(mixed_input: Path, tmp_path: Path,
                                           how: str) -> None:
    """A JSONL file (checked in SQL), to stdout or a file; from stdin (read record by
    record, evaluated and written in one DuckDB session)."""
    results = {}
    for engine in ("portfolio", "per-loan"):
        target = tmp_path / f"{engine}.jsonl"
        if how == "stdin":
            code, out, err = _evaluate(engine, "-", stdin=mixed_input.read_text("utf-8"))
        else:
            code, out, err = _evaluate(engine, str(mixed_input),
                                       *(["-o", str(target)] if how == "file" else []))
        results[engine] = (code, target.read_bytes() if how == "file" else out, err)
    assert results["portfolio"] == results["per-loan"]
    code, out, err = results["portfolio"]
    assert code == 1
    assert "127 records: 122 evaluated, 5 rejected" in err
    loan_ids = [json.loads(line)["loan_id"] for line in out.decode("utf-8").split("\n")[:-1]]
    assert {'F1"\\/\u2028\x0b\x1f', "F2\\u000B中"} <= set(loan_ids)
    checked = check_records(fp.load_policy(HEAD_OFFICE), records_from(mixed_input, None),
                            date(2026, 11, 28), None)
    assert [snapshot.loan_id for _, snapshot, _ in checked.fallback] \
        == ['F1"\\/\u2028\x0b\x1f', "F2\\u000B中"]  # the interpreter's, in the same file


def test_export_portfolio_writes_the_lines_of_sql_and_interpreter_rows(
        mixed_input: Path, tmp_path: Path) -> None:
    policy = fp.load_policy(HEAD_OFFICE)
    on = date(2026, 11, 28)
    done = export_portfolio(policy, mixed_input, as_of=on,
                            decisions_jsonl=tmp_path / "decisions.jsonl")
    result = evaluate_portfolio(policy, mixed_input, as_of=on)
    assert len(result.per_loan) == 2  # the interpreter's loans are in the file, in order
    expected = _expected([item for item in result.items() if isinstance(item, Decision)])
    assert (tmp_path / "decisions.jsonl").read_text(encoding="utf-8") == expected
    assert done.counts == result.counts()


def test_a_typed_parquet_file_to_a_jsonl_file(tmp_path: Path) -> None:
    """The path where DuckDB checks the columns and writes the lines in one session."""
    loans = tmp_path / "typed.parquet"
    _typed_parquet(loans, 80)
    results = {}
    for engine in ("portfolio", "per-loan"):
        target = tmp_path / f"{engine}.jsonl"
        code, out, err = _evaluate(engine, str(loans), "-o", str(target))
        results[engine] = (code, target.read_bytes(), out, err)
    assert results["portfolio"] == results["per-loan"]
    code, written, out, err = results["portfolio"]
    assert code == 1 and written.count(b"\n") == 79 and out == b""
    assert "80 records: 79 evaluated, 1 rejected" in err


def test_a_stream_in_another_encoding_is_refused_before_evaluating() -> None:
    gbk = io.TextIOWrapper(io.BytesIO(), encoding="gbk")
    with pytest.raises(ValueError, match="UTF-8; this stream's encoding is gbk"):
        export_portfolio(fp.load_policy(HEAD_OFFICE), PORTFOLIO, decisions_jsonl=gbk)


def test_a_stdout_in_another_encoding_keeps_the_decision_writer(mixed_input: Path) -> None:
    """GB18030 holds every character: both engines write the same GB18030 bytes (the
    portfolio engine through Decision objects, as before)."""
    results = {}
    for engine in ("portfolio", "per-loan"):
        out = io.TextIOWrapper(io.BytesIO(), encoding="gb18030", newline="")
        err = io.StringIO()
        code = run(["evaluate", "-p", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--engine",
                    engine, str(mixed_input)], out, err, io.StringIO())
        out.flush()
        results[engine] = (code, out.buffer.getvalue(), err.getvalue())  # type: ignore[attr-defined]
    assert results["portfolio"] == results["per-loan"]
    assert "关注".encode("gb18030") in results["portfolio"][1]
