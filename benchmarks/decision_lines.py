"""Writing a portfolio's decisions as JSONL: DuckDB's lines against Python's, same run.

Usage::

    python benchmarks/decision_lines.py                    # 100,000 decisions
    python benchmarks/decision_lines.py --decisions 300000

The result tables of the example portfolio (3,000 head-office loans at 2026-11-28,
evaluated once, not timed) are repeated, loan ids made unique, to ``--decisions``
decisions; then each writer writes them all to a JSONL file, best of ``--rounds``:

- ``duckdb``: ``PortfolioResult.write_jsonl`` (``engines/portfolio/decision_lines.py``),
  the lines made in SQL and written from Arrow batches, what ``evaluate --engine
  portfolio`` does now;
- ``Decision objects``: ``PortfolioResult.items()`` then ``Decision.model_dump_json()``
  per line, what it did before;
- ``baseline``: plain hand-written Python, the tables' rows as dicts (``to_pylist``)
  nested by hand and written with ``json.dumps``.

All three files must be the same bytes, or the run stops with exit code 1. Printed per
100,000 decisions and as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import followup_policy
except ImportError:  # a fresh clone without `pip install -e .`
    sys.path.insert(0, str(HERE.parent / "src"))
    import followup_policy

fp = followup_policy
EXAMPLE = HERE.parent / "examples" / "portfolio.jsonl"
POLICY = HERE.parent / "policies" / "head_office.yaml"


def repeated(count: int) -> Any:
    """The example's result, its tables repeated to ``count`` decisions."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from followup_policy.engines.portfolio import evaluate_portfolio
    from followup_policy.engines.portfolio.results import PortfolioResult

    result = evaluate_portfolio(fp.load_policy(POLICY), EXAMPLE, as_of=date(2026, 11, 28))
    size = result.decisions.num_rows
    copies = -(-count // size)

    def grow(table: Any) -> Any:
        parts = []
        for k in range(copies):
            part = table.set_column(table.column_names.index("__row"), "__row",
                                    pc.add(table.column("__row"), k * size))
            if "loan_id" in part.column_names:
                part = part.set_column(part.column_names.index("loan_id"), "loan_id",
                                       pc.binary_join_element_wise(
                                           part.column("loan_id"), pa.scalar(f"{k}"), "-"))
            parts.append(part)
        grown = pa.concat_tables(parts)
        return grown.filter(pc.less(grown.column("__row"), count))

    return PortfolioResult(grow(result.decisions), grow(result.actions),
                           grow(result.findings), [], {})


def write_duckdb(result: Any, path: Path) -> None:
    result.write_jsonl(path)


def write_objects(result: Any, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        for decision in result.items():
            out.write(decision.model_dump_json() + "\n")


def write_baseline(result: Any, path: Path) -> None:
    """Rows as dicts, nested by hand, ``json.dumps`` per line: no library code."""
    def rows(table: Any) -> dict[int, list[dict[str, Any]]]:
        by_row: dict[int, list[dict[str, Any]]] = {}
        for row in table.to_pylist():
            by_row.setdefault(row.pop("__row"), []).append(row)
        return by_row

    actions, findings = rows(result.actions), rows(result.findings)
    day = date.isoformat
    with open(path, "w", encoding="utf-8", newline="") as out:
        for d in result.decisions.to_pylist():
            mine = sorted(actions.get(d["__row"], ()), key=lambda a: (a["deadline"], a["id"]))
            line = {
                "loan_id": d["loan_id"], "as_of": day(d["as_of"]), "tier": d["tier"],
                "policy_id": d["policy_id"], "policy_version": d["policy_version"],
                "policy_digest": d["policy_digest"],
                "actions": [{
                    "id": a["id"], "source": a["source"], "kind": a["kind"],
                    "title": a["title"], "status": a["status"],
                    "due_date": day(a["due_date"]), "deadline": day(a["deadline"]),
                    "channel": a["channel"], "severity": a["severity"],
                    "category": a["category"], "reference": a["reference"],
                    "checklist_id": a["checklist_id"], "checklist": a["checklist"] or [],
                    "reasons": a["reasons"] or [], "attempts": a["attempts"],
                    "last_attempt": a["last_attempt"] and day(a["last_attempt"])}
                    for a in mine],
                "findings": [{"rule": f["rule"], "kind": f["kind"],
                              "fields": f["fields"] or [], "message": f["message"]}
                             for f in sorted(findings.get(d["__row"], ()),
                                             key=lambda f: f["seq"])]}
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")


def best(write: Callable[[Any, Path], None], result: Any, path: Path, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        write(result, path)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} cores; load average {load} at the start")
    result = repeated(args.decisions)
    print(f"{result.decisions.num_rows:,} decisions, {result.actions.num_rows:,} actions,"
          f" {result.findings.num_rows:,} findings (the example's tables repeated)")
    writers = {"duckdb (write_jsonl)": write_duckdb,
               "Decision objects + model_dump_json": write_objects,
               "baseline (dicts + json.dumps)": write_baseline}
    with tempfile.TemporaryDirectory() as tmp:
        seconds, files = {}, {}
        for name, write in writers.items():
            files[name] = Path(tmp) / f"{len(files)}.jsonl"
            seconds[name] = best(write, result, files[name], args.rounds)
        contents = {files[name].read_bytes() for name in writers}
        size = files["duckdb (write_jsonl)"].stat().st_size
    per = 100_000 / result.decisions.num_rows
    base = seconds["baseline (dicts + json.dumps)"]
    for name, took in seconds.items():
        print(f"  {name:36} {took:6.2f} s  = {took * per:6.2f} s per 100,000 decisions,"
              f" {base / took:5.2f}x the baseline")
    print(f"  {size / 2**20:,.1f} MB written by each; best of {args.rounds}")
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average {load} at the end")
    if len(contents) != 1:
        print("ABORT: the writers wrote different bytes")
        return 1
    print("all three wrote the same bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
