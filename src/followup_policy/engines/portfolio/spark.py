"""Running the compiled statements on Spark (a cluster, or local mode in tests).

The same SQL text as DuckDB, spelt by the Spark dialect; the checked input tables are
handed to Spark as Arrow. Decimal arithmetic is made exact
(``spark.sql.decimalOperations.allowPrecisionLoss=false``): Spark otherwise rounds
products to fit DECIMAL(38), where the interpreter does not.

Why Spark needs care with these statements (measured in local mode on the head-office
policy, see docs/portfolio.md): they are wide (hundreds of CASE columns) and the
``actions``/``findings`` statements are a ``UNION ALL`` of about a hundred SELECTs.

- Catalyst's constraint propagation infers filters from every CASE column of every
  branch; it took most of the planning time (40 s of 45 s for ``findings``). It only adds
  redundant filters, so it is switched off (``SPARK_CONF``).
- A union of N branches over a table of P partitions runs as N x P tasks, and every task
  deserializes the whole stage (all N branches' expressions): quadratic in the policy's
  size. The union is coalesced back to P partitions (no shuffle): P tasks, each reading
  its share of every branch.
- ``entries``, ``evaluated`` and ``flagged`` are read many times; each is computed once
  and its plan cut off (a local checkpoint), so later statements plan against a small leaf.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._require import require
from .plan import FINDINGS_ORDERED, MATERIALIZED, PolicySql
from .tables import CheckedInput

__all__ = ["LOCAL_CONF", "SPARK_CONF", "local_session", "run_spark", "spark_input"]

SPARK_CONF = {
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.constraintPropagation.enabled": "false",
}
"""Settings every session running a policy needs (also shown in docs/portfolio.md)."""

LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    # a few thousand loans: compiling the wide expressions to Java (Janino, once per
    # union branch) costs more than interpreting them
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.driver.memory": "2g",
}
"""Settings of :func:`local_session` (tests, examples): small data on one machine."""

_UNIONS = frozenset({"actions", "findings"})


def local_session(master: str = "local[2]") -> Any:
    """A small local-mode session (tests, examples); clusters pass their own.

    ``spark.driver.memory`` applies only if this call starts the JVM; a session already
    running in the process is reused as it is (with ``SPARK_CONF`` set on it).
    """
    sql = require("pyspark.sql")
    builder = sql.SparkSession.builder.master(master).appName("followup-policy")
    for key, value in {**LOCAL_CONF, **SPARK_CONF}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def run_spark(plan: PolicySql, checked: CheckedInput, spark: Any = None
              ) -> tuple[Any, Any, Any]:
    """The decisions, actions and findings tables, computed by Spark, as Arrow."""
    # a session of its own (same SparkContext): the caller's temporary views named
    # loans, actions ... stay untouched, and runs in several threads do not collide
    session = (spark if spark is not None else local_session()).newSession()
    for key, value in SPARK_CONF.items():
        session.conf.set(key, value)
    session.createDataFrame(checked.loans).createOrReplaceTempView("loans")
    session.createDataFrame(checked.follow_ups).createOrReplaceTempView("follow_ups")
    partitions = 1
    try:
        for statement in plan.statements:
            frame = session.sql(statement.sql)
            if statement.name in MATERIALIZED:
                # computed once, its plan cut off: the statements after it stay small to plan
                frame = frame.localCheckpoint()
                if statement.name == "evaluated":
                    partitions = max(1, frame.rdd.getNumPartitions())
            elif statement.name in _UNIONS:
                frame = frame.coalesce(partitions)
            frame.createOrReplaceTempView(statement.name)
        actions = session.sql("SELECT * FROM actions ORDER BY __row, deadline, id").toArrow()
        findings = session.sql(FINDINGS_ORDERED).toArrow()
        decisions = session.sql("SELECT * FROM decisions ORDER BY __row").toArrow()
    finally:
        for name in ("loans", "follow_ups", *(s.name for s in plan.statements)):
            session.catalog.dropTempView(name)
    return decisions, actions, findings


def spark_input(source: Any, session: Any) -> Any:
    """A Spark table name or DataFrame as an Arrow table; any other input as it is.

    On ``backend="spark"`` a string that names no existing file is a table or view name
    (``db.loans``, a temporary view), read with ``session.table``. Its rows come to the
    driver, where the policy's reader checks every record (the same rejects as the
    per-loan path); the evaluation itself runs in Spark SQL.
    """
    if isinstance(source, str) and not Path(source).exists():
        return session.table(source).toArrow()
    if hasattr(source, "sparkSession") and hasattr(source, "toArrow"):  # a Spark DataFrame
        return source.toArrow()
    return source
