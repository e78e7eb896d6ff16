"""The portfolio engine on PySpark local mode against ``Policy.evaluate``.

The same differential test as tests/test_portfolio_differential.py runs on DuckDB, here
for every shipped policy on a sample of examples/portfolio.jsonl (loans with follow-up
history included: SPEC 5.1 completion runs in Spark SQL too); the head office reads its
input from Spark tables (temporary views) by name. One SparkSession for the module:
starting the JVM costs seconds. Skipped only where Java is absent (.ci/run installs the
spark extra), saying why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import followup_policy as fp
from followup_policy.engines.portfolio import evaluate_portfolio
from followup_policy.records import read_records

from .conftest import PORTFOLIO
from .test_portfolio_differential import AS_OF, SHIPPED, _expected

pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")

SAMPLE = 24
"""Loans per policy: Spark's cost here is planning the statements, not the row count."""


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if _java() is None:
        pytest.skip("Java is not installed (no java on PATH, no JAVA_HOME): PySpark local"
                    " mode needs a JVM")
    from followup_policy.engines.portfolio.spark import local_session

    session = local_session()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _sample() -> list[Any]:
    with open(PORTFOLIO, encoding="utf-8") as stream:
        return [r.data for r in read_records(stream, "jsonl")][:SAMPLE]


def _arrow(rows: list[dict[str, Any]]) -> Any:
    """Rows with different keys as one Arrow table (a missing key is null)."""
    import pyarrow as pa

    names = list(dict.fromkeys(k for row in rows for k in row))
    return pa.Table.from_pylist([{n: row.get(n) for n in names} for row in rows])


def _decisions(result: Any) -> list[str]:
    return [item.model_dump_json() for item in result.items()]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: Path(p).stem)
def test_shipped_policies_agree_on_spark(spark: Any, path: Path) -> None:
    policy = fp.load_policy(path)
    records = _sample()
    assert any(r.get("follow_ups") for r in records)  # history is evaluated in SQL
    if path.stem == "head_office":  # the head office reads its input from Spark tables
        result = _from_views(spark, policy, records)
    else:
        result = evaluate_portfolio(policy, records, as_of=AS_OF, backend="spark",
                                    spark=spark)
    assert not result.per_loan  # every loan went through Spark SQL, none to the interpreter
    assert _decisions(result) == _expected(policy, records, AS_OF)


def _from_views(spark: Any, policy: fp.Policy, records: list[Any]) -> Any:
    """Loans and follow-ups as temporary views, named like warehouse tables: a table
    name is input like a file (each view read once, its rows checked by the reader)."""
    loans = [{k: v for k, v in r.items() if k != "follow_ups"} for r in records]
    history = [{"loan_id": r["loan_id"], **entry}
               for r in records for entry in r.get("follow_ups", [])]
    spark.createDataFrame(_arrow(loans)).createOrReplaceTempView("book_loans")
    spark.createDataFrame(_arrow(history)).createOrReplaceTempView("book_follow_ups")
    try:
        result = evaluate_portfolio(policy, "book_loans", "book_follow_ups", as_of=AS_OF,
                                    backend="spark", spark=spark)
        # the engine works in a session of its own: the caller's views are untouched
        # and none of its statements (loans, evaluated ...) is left behind
        assert spark.catalog.tableExists("book_loans")
        assert not spark.catalog.tableExists("evaluated")
    finally:
        spark.catalog.dropTempView("book_loans")
        spark.catalog.dropTempView("book_follow_ups")
    assert [d["loan_id"] for d in result.decisions.to_pylist()] == [r["loan_id"]
                                                                     for r in loans]
    return result
