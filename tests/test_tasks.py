"""The tasks command, task keys and flat rows."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

import followup_policy as fp
from followup_policy.cli import run

from .conftest import HEAD_OFFICE, PORTFOLIO, make_policy

AS_OF = "2026-11-28"


def _run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err, io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def _tasks(policy: str, records: list[dict[str, Any]], *extra: str) -> list[dict[str, Any]]:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    code, out, err = _run("tasks", "--policy", policy, "--as-of", AS_OF, "-", "-f", "jsonl",
                          *extra, stdin=text)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


@given(st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=12),
       st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_task_key_is_the_documented_formula(loan: str, action: str, due: date) -> None:
    text = loan + "\x1f" + action + "\x1f" + due.isoformat()
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    assert fp.task_key(loan, action, due) == expected


def test_tasks_filters_and_sorting() -> None:
    records = [json.loads(line) for line in PORTFOLIO.read_text(encoding="utf-8").splitlines()]
    every = _tasks(str(HEAD_OFFICE), records[:300], "--branch-field", "branch")
    assert every and [t["deadline"] for t in every] == sorted(t["deadline"] for t in every)
    assert {t["status"] for t in every} == {"upcoming", "due", "overdue"}
    keys = [t["task_key"] for t in every]
    assert len(set(keys)) == len(keys)
    branch = every[0]["branch"]
    picked = _tasks(str(HEAD_OFFICE), records[:300], "--status", "due,overdue",
                    "--channel", "phone", "--due-by", "2026-12-31",
                    "--branch-field", "branch", "--branch", branch)
    assert picked == [t for t in every if t["status"] in ("due", "overdue")
                      and t["channel"] == "phone" and t["due_date"] <= "2026-12-31"
                      and t["branch"] == branch]
    assert picked


def test_tasks_csv_and_xlsx_hold_the_same_rows(tmp_path: Path) -> None:
    source = tmp_path / "loans.jsonl"
    source.write_text("".join(PORTFOLIO.read_text(encoding="utf-8").splitlines(True)[:50]),
                      encoding="utf-8")
    common = ("tasks", "--policy", str(HEAD_OFFICE), "--as-of", AS_OF, str(source))
    code, out, err = _run(*common, "-f", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    target = tmp_path / "tasks.xlsx"
    assert _run(*common, "-f", "xlsx", "-o", str(target))[0] == 0
    book = openpyxl.load_workbook(target, read_only=True)
    header, *cells = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    assert header == list(rows[0])
    assert [[("" if c is None else str(c)) for c in r] for r in cells] == [
        list(r.values()) for r in rows]
    code, _, err = _run(*common, "-f", "xlsx")
    assert code == 2 and "needs -o" in err


POLICY_NODES_RULES = """\
fields:
  days_past_due: {type: int, default: 0, min: 0}
  delinquency_start_date: {type: date}
timing_nodes:
  - {id: d30, title: 30天, after: 30 days, window: 10 days, lead: 7 days, channel: phone}
  - {id: m3, title: 3个月, after: 3 months, window: 15 days, lead: 7 days, channel: phone}
  - {id: y1, title: 1年, after: 1 year, window: 30 days, channel: site_visit}
rules:
  - id: live_contact
    title: 人工联系
    severity: high
    when: days_past_due >= 1
    action: {kind: live_contact, anchor: delinquency_start_date, after: 36 days, channel: phone}
  - id: notice
    title: 书面通知
    when: days_past_due >= 30
    action: {kind: written_notice, anchor: delinquency_start_date, after: 45 days,
             channel: letter}
    repeat: 180 days
"""
POLICY_FREQUENCY = """\
fields:
  risk_tier: {type: enum, values: [low, high]}
frequency:
  low: {every: 12 months, channel: robot_call, lead: 14 days, window: 30 days}
  high: {every: 1 month, channel: site_visit, window: 7 days}
"""

_loans = st.lists(st.fixed_dictionaries({
    "disbursed": st.integers(min_value=0, max_value=900),
    "dpd": st.integers(min_value=0, max_value=120),
    "tier": st.sampled_from(["low", "high"]),
    "done": st.lists(st.tuples(st.sampled_from(["d30", "m3", "y1", "live_contact", "notice",
                                                "frequency"]),
                               st.integers(min_value=0, max_value=900)), max_size=3),
}), min_size=1, max_size=6)


def _snapshots(loans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    as_of = date.fromisoformat(AS_OF)
    out = []
    for number, loan in enumerate(loans):
        disbursed = as_of - timedelta(days=loan["disbursed"])
        record: dict[str, Any] = {
            "loan_id": f"L{number}", "disbursement_date": disbursed.isoformat(),
            "days_past_due": loan["dpd"], "risk_tier": loan["tier"],
            "follow_ups": [{"action": a, "date": (as_of - timedelta(days=d)).isoformat(),
                            "channel": "site_visit", "outcome": "reached"}
                           for a, d in loan["done"]],
        }
        if loan["dpd"]:
            record["delinquency_start_date"] = (as_of - timedelta(days=loan["dpd"])).isoformat()
        out.append(record)
    return out


def _policy_file(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f'policy: {{id: {name}, title: 测试, version: "1"}}\n' + body,
                    encoding="utf-8")
    return str(path)


@settings(max_examples=25, deadline=None)
@given(loans=_loans, which=st.integers(min_value=0), use_frequency=st.booleans())
def test_tasks_are_stable_and_completing_one_removes_exactly_it(
        tmp_path_factory: Any, loans: list[dict[str, Any]], which: int,
        use_frequency: bool) -> None:
    folder = tmp_path_factory.mktemp("p")
    body = POLICY_FREQUENCY if use_frequency else POLICY_NODES_RULES
    policy = _policy_file(folder, "freq" if use_frequency else "nodes", body)
    records = _snapshots(loans)
    first = _tasks(policy, records)
    second = _tasks(policy, records)
    assert first == second  # same data, same date: same tasks and keys
    if not first:
        return
    task = first[which % len(first)]
    record = next(r for r in records if r["loan_id"] == task["loan_id"])
    record["follow_ups"].append({"action": task["action_id"], "date": AS_OF,
                                 "channel": task["channel"], "outcome": "reached"})
    after = _tasks(policy, records)
    assert {t["task_key"] for t in after} == {t["task_key"] for t in first} - {task["task_key"]}


def test_flat_rows_go_into_sqlite_and_keep_loans_without_actions() -> None:
    policy = fp.load_policy(HEAD_OFFICE)
    records = [json.loads(line) for line in PORTFOLIO.read_text(encoding="utf-8").splitlines()]
    decisions = [d for d in policy.evaluate_many(records[:200], as_of=date(2026, 11, 28))
                 if isinstance(d, fp.Decision)]
    assert any(not d.actions for d in decisions)
    db = sqlite3.connect(":memory:")
    db.execute(f"create table decisions ({', '.join(fp.rows.DECISION_COLUMNS)})")
    db.execute(f"create table actions ({', '.join(fp.rows.ACTION_COLUMNS)})")
    db.executemany(f"insert into decisions values ({', '.join('?' * 11)})",
                   [tuple(fp.decision_row(d).values()) for d in decisions])
    db.executemany("insert into actions values (" + ", ".join(
        f":{c}" for c in fp.rows.ACTION_COLUMNS) + ")",
        [row for d in decisions for row in fp.action_rows(d)])
    assert db.execute("select count(*) from decisions").fetchone() == (len(decisions),)
    total = sum(len(d.actions) for d in decisions)
    assert db.execute("select count(*), count(distinct task_key) from actions").fetchone() == (
        total, total)
    overdue = db.execute("select sum(overdue) from decisions").fetchone()[0]
    assert overdue == sum(a.status == "overdue" for d in decisions for a in d.actions)


def test_to_dataframe() -> None:
    policy = make_policy("""\
        timing_nodes:
          - {id: m3, title: 3个月, after: 3 months, channel: phone}
    """)
    decisions = [policy.evaluate({"loan_id": f"L{i}", "disbursement_date": d},
                                 as_of=date(2026, 5, 1))
                 for i, d in enumerate(["2026-01-01", "2026-04-01"])]
    actions = fp.to_dataframe(decisions)
    assert list(actions["loan_id"]) == ["L0"]
    assert str(actions["due_date"].iloc[0].date()) == "2026-04-01"
    table = fp.to_dataframe(decisions, "decisions")
    assert list(table["loan_id"]) == ["L0", "L1"] and list(table["actions"]) == [1, 0]
