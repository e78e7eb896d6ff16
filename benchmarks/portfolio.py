"""Benchmark of the portfolio engine: loans from Parquet to an actions Parquet file.

Usage::

    python benchmarks/portfolio.py                  # 200,000 loans (a few minutes on 2 cores)
    python benchmarks/portfolio.py --loans 1000000  # the 1M-loan target

Each contender runs in its own child process, so its peak memory (max RSS) is its own:

- ``portfolio``: ``evaluate_portfolio`` on the head-office policy, Parquet in, actions
  table written as Parquet; the time is split into reading + checking the records (the
  policy's own snapshot reader, in Python), the SQL on DuckDB, and writing;
- ``portfolio-typed``: the same loans as a *typed* Parquet file (dates as dates,
  amounts as decimals, counts as integers) and the follow-ups as a long Parquet table,
  as a warehouse exports them: checked in DuckDB SQL (``engines/portfolio/typed.py``),
  the time split into the check, the evaluation (the SQL of the plan, results fetched as
  Arrow) and writing the actions Parquet;
- ``baseline``: ``head_office_baseline.py`` (the policy written by hand in plain Python)
  on the same Parquet rows, writing the same actions as Parquet with pyarrow.

``--typed-only`` leaves out the record-by-record ``portfolio`` run (minutes at 1M loans);
``--memory-limit 1GB`` bounds the typed run's DuckDB (it spills to disk beyond it).

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
from datetime import date
from decimal import Decimal
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
    # every column any loan has (from_pylist alone would keep only the first row's keys)
    names = list(dict.fromkeys(k for row in rows[:len(pool)] for k in row))
    schema = pa.schema([(name, pa.string()) for name in names])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def make_typed_parquet(folder: Path, count: int) -> None:
    """loans.parquet with the policy's column types, follow_ups.parquet in long form."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    policy = fp.load_policy(HEAD_OFFICE)
    pool = [json.loads(line) for line in make_portfolio(min(count, 5000))]
    types = {"int": pa.int64(), "decimal": pa.decimal128(18, 2), "string": pa.string(),
             "enum": pa.string(), "bool": pa.bool_(), "date": pa.date32()}
    fields = {"disbursement_date": "date",
              **{n: spec.type for n, spec in policy.document.fields.items()}}

    def typed(kind: str, value: Any) -> Any:
        if value is None:
            return None
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "decimal":
            return Decimal(str(value)).quantize(Decimal("0.01"))
        return value

    columns = {n: pa.array([typed(k, loan.get(n)) for loan in pool], type=types[k])
               for n, k in fields.items()}
    base = pa.table(columns)
    entries = [(p, e) for p, loan in enumerate(pool) for e in loan.get("follow_ups") or []]
    base_fu = {
        "action": pa.array([e["action"] for _, e in entries], type=pa.string()),
        "date": pa.array([date.fromisoformat(e["date"]) for _, e in entries],
                         type=pa.date32()),
        "channel": pa.array([e.get("channel") for _, e in entries], type=pa.string()),
        "outcome": pa.array([e.get("outcome") for _, e in entries], type=pa.string()),
    }
    owners = [p for p, _ in entries]
    loan_writer = fu_writer = None
    try:
        for start in range(0, count, len(pool)):
            size = min(len(pool), count - start)
            ids = pa.array([f"L{start + i:08d}" for i in range(size)], type=pa.string())
            block = base.slice(0, size).add_column(0, "loan_id", ids)
            keep = [j for j, p in enumerate(owners) if p < size]
            fu = pa.table({"loan_id": pa.array([f"L{start + owners[j]:08d}" for j in keep],
                                               type=pa.string()),
                           **{n: a.take(pa.array(keep, type=pa.int64()))
                              for n, a in base_fu.items()}})
            if loan_writer is None:
                loan_writer = pq.ParquetWriter(folder / "loans.parquet", block.schema)
                fu_writer = pq.ParquetWriter(folder / "follow_ups.parquet", fu.schema)
            loan_writer.write_table(block)
            assert fu_writer is not None
            fu_writer.write_table(fu)
    finally:
        for writer in (loan_writer, fu_writer):
            if writer is not None:
                writer.close()


def run_typed(folder: Path, out: Path, memory_limit: str | None) -> dict[str, Any]:
    import duckdb  # noqa: F401  (imported before the clock starts, as pyarrow is)
    import pyarrow  # noqa: F401

    from followup_policy.engines.portfolio.command import write_arrow
    from followup_policy.engines.portfolio.engine import (
        _run_statements,
        _with_fallback,
        duckdb_session,
        policy_sql,
    )
    from followup_policy.engines.portfolio.typed import check_typed, typed_source

    policy = fp.load_policy(HEAD_OFFICE)
    start = time.perf_counter()
    plan = policy_sql(policy)
    with duckdb_session(memory_limit=memory_limit) as con:
        source = typed_source(con, folder / "loans.parquet", folder / "follow_ups.parquet",
                              table_names=False)
        assert source is not None
        checked = check_typed(con, policy, source, AS_OF, None)
        assert checked is not None, "the typed Parquet should take the SQL check"
        read = time.perf_counter()
        tables = _run_statements(con, plan)
    result = _with_fallback(policy, checked, tables)
    evaluated = time.perf_counter()
    write_arrow(result.actions.drop_columns(["__row"]), out)
    end = time.perf_counter()
    return {**_timings(start, read, evaluated, end, result),
            "reader": checked.loans.num_rows + len(checked.fallback) + len(checked.rejects)}


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
    return _timings(start, read, evaluated, end, result)


def _timings(start: float, read: float, evaluated: float, end: float,
             result: Any) -> dict[str, Any]:
    """One portfolio run's split times, counts and peak memory, as the report reads them."""
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


def _child(kind: str, loans: str, out: str, memory_limit: str | None) -> None:
    if kind == "portfolio-typed":
        print(json.dumps(run_typed(Path(loans), Path(out), memory_limit)))
        return
    runner = run_portfolio if kind == "portfolio" else run_baseline
    print(json.dumps(runner(Path(loans), Path(out))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--typed-only", action="store_true",
                        help="leave out the record-by-record portfolio run")
    parser.add_argument("--memory-limit", help="DuckDB memory limit of the typed run, e.g. 1GB")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "LOANS", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child, args.memory_limit)
        return 0
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.loans:,} loans, head-office policy")
    with tempfile.TemporaryDirectory() as tmp:
        loans = Path(tmp) / "loans.parquet"
        started = time.perf_counter()
        make_parquet(loans, args.loans)
        print(f"input: {loans.stat().st_size / 1e6:.1f} MB Parquet"
              f" (made in {time.perf_counter() - started:.1f} s, not timed below)")
        typed = Path(tmp) / "typed"
        typed.mkdir()
        started = time.perf_counter()
        make_typed_parquet(typed, args.loans)
        print(f"typed input: loans.parquet {(typed / 'loans.parquet').stat().st_size / 1e6:.1f}"
              f" MB, follow_ups.parquet {(typed / 'follow_ups.parquet').stat().st_size / 1e6:.1f}"
              f" MB (made in {time.perf_counter() - started:.1f} s, not timed below)")
        results = {}
        kinds = ["baseline", *([] if args.typed_only else ["portfolio"]), "portfolio-typed"]
        for kind in kinds:
            out = Path(tmp) / f"{kind}.parquet"
            source = typed if kind == "portfolio-typed" else loans
            extra = ["--memory-limit", args.memory_limit] if args.memory_limit else []
            child = subprocess.run([sys.executable, __file__, "--child", kind, str(source),
                                    str(out), *extra], capture_output=True, text=True,
                                   check=True)
            results[kind] = json.loads(child.stdout.strip().splitlines()[-1])
    base = results["baseline"]
    n = args.loans
    names = {"baseline": "baseline (hand-written Python)",
             "portfolio": "portfolio (records, DuckDB)",
             "portfolio-typed": "portfolio (typed Parquet, DuckDB)"}
    for kind, r in results.items():
        print(f"{names[kind]:34} end to end {r['total']:7.1f} s  {n / r['total']:>11,.0f}"
              f" loans/s   [read+check {r['read']:.1f} s, evaluate {r['sql']:.1f} s,"
              f" write {r['write']:.1f} s]  peak {r['peak_mb']:,.0f} MB"
              f"  ({r['decisions']:,} decisions, {r['actions']:,} actions)")
    for kind in kinds[1:]:
        r = results[kind]
        print(f"{names[kind]} / baseline, end to end: {base['total'] / r['total']:.2f}x the"
              f" baseline's speed; evaluation alone: {n / r['sql']:,.0f} loans/s"
              " (target 1,000,000); end to end target < 10 s for 1M loans"
              + (f"; rows through the per-loan reader: {r['reader']:,}" if "reader" in r
                 else ""))
    if args.memory_limit:
        print(f"typed run with DuckDB memory_limit={args.memory_limit} (spilling to a"
              " temporary directory beyond it)")
    agree = _agrees_with_interpreter(min(n, 1000))
    counts = ", ".join(f"{kind} {r['actions']:,}" for kind, r in results.items())
    print(f"portfolio engine equals Policy.evaluate on the first {min(n, 1000):,} loans: {agree}"
          f" (actions: {counts}; the baseline is a hand-written copy and may lag policy"
          " edits)")
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
