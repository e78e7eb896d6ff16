"""The agreement check of benchmarks/portfolio.py, part 2, on a few hundred loans.

The benchmark prints a speed ratio only when the portfolio engine and the hand-written
if-chain of the 12-rule peer workload give the same (loan, id, status, due, deadline)
rows, read back from the Parquet files its timed child processes wrote. Here the same
functions run in-process: the engine must agree with the if-chain on every loan, and a
single changed row must be caught.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("duckdb", reason="the portfolio extra (duckdb) is not installed")
pytest.importorskip("pyarrow", reason="the portfolio extra (pyarrow) is not installed")

import pyarrow.parquet as pq

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    """benchmarks/portfolio.py as a module (it puts benchmarks/ on sys.path: taken off
    again afterwards, so other tests' imports are as they were)."""
    path = sys.path.copy()
    spec = importlib.util.spec_from_file_location("bench_portfolio", BENCHMARKS / "portfolio.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_portfolio"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path[:] = path
        del sys.modules["bench_portfolio"]


def test_peer_workload_portfolio_engine_equals_the_if_chain(bench: ModuleType,
                                                           tmp_path: Path) -> None:
    loans = tmp_path / "peer.parquet"
    bench.make_peer_parquet(loans, 400)
    ours = bench.run_peer("peer-portfolio", loans, tmp_path / "ours.parquet", 1)
    theirs = bench.run_peer("peer-if-chain", loans, tmp_path / "theirs.parquet", 1)
    assert ours["decisions"] == theirs["decisions"] == 400
    assert ours["rejects"] == ours["interpreter"] == 0  # every loan evaluated in SQL
    rows = bench.peer_rows(tmp_path / "ours.parquet")
    assert len(rows) == ours["actions"] == theirs["actions"] > 400  # most loans fire rules
    assert {row[2] for row in rows} == {"due", "overdue"}
    assert bench.peer_disagreement(rows, bench.peer_rows(tmp_path / "theirs.parquet")) is None


def test_a_changed_row_stops_the_peer_benchmark(bench: ModuleType, tmp_path: Path) -> None:
    loans = tmp_path / "peer.parquet"
    bench.make_peer_parquet(loans, 50)
    bench.run_peer("peer-if-chain", loans, tmp_path / "theirs.parquet", 1)
    rows = bench.peer_rows(tmp_path / "theirs.parquet")
    status = "due" if rows[7][2] == "overdue" else "overdue"
    changed = [*rows[:7], (*rows[7][:2], status, *rows[7][3:]), *rows[8:]]
    problem = bench.peer_disagreement(changed, rows)
    assert problem is not None and problem.startswith("row 7:") and status in problem
    assert bench.peer_disagreement(rows[:-1], rows) is not None
    assert pq.read_table(tmp_path / "theirs.parquet").column_names == list(bench.PEER_COLUMNS)


def test_the_floor_copies_the_actions_file_unchanged(bench: ModuleType, tmp_path: Path) -> None:
    """Part 1's floor times DuckDB re-writing the typed run's actions file: the copy must
    be that very table, or the floor would time less work than the engine's write."""
    import pyarrow as pa

    bench.make_typed_parquet(tmp_path, 40)
    actions = pa.table({"loan_id": ["L1", "L2", "L2"], "id": ["d30", "d30", "d90"],
                        "reasons": [["a"], ["b", "c"], []]})
    pq.write_table(actions, tmp_path / "actions.parquet")
    floor = bench.run_floor(tmp_path, tmp_path / "actions.parquet")
    assert pq.read_table(tmp_path / "floor-copy.parquet").to_pylist() == actions.to_pylist()
    assert all(floor[k] >= 0 for k in ("scan", "group", "copy"))
