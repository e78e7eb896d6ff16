"""Running a policy over a whole portfolio on DuckDB (embedded) or Spark.

``evaluate_portfolio`` checks the input records (see :mod:`.tables`), runs the SQL
of :mod:`.plan` and returns a :class:`PortfolioResult`. The interpreter evaluates
only the records SQL cannot hold exactly, so results are always the interpreter's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Literal

from ...decisions import Decision
from ...evaluation import evaluate
from ...policy import Policy
from ._require import require
from .conditions import Unsupported
from .dialect import DUCKDB, SPARK
from .jsonl import JsonlFile, check_jsonl, is_jsonl_path, jsonl_file
from .plan import FINDINGS_ORDERED, MATERIALIZED, OUTPUTS, PolicySql, compile_policy_sql
from .results import PortfolioResult, with_per_loan_rows
from .tables import CheckedInput, FollowUpTable, check_records, records_from
from .typed import check_typed, typed_source

__all__ = ["Backend", "duckdb_session", "evaluate_portfolio", "evaluate_typed", "policy_sql",
           "run_checked"]

Backend = Literal["duckdb", "spark"]




def policy_sql(policy: Policy, dialect: str = "duckdb") -> PolicySql:
    """The SQL statements of ``policy`` for ``dialect`` (raises ``Unsupported``)."""
    return compile_policy_sql(policy, SPARK if dialect == "spark" else DUCKDB)


def evaluate_portfolio(policy: Policy, loans: Any, follow_ups: Any = None, *,
                       as_of: date | None = None, default_as_of: date | None = None,
                       backend: Backend = "duckdb", spark: Any = None,
                       connection: Any = None, memory_limit: str | None = None,
                       temp_directory: str | Path | None = None) -> PortfolioResult:
    """Evaluate every loan of ``loans`` (see :func:`.tables.records_from` for the forms
    accepted; on Spark also a table/view name or a Spark DataFrame, see
    :func:`.spark.spark_input`) on ``as_of`` (default: each snapshot's own ``as_of``).

    With ``connection`` (a DuckDB connection), ``loans`` and ``follow_ups`` may also be
    names of tables or views of its database; the SQL runs on a cursor of it, so its
    settings (memory limit, spill directory) apply. Otherwise the engine opens its own
    in-memory DuckDB, bounded by ``memory_limit`` (e.g. ``"2GB"``; DuckDB's default is
    80% of RAM) and spilling to ``temp_directory`` (default: a fresh temporary directory).
    Typed tables (Parquet, Arrow, DataFrames, DuckDB tables) are checked in SQL
    (:mod:`.typed`); other inputs record by record.

    Raises :class:`Unsupported` for a policy the SQL compiler cannot translate exactly
    (also, on DuckDB, when a condition's decimal arithmetic overflows ``DECIMAL(38)`` on
    the given data: evaluate such a portfolio per loan) and :class:`MissingExtra` when the
    backend is not installed.
    """
    plan = policy_sql(policy, backend)  # refuse before reading any input
    if backend == "spark":
        from .spark import local_session, spark_input

        spark = spark if spark is not None else local_session()
        loans = spark_input(loans, spark)
        follow_ups = spark_input(follow_ups, spark) if follow_ups is not None else None
        records = _checked_records(policy, loans, follow_ups, as_of, default_as_of)
        return run_checked(policy, plan, records, backend, spark)
    with duckdb_session(connection, memory_limit, temp_directory) as con:
        checked = check_on_duckdb(con, policy, loans, follow_ups, as_of, default_as_of,
                                  table_names=connection is not None)
        tables = _run_statements(con, plan)
    return _with_fallback(policy, checked, tables)


def check_on_duckdb(con: Any, policy: Policy, loans: Any, follow_ups: Any,
                    as_of: date | None, default_as_of: date | None, *,
                    table_names: bool) -> CheckedInput:
    """The inputs checked and registered as the ``loans`` and ``follow_ups`` the plan
    reads: typed tables in SQL, anything else record by record."""
    if isinstance(loans, JsonlFile) or is_jsonl_path(loans):
        checked = check_jsonl_only(con, policy, loans, follow_ups, as_of, default_as_of)
        if checked is not None:
            return checked
        if isinstance(loans, JsonlFile):
            loans = loans.path
    source = typed_source(con, loans, follow_ups, table_names=table_names)
    checked = None
    if source is not None:
        checked = check_typed(con, policy, source, as_of, default_as_of)
    if checked is None:
        if source is not None and table_names:  # table names: read them here
            loans = _arrow(con, f"SELECT * EXCLUDE (__row) FROM ({source.loans}) s"
                           " ORDER BY __row")
            if source.follow_ups is not None:
                follow_ups = _arrow(con, f"SELECT * EXCLUDE (__pos) FROM"
                                    f" ({source.follow_ups}) s ORDER BY __pos")
        checked = _checked_records(policy, loans, follow_ups, as_of, default_as_of)
        con.register("loans", checked.loans)
        con.register("follow_ups", checked.follow_ups)
    return checked


def evaluate_typed(policy: Policy, loans: Any, follow_ups: Any = None, *,
                   as_of: date | None = None, default_as_of: date | None = None,
                   memory_limit: str | None = None,
                   temp_directory: str | Path | None = None) -> PortfolioResult | None:
    """:func:`evaluate_portfolio` on DuckDB for typed tables only; None, having evaluated
    nothing, when the inputs are not typed tables the SQL check takes, so that a caller
    with a reader of its own (the command line's) reads them record by record itself."""
    plan = policy_sql(policy)
    with duckdb_session(None, memory_limit, temp_directory) as con:
        checked = check_typed_only(con, policy, loans, follow_ups, as_of, default_as_of)
        if checked is None:
            return None
        tables = _run_statements(con, plan)
    return _with_fallback(policy, checked, tables)


def check_typed_only(con: Any, policy: Policy, loans: Any, follow_ups: Any,
                     as_of: date | None, default_as_of: date | None) -> CheckedInput | None:
    """The inputs checked in SQL and registered, or None, having read nothing record by
    record, when they are not typed tables or a JSONL file that check takes."""
    if isinstance(loans, JsonlFile) or is_jsonl_path(loans):
        return check_jsonl_only(con, policy, loans, follow_ups, as_of, default_as_of)
    source = typed_source(con, loans, follow_ups, table_names=False)
    return None if source is None else check_typed(con, policy, source, as_of, default_as_of)


def check_jsonl_only(con: Any, policy: Policy, loans: Any, follow_ups: Any,
                     as_of: date | None, default_as_of: date | None) -> CheckedInput | None:
    """A JSONL file (a path or a :class:`.jsonl.JsonlFile`) checked in SQL (:mod:`.jsonl`),
    or None when that check does not take it."""
    source = loans if isinstance(loans, JsonlFile) else jsonl_file(loans)
    if source is None:
        return None
    history = None if follow_ups is None else FollowUpTable(follow_ups)
    return check_jsonl(con, policy, source, as_of, default_as_of, history)


def _checked_records(policy: Policy, loans: Any, follow_ups: Any, as_of: date | None,
                     default_as_of: date | None) -> CheckedInput:
    """The record-by-record check, follow-up rows that reached no loan included."""
    history = None if follow_ups is None else FollowUpTable(follow_ups)
    checked = check_records(policy, records_from(loans, history), as_of, default_as_of)
    if history is not None:
        checked.unmatched_follow_ups = history.unmatched()
    return checked


def run_checked(policy: Policy, plan: PolicySql, checked: CheckedInput, backend: Backend,
                spark: Any = None) -> PortfolioResult:
    if backend == "spark":
        from .spark import run_spark

        tables = run_spark(plan, checked, spark)
    else:
        tables = _run_duckdb(plan, checked)
    return _with_fallback(policy, checked, tables)


def _with_fallback(policy: Policy, checked: CheckedInput, tables: tuple[Any, Any, Any]
                   ) -> PortfolioResult:
    per_loan = per_loan_decisions(policy, checked)
    decisions, actions, findings = with_per_loan_rows(tables, per_loan)
    return PortfolioResult(decisions, actions, findings, checked.rejects, per_loan,
                           checked.unmatched_follow_ups)


def per_loan_decisions(policy: Policy, checked: CheckedInput) -> dict[int, Decision]:
    """The records SQL cannot hold exactly, evaluated by the interpreter, by position."""
    return {index: evaluate(policy, snapshot, on) for index, snapshot, on in checked.fallback}


@contextmanager
def duckdb_session(connection: Any = None, memory_limit: str | None = None,
                   temp_directory: str | Path | None = None) -> Iterator[Any]:
    """A DuckDB connection for one run: a cursor of ``connection`` (its own temporary
    objects, the same database), or a fresh in-memory database that spills to disk."""
    duckdb = require("duckdb")
    if connection is not None:
        cursor = connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        return
    with tempfile.TemporaryDirectory(prefix="followup-policy-") as spill:
        config: dict[str, Any] = {"temp_directory": str(temp_directory or spill),
                                  "preserve_insertion_order": False}
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        con = duckdb.connect(config=config)
        try:
            yield con
        finally:
            con.close()


def _run_duckdb(plan: PolicySql, checked: CheckedInput) -> tuple[Any, Any, Any]:
    with duckdb_session() as con:
        con.register("loans", checked.loans)
        con.register("follow_ups", checked.follow_ups)
        return _run_statements(con, plan)


def _run_statements(con: Any, plan: PolicySql) -> tuple[Any, Any, Any]:
    """The three result tables as Arrow. The outputs, each read once, are queried from
    their SQL rather than created as views first: DuckDB binds a view when it is
    created and again when it is read, and binding ``actions`` and ``findings`` (a
    hundred SELECTs) is most of the time a small portfolio takes."""
    outputs = {s.name: s.sql for s in plan.statements if s.name in OUTPUTS}
    with decimal_overflow_unsupported():
        create_statements(con, plan, outputs=False)
        actions = _arrow(con, f"SELECT * FROM (\n{outputs['actions']}\n) s"
                              " ORDER BY __row, deadline, id")
        findings = _arrow(con, f"WITH findings AS (\n{outputs['findings']}\n)\n"
                               f"{FINDINGS_ORDERED}")
        decisions = _arrow(con, f"SELECT * FROM ({outputs['decisions']}) s ORDER BY __row")
    return decisions, actions, findings


def create_statements(con: Any, plan: PolicySql, *, outputs: bool = True) -> None:
    """The plan's statements on ``con``: tables for those read twice, views otherwise;
    without ``outputs``, only the statements the outputs read."""
    for statement in plan.statements:
        if statement.name in MATERIALIZED:
            con.execute(f"CREATE TEMPORARY TABLE {statement.name} AS {statement.sql}")
        elif outputs or statement.name not in OUTPUTS:
            con.execute(f"CREATE TEMPORARY VIEW {statement.name} AS {statement.sql}")


@contextmanager
def decimal_overflow_unsupported() -> Iterator[None]:
    """DECIMAL(38) arithmetic the interpreter's decimals hold exactly: a result from SQL
    would be wrong or missing, so this policy and data go per loan."""
    duckdb = require("duckdb")
    try:
        yield
    except duckdb.OutOfRangeException as exc:
        raise Unsupported("a condition's decimal arithmetic does not fit DuckDB's"
                          f" 38-digit decimals on this data ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


def _arrow(con: Any, sql: str) -> Any:
    """A query's result as an Arrow table, on DuckDB 1.x and 2.x alike, streamed in
    batches: a materialised result would count against DuckDB's memory limit and cannot
    spill, so a large result would stop a memory-bounded run."""
    relation = con.sql(sql)
    stream = getattr(relation, "to_arrow_reader", None)  # DuckDB 2.x
    if stream is None:  # DuckDB 1.x
        return con.execute(sql).fetch_record_batch(_BATCH_ROWS).read_all()
    return stream(_BATCH_ROWS).read_all()


_BATCH_ROWS = 100_000


def is_supported(policy: Policy) -> str | None:
    """None if the portfolio engine can evaluate ``policy``; else why not."""
    try:
        policy_sql(policy)
    except Unsupported as exc:
        return str(exc)
    return None
