"""Running the compiled statements on Spark (a cluster, or local mode in tests).

The same SQL text as DuckDB, spelt by the Spark dialect; the checked input tables are
handed to Spark as Arrow. Decimal arithmetic is made exact
(``spark.sql.decimalOperations.allowPrecisionLoss=false``): Spark otherwise rounds
products to fit DECIMAL(38), where the interpreter does not.
"""

from __future__ import annotations

from typing import Any

from ._require import require
from .plan import FINDINGS_ORDERED, MATERIALIZED, PolicySql
from .tables import CheckedInput

__all__ = ["SPARK_CONF", "local_session", "run_spark"]

SPARK_CONF = {
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
"""Settings every session running a policy needs (also shown in docs/portfolio.md)."""



def local_session() -> Any:
    """A small local-mode session (tests, examples); clusters pass their own."""
    sql = require("pyspark.sql")
    builder = sql.SparkSession.builder.master("local[2]").appName("followup-policy")
    builder = builder.config("spark.ui.enabled", "false")
    builder = builder.config("spark.sql.shuffle.partitions", "2")
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def run_spark(plan: PolicySql, checked: CheckedInput, spark: Any = None
              ) -> tuple[Any, Any, Any]:
    """The decisions, actions and findings tables, computed by Spark, as Arrow."""
    session = spark if spark is not None else local_session()
    for key, value in SPARK_CONF.items():
        session.conf.set(key, value)
    session.createDataFrame(checked.loans).createOrReplaceTempView("loans")
    session.createDataFrame(checked.follow_ups).createOrReplaceTempView("follow_ups")
    for statement in plan.statements:
        frame = session.sql(statement.sql)
        if statement.name in MATERIALIZED:
            # computed once, its plan cut off: the statements after it stay small to plan
            frame = frame.localCheckpoint()
        frame.createOrReplaceTempView(statement.name)
    actions = session.sql("SELECT * FROM actions ORDER BY __row, deadline, id").toArrow()
    findings = session.sql(FINDINGS_ORDERED).toArrow()
    decisions = session.sql("SELECT * FROM decisions ORDER BY __row").toArrow()
    for name in MATERIALIZED:
        session.catalog.dropTempView(name)
    return decisions, actions, findings
