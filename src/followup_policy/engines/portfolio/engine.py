"""Running a policy over a whole portfolio on DuckDB (embedded) or Spark.

``evaluate_portfolio`` checks the input records (see :mod:`.tables`), runs the SQL
of :mod:`.plan` and returns a :class:`PortfolioResult`. The interpreter evaluates
only the records SQL cannot hold exactly, so results are always the interpreter's.
"""

from __future__ import annotations

import tempfile
from datetime import date
from typing import Any, Literal

from ...evaluation import evaluate
from ...policy import Policy
from ._require import require
from .conditions import Unsupported
from .dialect import DUCKDB, SPARK
from .plan import FINDINGS_ORDERED, MATERIALIZED, PolicySql, compile_policy_sql
from .results import PortfolioResult, with_per_loan_rows
from .tables import CheckedInput, check_records, records_from

__all__ = ["Backend", "evaluate_portfolio", "policy_sql", "run_checked"]

Backend = Literal["duckdb", "spark"]




def policy_sql(policy: Policy, dialect: str = "duckdb") -> PolicySql:
    """The SQL statements of ``policy`` for ``dialect`` (raises ``Unsupported``)."""
    return compile_policy_sql(policy, SPARK if dialect == "spark" else DUCKDB)


def evaluate_portfolio(policy: Policy, loans: Any, follow_ups: Any = None, *,
                       as_of: date | None = None, default_as_of: date | None = None,
                       backend: Backend = "duckdb", spark: Any = None) -> PortfolioResult:
    """Evaluate every loan of ``loans`` (see :func:`.tables.records_from` for the forms
    accepted) on ``as_of`` (default: each snapshot's own ``as_of``).

    Raises :class:`Unsupported` for a policy the SQL compiler cannot translate exactly
    (also, on DuckDB, when a condition's decimal arithmetic overflows ``DECIMAL(38)`` on
    the given data: evaluate such a portfolio per loan) and :class:`MissingExtra` when the
    backend is not installed.
    """
    plan = policy_sql(policy, backend)  # refuse before reading any input
    checked = check_records(policy, records_from(loans, follow_ups), as_of, default_as_of,
                            history_in_sql=backend != "spark")
    return run_checked(policy, plan, checked, backend, spark)


def run_checked(policy: Policy, plan: PolicySql, checked: CheckedInput, backend: Backend,
                spark: Any = None) -> PortfolioResult:
    if backend == "spark":
        from .spark import run_spark

        tables = run_spark(plan, checked, spark)
    else:
        tables = _run_duckdb(plan, checked)
    per_loan = {index: evaluate(policy, snapshot, on)
                for index, snapshot, on in checked.fallback}
    decisions, actions, findings = with_per_loan_rows(tables, per_loan)
    return PortfolioResult(decisions, actions, findings, checked.rejects, per_loan)


def _run_duckdb(plan: PolicySql, checked: CheckedInput) -> tuple[Any, Any, Any]:
    duckdb = require("duckdb")
    with tempfile.TemporaryDirectory(prefix="followup-policy-") as spill:
        con = duckdb.connect(config={"temp_directory": spill,
                                     "preserve_insertion_order": False})
        try:
            con.register("loans", checked.loans)
            con.register("follow_ups", checked.follow_ups)
            for statement in plan.statements:
                if statement.name in MATERIALIZED:
                    con.execute(f"CREATE TEMPORARY TABLE {statement.name} AS {statement.sql}")
                else:
                    con.execute(f"CREATE TEMPORARY VIEW {statement.name} AS {statement.sql}")
            actions = _arrow(con, "SELECT * FROM actions ORDER BY __row, deadline, id")
            findings = _arrow(con, FINDINGS_ORDERED)
            decisions = _arrow(con, "SELECT * FROM decisions ORDER BY __row")
        except duckdb.OutOfRangeException as exc:
            # DECIMAL(38) arithmetic the interpreter's decimals hold exactly: a result
            # from SQL would be wrong or missing, so this policy and data go per loan
            raise Unsupported("a condition's decimal arithmetic does not fit DuckDB's"
                              f" 38-digit decimals on this data ({_first_line(exc)})") from None
        finally:
            con.close()
    return decisions, actions, findings


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


def _arrow(con: Any, sql: str) -> Any:
    """A query's result as an Arrow table, on DuckDB 1.x and 2.x alike."""
    relation = con.sql(sql)
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch()


def is_supported(policy: Policy) -> str | None:
    """None if the portfolio engine can evaluate ``policy``; else why not."""
    try:
        policy_sql(policy)
    except Unsupported as exc:
        return str(exc)
    return None
