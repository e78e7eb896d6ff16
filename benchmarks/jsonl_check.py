"""Reading and checking a JSONL file of head-office loans for the portfolio engine.

    python benchmarks/jsonl_check.py                  # 100,000 loans
    python benchmarks/jsonl_check.py --loans 20000

Three contenders on the same file (the benchmark portfolio with fresh loan ids and nested
``follow_ups``, as ``cli_stream.write_loans`` writes it), one after the other in this
process, each timed from the file on disk to checked values:

- baseline: plain hand-written Python, ``json.loads`` of each line with ``Decimal`` numbers
  and ``head_office_baseline.coerce`` (check and convert every field and entry);
- record path: the portfolio engine's reading before ``engines/portfolio/jsonl.py``,
  ``check_records`` of the records (the policy's snapshot reader) into Arrow tables;
- DuckDB: ``check_jsonl``, the lines split in Python and checked in DuckDB, into the
  ``loans`` and ``follow_ups`` tables the plan reads.

The record path and DuckDB are checked to give the same loans and follow-ups tables
before any time is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import followup_policy  # noqa: F401
except ImportError:  # run from a clone without installing
    sys.path.insert(0, str(HERE.parent / "src"))

import duckdb  # noqa: E402, F401  (imported before timing: every portfolio run needs it)
import pyarrow  # noqa: E402, F401
from cli_stream import write_loans  # noqa: E402
from head_office_baseline import coerce  # noqa: E402
from workload import AS_OF, HEAD_OFFICE, make_portfolio  # noqa: E402

import followup_policy as fp  # noqa: E402
from followup_policy.engines.portfolio.engine import duckdb_session  # noqa: E402
from followup_policy.engines.portfolio.jsonl import check_jsonl, jsonl_file  # noqa: E402
from followup_policy.engines.portfolio.tables import check_records, records_from  # noqa: E402


def baseline(path: Path) -> int:
    count = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                coerce(json.loads(line, parse_float=Decimal))
                count += 1
    return count


def record_path(policy: fp.Policy, path: Path) -> tuple[list[dict], list[dict]]:
    checked = check_records(policy, records_from(path), None, AS_OF)
    return (checked.loans.sort_by("__row").to_pylist(),
            checked.follow_ups.sort_by([("__row", "ascending"), ("__seq", "ascending")])
            .to_pylist())


def in_duckdb(policy: fp.Policy, path: Path) -> tuple[list[dict], list[dict], int]:
    with duckdb_session() as con:
        source = jsonl_file(path)
        assert source is not None
        checked = check_jsonl(con, policy, source, None, AS_OF)
        assert checked is not None
        slow = checked.loans.num_rows + len(checked.rejects) + len(checked.fallback)
        loans = con.sql("SELECT * FROM loans").to_arrow_table().sort_by("__row")
        entries = con.sql("SELECT * FROM follow_ups").to_arrow_table().sort_by(
            [("__row", "ascending"), ("__seq", "ascending")])
        return loans.to_pylist(), entries.to_pylist(), slow


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    args = parser.parse_args()
    policy = fp.load_policy(HEAD_OFFICE)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "loans.jsonl"
        write_loans(path, args.loans, make_portfolio(min(args.loans, 4096)))
        print(f"JSONL read and check, head-office policy: {args.loans:,} loans,"
              f" {path.stat().st_size / 1e6:.1f} MB", flush=True)
        times = {}
        started = time.perf_counter()
        baseline(path)
        times["baseline (json.loads + coerce)"] = time.perf_counter() - started
        started = time.perf_counter()
        expected = record_path(policy, path)
        times["record path (check_records)"] = time.perf_counter() - started
        started = time.perf_counter()
        *actual, slow = in_duckdb(policy, path)
        times["DuckDB (check_jsonl)"] = time.perf_counter() - started
        if tuple(actual) != expected:
            print("ABORT: check_jsonl and the record path give different tables")
            return 1
        base = times["baseline (json.loads + coerce)"]
        for name, seconds in times.items():
            print(f"    {name:32} {seconds:6.1f} s  {seconds * 100_000 / args.loans:6.1f} s per"
                  f" 100k  {args.loans / seconds:>9,.0f} loans/s  {base / seconds:5.2f}x the"
                  " baseline")
        record = times["record path (check_records)"]
        print(f"    DuckDB / record path: {record / times['DuckDB (check_jsonl)']:.2f}x;"
              f" {slow:,} lines left to the reader; the same loans and follow-ups tables")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
