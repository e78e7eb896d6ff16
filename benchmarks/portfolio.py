"""Benchmark of the portfolio engine, in three parts, each against plain hand-written Python
measured in the same run.

Usage::

    python benchmarks/portfolio.py                  # all three parts (about ten minutes on 2 cores)
    python benchmarks/portfolio.py --loans 1000000  # part 1 at the 1M-loan target
    python benchmarks/portfolio.py --peer-only      # part 2 only
    python benchmarks/portfolio.py --cli-only       # part 3 only
    python benchmarks/portfolio.py --head-office-only   # part 1 only

Every contender runs in its own child process, so its peak memory is its own.

Part 2, the 12-rule peer workload (``peer_workload.py``), ``--peer-loans`` loans (default
200,000) as a typed Parquet file: ``evaluate_portfolio`` on it against the hand-written
if-chain reading the same file (pyarrow rows into Python dicts, the chain, the fired
actions built into an Arrow table), best of ``--rounds``; both must give the same (loan,
id, status, due, deadline) on every loan, or the run stops with exit code 1.

Part 3, the command line, ``followup-policy evaluate`` JSONL in, JSONL out on the same file
of ``--cli-loans`` head-office loans (default 50,000) with ``--engine portfolio`` and
``--engine per-loan`` (``--jobs 1`` and ``--jobs 2``), as child processes timed and
sampled by ``cli_stream.run_cli``; the outputs (and rejects) must be the same bytes once
sorted by loan, or the run stops with exit code 1.

Part 1, the head-office policy from Parquet to an actions Parquet file:

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

A "floor" line follows: DuckDB scanning the typed loans, grouping the follow-ups by loan
and action, and copying the actions file the typed run wrote (no evaluation at all), the
least any DuckDB engine writing that file pays.

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
    """Peak resident memory of this process, in MiB: ``VmHWM`` on Linux (``ru_maxrss``
    would start from the parent's peak at fork time), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


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


def run_export(folder: Path, out: Path, memory_limit: str | None) -> dict[str, Any]:
    """The typed files to the actions file with ``export_portfolio``, what ``evaluate -f
    parquet`` runs: DuckDB checks, evaluates and copies; no result table reaches Python."""
    import duckdb  # noqa: F401  (imported before the clock starts, as pyarrow is)
    import pyarrow  # noqa: F401

    from followup_policy.engines.portfolio.export import export_portfolio

    policy = fp.load_policy(HEAD_OFFICE)
    start = time.perf_counter()
    done = export_portfolio(policy, folder / "loans.parquet", folder / "follow_ups.parquet",
                            actions=out, as_of=AS_OF, memory_limit=memory_limit)
    total = time.perf_counter() - start
    return {"read": float("nan"), "sql": total, "write": float("nan"), "total": total,
            "actions": done.counts["actions"], "decisions": done.counts["decisions"],
            "rejects": done.counts["rejected"], "peak_mb": _peak_mb()}


def run_floor(folder: Path, actions: Path) -> dict[str, Any]:
    """What any engine writing this actions file with DuckDB pays before evaluating
    anything: the typed inputs scanned, the follow-ups grouped by loan and action (the
    least a history needs), and the actions file (made by the typed run) copied to a new
    Parquet file. Not a contender: the floor under "end to end < 10 s"."""
    import duckdb

    def timed(sql: str) -> float:
        started = time.perf_counter()
        con.execute(sql).fetchall()
        return time.perf_counter() - started

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    loans, follow_ups = (str(folder / "loans.parquet"), str(folder / "follow_ups.parquet"))
    copy = actions.with_name("floor-copy.parquet")
    return {
        "scan": timed(f"SELECT count(*), max(loan_id), max(disbursement_date)"
                      f" FROM read_parquet('{loans}')"),
        "group": timed(f"SELECT count(*) FROM (SELECT loan_id, action, max(date)"
                       f" FROM read_parquet('{follow_ups}') GROUP BY ALL)"),
        "copy": timed(f"COPY (SELECT * FROM read_parquet('{actions}')) TO '{copy}'"
                      " (FORMAT parquet)"),
        "peak_mb": _peak_mb()}


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


# -- part 2: the 12-rule peer workload -----------------------------------------------------

PEER_COLUMNS = ("loan_id", "id", "status", "due_date", "deadline")
"""What both contenders of part 2 must agree on, row for row: one row per fired rule."""


def peer_policy() -> Any:
    import peer_workload as peer

    return fp.loads_policy(peer.POLICY, "peer_workload.yaml")


def make_peer_parquet(path: Path, count: int) -> None:
    """``peer_workload.make_loans`` as a typed Parquet file, each field with its policy
    type: ints as int64, decimals as decimal(18,2), enum as text, bool, dates as dates."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from peer_workload import make_loans

    types = {"int": pa.int64(), "decimal": pa.decimal128(18, 2), "enum": pa.string(),
             "bool": pa.bool_(), "string": pa.string()}
    loans = make_loans(count)
    columns = {"loan_id": pa.array([loan["loan_id"] for loan in loans], type=pa.string()),
               "disbursement_date": pa.array([date.fromisoformat(loan["disbursement_date"])
                                              for loan in loans], type=pa.date32())}
    for name, spec in peer_policy().document.fields.items():
        columns[name] = pa.array([loan[name] for loan in loans], type=types[spec.type])
    pq.write_table(pa.table(columns), path)


def peer_if_chain(path: Path) -> tuple[Any, dict[str, float]]:
    """The if-chain's whole job, timed: the Parquet rows into Python dicts (what the chain
    takes), the chain on each, the fired actions built into an Arrow table (what
    ``evaluate_portfolio`` hands back)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from peer_workload import AS_OF as PEER_AS_OF
    from peer_workload import baseline

    start = time.perf_counter()
    rows = pq.read_table(path).to_pylist()
    read = time.perf_counter()
    loan_ids: list[str] = []
    ids: list[str] = []
    statuses: list[str] = []
    dues: list[date] = []
    deadlines: list[date] = []
    for loan in rows:
        for rule_id, status, due, deadline in baseline(loan, PEER_AS_OF):
            loan_ids.append(loan["loan_id"])
            ids.append(rule_id)
            statuses.append(status)
            dues.append(due)
            deadlines.append(deadline)
    chained = time.perf_counter()
    table = pa.table({"loan_id": pa.array(loan_ids, type=pa.string()),
                      "id": pa.array(ids, type=pa.string()),
                      "status": pa.array(statuses, type=pa.string()),
                      "due_date": pa.array(dues, type=pa.date32()),
                      "deadline": pa.array(deadlines, type=pa.date32())})
    end = time.perf_counter()
    return table, {"read": read - start, "chain": chained - read, "build": end - chained,
                   "total": end - start, "decisions": len(rows)}


def peer_portfolio(path: Path, policy: Any) -> tuple[Any, dict[str, float]]:
    """``evaluate_portfolio`` on the same Parquet file, timed from the path to the result
    tables (the DuckDB session, the SQL check of the typed columns and the plan's SQL)."""
    from peer_workload import AS_OF as PEER_AS_OF

    start = time.perf_counter()
    result = policy.evaluate_portfolio(path, as_of=PEER_AS_OF)
    end = time.perf_counter()
    return result.actions.select(list(PEER_COLUMNS)), {
        "total": end - start, "decisions": result.decisions.num_rows,
        "rejects": len(result.rejects), "interpreter": len(result.per_loan)}


def run_peer(kind: str, path: Path, out: Path, rounds: int) -> dict[str, Any]:
    """One contender of part 2, best of ``rounds``; its last rows kept in ``out`` for the
    agreement check (untimed)."""
    import duckdb  # noqa: F401  (imported before the clock starts)
    import pyarrow.parquet as pq

    policy = peer_policy()
    best: dict[str, Any] = {}
    table = None
    for _ in range(rounds):
        if kind == "peer-portfolio":
            table, timing = peer_portfolio(path, policy)
        else:
            table, timing = peer_if_chain(path)
        if not best or timing["total"] < best["total"]:
            best = timing
    assert table is not None
    pq.write_table(table, out)
    return {**best, "actions": table.num_rows, "peak_mb": _peak_mb()}


def peer_rows(path: Path) -> list[tuple[Any, ...]]:
    """A contender's (loan, id, status, due, deadline) rows, sorted."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=list(PEER_COLUMNS))
    return sorted(zip(*(table.column(name).to_pylist() for name in PEER_COLUMNS),
                      strict=True))


def peer_disagreement(ours: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]]
                      ) -> str | None:
    """Where the portfolio engine's rows and the if-chain's first differ, or None."""
    if ours == theirs:
        return None
    for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return f"row {index:,}: portfolio {a} != if-chain {b}"
    return f"portfolio {len(ours):,} rows, if-chain {len(theirs):,} rows"


def bench_peer(folder: Path, count: int, rounds: int) -> bool:
    path = folder / "peer.parquet"
    started = time.perf_counter()
    make_peer_parquet(path, count)
    print(f"[2] 12-rule peer workload: {count:,} loans, typed Parquet"
          f" {path.stat().st_size / 1e6:.1f} MB (made in {time.perf_counter() - started:.1f} s,"
          f" not timed); best of {rounds} rounds per contender", flush=True)
    results = {kind: _run_child(kind, path, folder / f"{kind}.parquet", rounds=rounds)
               for kind in ("peer-if-chain", "peer-portfolio")}
    portfolio, chain = results["peer-portfolio"], results["peer-if-chain"]
    problem = peer_disagreement(peer_rows(folder / "peer-portfolio.parquet"),
                                peer_rows(folder / "peer-if-chain.parquet"))
    if problem is None and portfolio["decisions"] != count:
        problem = f"the portfolio engine decided {portfolio['decisions']:,} of {count:,} loans"
    if problem is not None:
        print(f"ABORT: the portfolio engine and the if-chain disagree on the peer workload:"
              f" {problem}. They are not doing the same work, so no ratio is printed;"
              " fix the engine or peer_workload.baseline, then rerun.")
        return False
    speed, chain_speed = count / portfolio["total"], count / chain["total"]
    ratio = speed / chain_speed
    print(f"    portfolio engine (evaluate_portfolio, DuckDB)  {portfolio['total']:6.2f} s"
          f"  {speed:>10,.0f} loans/s  peak {portfolio['peak_mb']:,.0f} MB"
          f"  ({portfolio['actions']:,} actions; {portfolio['interpreter']:,} loans through"
          f" the interpreter, {portfolio['rejects']:,} rejects)")
    print(f"    hand-written if-chain                          {chain['total']:6.2f} s"
          f"  {chain_speed:>10,.0f} loans/s  peak {chain['peak_mb']:,.0f} MB"
          f"  [Parquet -> dicts {chain['read']:.2f} s, chain {chain['chain']:.2f} s,"
          f" Arrow table {chain['build']:.2f} s]")
    print(f"    portfolio / if-chain: {ratio:.2f}x the if-chain's loans/s (target >= 1x):"
          f" {_verdict(ratio >= 1)}; same (loan, id, status, due, deadline) on all"
          f" {count:,} loans ({portfolio['actions']:,} actions)")
    return True


# -- part 3: the command line, JSONL in and out ---------------------------------------------


def bench_cli(folder: Path, count: int) -> bool:
    from cli_stream import run_cli, write_loans

    path = folder / "cli-loans.jsonl"
    started = time.perf_counter()
    write_loans(path, count, make_portfolio(min(count, 4096)))
    print(f"[3] command line, head-office policy: {count:,} loans, JSONL"
          f" {path.stat().st_size / 1e6:.1f} MB (made in {time.perf_counter() - started:.1f} s,"
          " not timed); followup-policy evaluate FILE -o OUT.jsonl as a child process, one"
          " run each, wall clock from start to exit", flush=True)
    contenders = {"portfolio": ("portfolio", 1), "per-loan": ("per-loan", 1),
                  "per-loan --jobs 2": ("per-loan", 2)}
    runs = {}
    files = {name: (folder / f"cli-{engine}-{jobs}.jsonl",
                    folder / f"cli-{engine}-{jobs}.rejects.jsonl")
             for name, (engine, jobs) in contenders.items()}
    for name, (engine, jobs) in contenders.items():
        out, rejects = files[name]
        runs[name] = run_cli(HEAD_OFFICE, path, count, jobs, AS_OF.isoformat(),
                             options=("--engine", engine, "--rejects", str(rejects)),
                             out_file=out)
    for name, (out, rejects) in files.items():
        problem = cli_disagreement(out, rejects, *files["per-loan"])
        if problem is not None:
            print(f"ABORT: --engine {name} and --engine per-loan write different results:"
                  f" {problem}; no ratio is printed.")
            return False
    base = runs["per-loan"]
    for name, run in runs.items():
        rejected = _count_lines(files[name][1])
        print(f"    --engine {name:18} {run.seconds:7.1f} s  {count / run.seconds:>8,.0f}"
              f" loans/s  peak {run.peak_mb:,.0f} MB (command + workers; first half"
              f" {run.peak_quarter_mb:,.0f} MB)  {run.output_lines:,} decisions,"
              f" {rejected:,} rejects")
    ratio = base.seconds / runs["portfolio"].seconds
    jobs2 = runs["per-loan --jobs 2"].seconds / runs["portfolio"].seconds
    print(f"    portfolio / per-loan: {ratio:.2f}x the per-loan engine's loans/s (target"
          f" >= 4x): {_verdict(ratio >= 4)}; {jobs2:.2f}x per-loan --jobs 2; the same"
          " decisions and rejects, byte for byte once sorted by loan")
    return True


def cli_disagreement(out: Path, rejects: Path, other_out: Path, other_rejects: Path
                     ) -> str | None:
    """How two runs' outputs differ once sorted by loan (decisions, then rejects), or None."""
    ours, theirs = _lines_by_loan(out), _lines_by_loan(other_out)
    if ours != theirs:
        missing = sorted(set(ours) ^ set(theirs))[:3]
        if missing:
            return f"{len(set(ours) ^ set(theirs)):,} loans in one output only, e.g. {missing}"
        loan = next(k for k in sorted(ours) if ours[k] != theirs[k])
        return f"loan {loan}'s decision differs"
    if _lines_by_loan(rejects, key="index") != _lines_by_loan(other_rejects, key="index"):
        return "the rejects differ"
    return None


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def _lines_by_loan(path: Path, key: str = "loan_id") -> dict[Any, bytes]:
    """Each line's digest by its loan (or record index); the lines are not kept."""
    import hashlib

    lines: dict[Any, bytes] = {}
    with path.open("rb") as handle:
        for line in handle:
            lines[json.loads(line)[key]] = hashlib.sha256(line.rstrip(b"\n")).digest()
    return lines


# -- running it -----------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _run_child(kind: str, source: Path, out: Path, rounds: int = 1,
               memory_limit: str | None = None) -> dict[str, Any]:
    extra = ["--memory-limit", memory_limit] if memory_limit else []
    child = subprocess.run([sys.executable, __file__, "--child", kind, str(source), str(out),
                            "--rounds", str(rounds), *extra], capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(f"ABORT: the {kind} run failed:\n{child.stderr.strip()}")
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def _child(kind: str, loans: str, out: str, memory_limit: str | None, rounds: int) -> None:
    if kind.startswith("peer-"):
        print(json.dumps(run_peer(kind, Path(loans), Path(out), rounds)))
        return
    if kind == "portfolio-typed":
        print(json.dumps(run_typed(Path(loans), Path(out), memory_limit)))
        return
    if kind == "portfolio-export":
        print(json.dumps(run_export(Path(loans), Path(out), memory_limit)))
        return
    if kind == "floor":
        print(json.dumps(run_floor(Path(loans), Path(out))))
        return
    runner = run_portfolio if kind == "portfolio" else run_baseline
    print(json.dumps(runner(Path(loans), Path(out))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=200_000, help="part 1's loans")
    parser.add_argument("--peer-loans", type=int, default=200_000, help="part 2's loans")
    parser.add_argument("--cli-loans", type=int, default=50_000, help="part 3's loans")
    parser.add_argument("--rounds", type=int, default=3,
                        help="part 2: best of this many rounds per contender")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--head-office-only", action="store_true", help="run part 1 only")
    only.add_argument("--peer-only", action="store_true", help="run part 2 only")
    only.add_argument("--cli-only", action="store_true", help="run part 3 only")
    parser.add_argument("--typed-only", action="store_true",
                        help="part 1: leave out the record-by-record portfolio run")
    parser.add_argument("--memory-limit",
                        help="part 1: DuckDB memory limit of the typed run, e.g. 1GB")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "LOANS", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child, args.memory_limit, args.rounds)
        return 0
    chosen = {"head-office": args.head_office_only, "peer": args.peer_only,
              "cli": args.cli_only}
    parts = [name for name, on in chosen.items() if on] or list(chosen)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python"
          f" {platform.python_version()}, DuckDB {_version('duckdb')}, pyarrow"
          f" {_version('pyarrow')}; load average {_load()} at the start")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "head-office" in parts:
            ok = bench_head_office(folder, args) and ok
        if "peer" in parts:
            ok = bench_peer(folder, args.peer_loans, args.rounds) and ok
        if "cli" in parts:
            ok = bench_cli(folder, args.cli_loans) and ok
    print(f"load average {_load()} at the end")
    return 0 if ok else 1


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _load() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def bench_head_office(folder: Path, args: argparse.Namespace) -> bool:
    """Part 1: the head-office policy, Parquet in, actions Parquet out, against
    ``head_office_baseline.py``; True when the engine equals ``Policy.evaluate``."""
    print(f"[1] head-office policy: {args.loans:,} loans, Parquet in, actions Parquet out",
          flush=True)
    loans = folder / "loans.parquet"
    started = time.perf_counter()
    make_parquet(loans, args.loans)
    print(f"input: {loans.stat().st_size / 1e6:.1f} MB Parquet"
          f" (made in {time.perf_counter() - started:.1f} s, not timed below)")
    typed = folder / "typed"
    typed.mkdir()
    started = time.perf_counter()
    make_typed_parquet(typed, args.loans)
    print(f"typed input: loans.parquet {(typed / 'loans.parquet').stat().st_size / 1e6:.1f}"
          f" MB, follow_ups.parquet {(typed / 'follow_ups.parquet').stat().st_size / 1e6:.1f}"
          f" MB (made in {time.perf_counter() - started:.1f} s, not timed below)", flush=True)
    results = {}
    kinds = ["baseline", *([] if args.typed_only else ["portfolio"]), "portfolio-typed",
             "portfolio-export"]
    for kind in kinds:
        source = typed if kind.startswith(("portfolio-typed", "portfolio-export")) else loans
        results[kind] = _run_child(kind, source, folder / f"{kind}.parquet",
                                   memory_limit=args.memory_limit)
    base = results["baseline"]
    n = args.loans
    names = {"baseline": "baseline (hand-written Python)",
             "portfolio": "portfolio (records, DuckDB)",
             "portfolio-typed": "portfolio (typed Parquet, DuckDB)",
             "portfolio-export": "portfolio (typed, export_portfolio)"}
    for kind, r in results.items():
        split = (f"[read+check {r['read']:.1f} s, evaluate {r['sql']:.1f} s,"
                 f" write {r['write']:.1f} s]" if kind != "portfolio-export" else
                 "[check, evaluate and COPY to Parquet, all in DuckDB]")
        print(f"{names[kind]:37} end to end {r['total']:7.1f} s  {n / r['total']:>11,.0f}"
              f" loans/s   {split}  peak {r['peak_mb']:,.0f} MB"
              f"  ({r['decisions']:,} decisions, {r['actions']:,} actions)")
    for kind in kinds[1:]:
        r = results[kind]
        alone = ("" if kind == "portfolio-export" else
                 f"; evaluation alone: {n / r['sql']:,.0f} loans/s (target 1,000,000)")
        print(f"{names[kind]} / baseline, end to end: {base['total'] / r['total']:.2f}x the"
              f" baseline's speed{alone}; end to end target < 10 s for 1M loans"
              + (f"; rows through the per-loan reader: {r['reader']:,}" if "reader" in r
                 else ""))
    print("the export's actions file equals the typed run's:",
          _same_parquet(folder / "portfolio-export.parquet", folder / "portfolio-typed.parquet"))
    floor = _run_child("floor", typed, folder / "portfolio-typed.parquet")
    least = floor["scan"] + floor["group"] + floor["copy"]
    print(f"floor (no evaluation, DuckDB): scan the loans {floor['scan']:.1f} s, group the"
          f" follow-ups by loan and action {floor['group']:.1f} s, copy the actions file"
          f" {floor['copy']:.1f} s: {least:.1f} s, {n / least:,.0f} loans/s before any"
          " condition is evaluated")
    if args.memory_limit:
        print(f"typed run with DuckDB memory_limit={args.memory_limit} (spilling to a"
              " temporary directory beyond it)")
    agree = _agrees_with_interpreter(min(n, 1000))
    counts = ", ".join(f"{kind} {r['actions']:,}" for kind, r in results.items())
    print(f"portfolio engine equals Policy.evaluate on the first {min(n, 1000):,} loans: {agree}"
          f" (actions: {counts}; the baseline is a hand-written copy and may lag policy"
          " edits)", flush=True)
    return agree


def _same_parquet(a: Path, b: Path) -> bool:
    import pyarrow.parquet as pq

    return bool(pq.read_table(a).equals(pq.read_table(b)))


def _agrees_with_interpreter(count: int) -> bool:
    from followup_policy.engines.portfolio import evaluate_portfolio

    policy = fp.load_policy(HEAD_OFFICE)
    loans = [json.loads(line) for line in make_portfolio(count)]
    result = evaluate_portfolio(policy, loans, as_of=AS_OF)
    return [d.model_dump_json() for d in result.items()] == [  # type: ignore[union-attr]
        policy.evaluate(loan, as_of=AS_OF).model_dump_json() for loan in loans]


if __name__ == "__main__":
    sys.exit(main())
