"""The shipped policies on PySpark local mode give the interpreter's decisions.

Skipped only where Java (which Spark needs) is absent, saying so.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java and no 'java' is on PATH", allow_module_level=True)

import followup_policy as fp
from followup_policy.engines.portfolio import evaluate_portfolio
from followup_policy.engines.portfolio.spark import local_session
from followup_policy.records import read_records

from .conftest import PORTFOLIO, ROOT

SHIPPED = sorted([ROOT / "policies" / "head_office.yaml",
                  *(ROOT / "policies" / "branches").glob("*.yaml")])
AS_OF = date(2026, 11, 28)
LOANS = 40  # a sample that still meets every node, tier and rule of the shipped policies


@pytest.fixture(scope="module")
def spark() -> Any:
    session = local_session()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def loans() -> list[Any]:
    with open(PORTFOLIO, encoding="utf-8") as stream:
        records = [r.data for r in read_records(stream, "jsonl")]
    return records[:LOANS] + [{"loan_id": "BAD", "disbursement_date": "2026-02-30"}]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: Path(p).stem)
def test_shipped_policy_on_spark_matches_the_interpreter(spark: Any, loans: list[Any],
                                                         path: Path) -> None:
    policy = fp.load_policy(path)
    result = evaluate_portfolio(policy, loans, as_of=AS_OF, backend="spark", spark=spark)
    actual = [getattr(item, "error", None) or item.model_dump_json()  # type: ignore[union-attr]
              for item in result.items()]
    expected = []
    for loan in loans:
        try:
            expected.append(policy.evaluate(loan, as_of=AS_OF).model_dump_json())
        except fp.SnapshotError as exc:
            expected.append(str(exc))
    assert actual == expected
