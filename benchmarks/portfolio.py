"""Benchmark of the portfolio engine: loans from Parquet to an actions Parquet file.

Usage::

    python benchmarks/portfolio.py                  # 200,000 loans (a few minutes on 2 cores)
    python benchmarks/portfolio.py --loans 1000000  # the 1M-loan target

Each contender runs in its own child process, so its peak memory (max RSS) is its own:

- ``portfolio``: ``evaluate_portfolio`` on the head-office policy, Parquet in, actions
  table written as Parquet; the time is split into reading + checking the records (the
  policy's own snapshot reader, in Python), the SQL on DuckDB, and writing;
- ``baseline``: ``head_office_baseline.py`` (the policy written by hand in plain Python)
  on the same Parquet rows, writing the same actions as Parquet with pyarrow.

Printed as loans/s and as a ratio to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import followup_policy
except ImportError:  # a fresh clone without `pip install -e .`
    sys.path.insert(0, str(HERE.parent / "src"))
    import followup_policy

from workload import AS_OF, HEAD_OFFICE, make_portfolio  # noqa: E402

fp = followup_policy


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_parquet(path: Path, count: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pool = [json.loads(line) for line in make_portfolio(min(count, 5000))]
    rows = []
    for index in range(count):
        loan = dict(pool[index % len(pool)])
        loan["loan_id"] = f"L{index:08d}"
        loan["follow_ups"] = json.dumps(loan.get("follow_ups") or [])  # one text column
        rows.append({k: (None if v is None else str(v)) for k, v in loan.items()})
    pq.write_table(pa.Table.from_pylist(rows), path)


def run_portfolio(loans: Path, out: Path) -> dict[str, Any]:
    from followup_policy.engines.portfolio.command import write_arrow
    from followup_policy.engines.portfolio.engine import policy_sql, run_checked
    from followup_policy.engines.portfolio.tables import check_records, records_from

    policy = fp.load_policy(HEAD_OFFICE)
    start = time.perf_counter()
    plan = policy_sql(policy)
    checked = check_records(policy, records_from(loans), AS_OF)
    read = time.perf_counter()
    result = run_checked(policy, plan, checked, "duckdb")
    evaluated = time.perf_counter()
    write_arrow(result.actions.drop_columns(["__row"]), out)
    end = time.perf_counter()
    return {"read": read - start, "sql": evaluated - read, "write": end - evaluated,
            "total": end - start, "actions": result.actions.num_rows,
            "decisions": result.decisions.num_rows, "rejects": len(result.rejects),
            "peak_mb": _peak_mb()}


def run_baseline(loans: Path, out: Path) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from head_office_baseline import BadSnapshot, Baseline, coerce

    policy = fp.load_policy(HEAD_OFFICE)
    baseline = Baseline(HEAD_OFFICE, policy.digest)
    start = time.perf_counter()
    rows = pq.read_table(loans).to_pylist()
    read = time.perf_counter()
    actions: list[dict[str, Any]] = []
    rejects = 0
    for raw in rows:
        raw = {k: v for k, v in raw.items() if v is not None}
        raw["follow_ups"] = json.loads(raw.get("follow_ups") or "[]")
        try:
            decision = baseline.evaluate(coerce(raw), AS_OF)
        except BadSnapshot:
            rejects += 1
            continue
        for action in decision["actions"]:
            actions.append({"loan_id": decision["loan_id"], **action})
    evaluated = time.perf_counter()
    pq.write_table(pa.Table.from_pylist(
        [{k: v if isinstance(v, str | type(None)) else json.dumps(v, default=str,
                                                                   ensure_ascii=False)
          for k, v in a.items()} for a in actions]), out)
    end = time.perf_counter()
    return {"read": read - start, "sql": evaluated - read, "write": end - evaluated,
            "total": end - start, "actions": len(actions), "decisions": len(rows) - rejects,
            "rejects": rejects, "peak_mb": _peak_mb()}


def _child(kind: str, loans: str, out: str) -> None:
    runner = run_portfolio if kind == "portfolio" else run_baseline
    print(json.dumps(runner(Path(loans), Path(out))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "LOANS", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.loans:,} loans, head-office policy")
    with tempfile.TemporaryDirectory() as tmp:
        loans = Path(tmp) / "loans.parquet"
        started = time.perf_counter()
        make_parquet(loans, args.loans)
        print(f"input: {loans.stat().st_size / 1e6:.1f} MB Parquet"
              f" (made in {time.perf_counter() - started:.1f} s, not timed below)")
        results = {}
        for kind in ("baseline", "portfolio"):
            out = Path(tmp) / f"{kind}.parquet"
            child = subprocess.run([sys.executable, __file__, "--child", kind, str(loans),
                                    str(out)], capture_output=True, text=True, check=True)
            results[kind] = json.loads(child.stdout.strip().splitlines()[-1])
    base, port = results["baseline"], results["portfolio"]
    n = args.loans
    for kind, r in (("baseline (hand-written Python)", base), ("portfolio (DuckDB)", port)):
        print(f"{kind:32} end to end {r['total']:7.1f} s  {n / r['total']:>11,.0f} loans/s"
              f"   [read+check {r['read']:.1f} s, evaluate {r['sql']:.1f} s,"
              f" write {r['write']:.1f} s]  peak {r['peak_mb']:,.0f} MB"
              f"  ({r['decisions']:,} decisions, {r['actions']:,} actions)")
    print(f"portfolio / baseline, end to end: {base['total'] / port['total']:.2f}x the"
          f" baseline's speed; evaluation alone (SQL): {n / port['sql']:,.0f} loans/s"
          f" (target 1,000,000), end to end target < 10 s for 1M loans")
    agree = _agrees_with_interpreter(min(n, 1000))
    print(f"portfolio engine equals Policy.evaluate on the first {min(n, 1000):,} loans: {agree}"
          f" (actions: baseline {base['actions']:,}, portfolio {port['actions']:,}; the"
          " baseline is a hand-written copy and may lag policy edits)")
    return 0 if agree else 1


def _agrees_with_interpreter(count: int) -> bool:
    from followup_policy.engines.portfolio import evaluate_portfolio

    policy = fp.load_policy(HEAD_OFFICE)
    loans = [json.loads(line) for line in make_portfolio(count)]
    result = evaluate_portfolio(policy, loans, as_of=AS_OF)
    return [d.model_dump_json() for d in result.items()] == [  # type: ignore[union-attr]
        policy.evaluate(loan, as_of=AS_OF).model_dump_json() for loan in loans]


if __name__ == "__main__":
    sys.exit(main())
