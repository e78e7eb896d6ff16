"""A portfolio's result tables written to files by DuckDB, never held in Python memory.

:func:`~.engine.evaluate_portfolio` returns the tables as Arrow, in Python memory: fine
for a branch, not for a book whose actions outgrow RAM. :func:`export_portfolio` runs
the same statements and has DuckDB ``COPY`` each table straight to a file, in the same
order as the in-memory tables; DuckDB streams the copy and spills its sorts to disk, so
a run stays within ``memory_limit``. Only the rejects and the few loans the interpreter
evaluates (see :mod:`.tables`) pass through Python.

The file format follows the name: ``.parquet``, ``.csv`` (lists and the checklist as JSON
text, so a cell never splits), ``.jsonl``/``.json`` (one object per line). Each file is
written beside its target and renamed into place when whole (:mod:`followup_policy.atomic`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from ...atomic import atomic_path
from ...policy import Policy
from .decision_lines import json_text, lines_query, refuse_non_utf8, write_lines
from .engine import (
    check_on_duckdb,
    check_typed_only,
    create_statements,
    decimal_overflow_unsupported,
    duckdb_session,
    per_loan_decisions,
    policy_sql,
)
from .plan import FINDINGS_ORDERED, PolicySql
from .results import per_loan_tables
from .tables import CheckedInput, Reject

__all__ = ["ACTION_COLUMNS", "PortfolioExport", "copy_table", "export_checked",
           "export_portfolio", "export_typed", "json_text"]

ACTION_COLUMNS = (
    "loan_id", "task_key", "id", "source", "kind", "title", "status", "due_date", "deadline",
    "channel", "severity", "category", "reference", "checklist_id",
    ("CAST(checklist AS STRUCT(id VARCHAR, text VARCHAR)[])", "checklist"),
    ("CAST(reasons AS VARCHAR[])", "reasons"), ("CAST(attempts AS BIGINT)", "attempts"),
    "last_attempt")
"""The actions file's columns: every Action field and the task key, typed the same
whatever the policy (a policy without checklists still writes a list column)."""

_DECISION_COLUMNS = ("loan_id", "as_of", "tier", "policy_id", "policy_version",
                     "policy_digest")
_FINDING_COLUMNS = (("d.loan_id", "loan_id"), ("CAST(f.seq AS INTEGER)", "seq"),
                    ("f.rule", "rule"), ("f.kind", "kind"),
                    ("CAST(f.fields AS VARCHAR[])", "fields"), ("f.message", "message"))
_LISTS = frozenset({"checklist", "reasons", "fields"})
"""List columns, written as JSON text in CSV so that a cell never splits."""

Column = str | tuple[str, str]


@dataclass(frozen=True)
class PortfolioExport:
    """What an export wrote: the counts of a run summary and what was not evaluated."""

    counts: dict[str, int]
    """``records`` (= ``decisions`` + ``rejected``), ``decisions``, ``rejected``,
    ``actions`` and the actions per status (``overdue``, ``due``, ``upcoming``)."""
    rejects: list[Reject]
    files: dict[str, Path | IO[str]]
    unmatched_follow_ups: list[Reject] = field(default_factory=list)


def export_portfolio(policy: Policy, loans: Any, follow_ups: Any = None, *,
                     actions: str | Path | None = None, decisions: str | Path | None = None,
                     findings: str | Path | None = None,
                     decisions_jsonl: str | Path | IO[str] | None = None,
                     as_of: date | None = None,
                     default_as_of: date | None = None, connection: Any = None,
                     memory_limit: str | None = None,
                     temp_directory: str | Path | None = None) -> PortfolioExport:
    """Evaluate a portfolio on DuckDB and write the tables asked for to files.

    Inputs and options as :func:`~.engine.evaluate_portfolio`. ``actions``: one row per
    loan and required action (every ``Action`` field, ``task_key``); ``decisions``: one
    row per evaluated loan; ``findings``: one row per finding, with its ``loan_id``.
    Rows are in input order (actions by deadline within a loan), as in memory.
    ``decisions_jsonl`` (a path or a UTF-8 text stream): the decisions as the command
    line's JSON lines, one ``Decision.model_dump_json()`` each (:mod:`.decision_lines`).
    """
    done = _export(policy, loans, follow_ups, _targets(actions, decisions, findings,
                                                       decisions_jsonl), as_of,
                   default_as_of, connection, memory_limit, temp_directory, typed_only=False)
    assert done is not None
    return done


def export_typed(policy: Policy, loans: Any, follow_ups: Any = None, *,
                 actions: str | Path | None = None, decisions: str | Path | None = None,
                 findings: str | Path | None = None,
                 decisions_jsonl: str | Path | IO[str] | None = None,
                 as_of: date | None = None,
                 default_as_of: date | None = None, memory_limit: str | None = None,
                 temp_directory: str | Path | None = None) -> PortfolioExport | None:
    """:func:`export_portfolio` for typed tables only; None, having written nothing, when
    the inputs are not ones the SQL check takes (see :func:`.engine.evaluate_typed`)."""
    return _export(policy, loans, follow_ups, _targets(actions, decisions, findings,
                                                       decisions_jsonl), as_of,
                   default_as_of, None, memory_limit, temp_directory, typed_only=True)


Target = Path | IO[str]


def _targets(actions: str | Path | None, decisions: str | Path | None,
             findings: str | Path | None, decisions_jsonl: str | Path | IO[str] | None
             ) -> dict[str, Target]:
    targets: dict[str, Target] = {
        name: Path(path) for name, path in
        (("actions", actions), ("decisions", decisions), ("findings", findings))
        if path is not None}
    if isinstance(decisions_jsonl, (str, Path)):
        targets["decisions_jsonl"] = Path(decisions_jsonl)
    elif decisions_jsonl is not None:
        refuse_non_utf8(decisions_jsonl)  # before any evaluation
        targets["decisions_jsonl"] = decisions_jsonl
    if not targets:
        raise ValueError("export_portfolio needs at least one of actions=, decisions=,"
                         " findings=, decisions_jsonl= (a file path)")
    return targets


def export_checked(policy: Policy, checked: CheckedInput, *,
                   decisions_jsonl: str | Path | IO[str]) -> PortfolioExport:
    """Records already checked one by one (the command line's reader,
    :func:`.tables.check_records`) evaluated on a fresh DuckDB and their decisions
    written as JSON lines from the same session: the tables never fetched into Python."""
    plan = policy_sql(policy)
    with duckdb_session() as con:
        con.register("loans", checked.loans)
        con.register("follow_ups", checked.follow_ups)
        return _write(con, policy, plan, checked, _targets(None, None, None, decisions_jsonl))


def _export(policy: Policy, loans: Any, follow_ups: Any, targets: dict[str, Target],
            as_of: date | None, default_as_of: date | None, connection: Any,
            memory_limit: str | None, temp_directory: str | Path | None, *,
            typed_only: bool) -> PortfolioExport | None:
    plan = policy_sql(policy)  # refuse before reading any input
    with duckdb_session(connection, memory_limit, temp_directory) as con:
        if typed_only:
            checked = check_typed_only(con, policy, loans, follow_ups, as_of, default_as_of)
            if checked is None:
                return None
        else:
            checked = check_on_duckdb(con, policy, loans, follow_ups, as_of, default_as_of,
                                      table_names=connection is not None)
        return _write(con, policy, plan, checked, targets)


def _write(con: Any, policy: Policy, plan: PolicySql, checked: CheckedInput,
           targets: dict[str, Target]) -> PortfolioExport:
    """The plan run on ``con`` (its ``loans`` and ``follow_ups`` registered), with the
    interpreter's loans added, and each target written."""
    for name, table in zip(("decisions", "actions", "findings"),
                           per_loan_tables(per_loan_decisions(policy, checked)),
                           strict=True):
        con.register(f"__per_loan_{name}", table)
    with decimal_overflow_unsupported():
        create_statements(con, plan)
        counts = _counts(con)
        for name, path in targets.items():
            if name == "decisions_jsonl":
                write_lines(con, _lines(con), path)
            else:
                assert isinstance(path, Path)
                copy_table(con, _ordered(name, _is_csv(path)), path)
    counts["rejected"] = len(checked.rejects)
    counts["records"] = counts["decisions"] + counts["rejected"]
    return PortfolioExport(counts, checked.rejects, targets, checked.unmatched_follow_ups)


_ALL_ROWS = {
    "decisions": "(SELECT * FROM decisions UNION ALL BY NAME"
                 " SELECT * FROM __per_loan_decisions)",
    "actions": "(SELECT * FROM actions UNION ALL BY NAME SELECT * FROM __per_loan_actions)",
    "findings": f"(SELECT * FROM ({FINDINGS_ORDERED}) s UNION ALL BY NAME"
                " SELECT * FROM __per_loan_findings)"}
"""The decisions, actions and findings of every evaluated loan, SQL's and the
interpreter's: what the files and the JSON lines (:func:`.decision_lines.lines_query`) read."""


def _lines(con: Any) -> str:
    """The decisions' JSON lines query, over temporary tables (which spill to disk): the
    plan's ``actions`` and ``decisions`` are views, and the query reads each twice."""
    names = []
    for name, rows in _ALL_ROWS.items():
        con.execute(f"CREATE OR REPLACE TEMPORARY TABLE __lines_{name} AS"
                    f" SELECT * FROM {rows} s")
        names.append(f"__lines_{name}")
    return lines_query(*names)


def _ordered(name: str, csv: bool) -> str:
    """The query of one output file: SQL rows and the interpreter's, in input order."""
    if name == "actions":
        return (f"SELECT {_select(ACTION_COLUMNS, csv)} FROM {_ALL_ROWS['actions']} a"
                " ORDER BY __row, deadline, id")
    if name == "decisions":
        return (f"SELECT {_select(_DECISION_COLUMNS, csv)} FROM {_ALL_ROWS['decisions']} d"
                " ORDER BY __row")
    return (f"SELECT {_select(_FINDING_COLUMNS, csv)} FROM {_ALL_ROWS['findings']} f"
            f" JOIN (SELECT __row, loan_id FROM {_ALL_ROWS['decisions']} s) d"
            " ON f.__row = d.__row ORDER BY f.__row, f.seq")


def _select(columns: tuple[Column, ...], csv: bool) -> str:
    shown = []
    for column in columns:
        expr, name = (column, column) if isinstance(column, str) else column
        if csv and name in _LISTS:
            expr = json_text(expr)
        shown.append(expr if expr == name else f"{expr} AS {name}")
    return ", ".join(shown)


def _is_csv(path: str | Path) -> bool:
    return str(path).lower().endswith(".csv")


def _counts(con: Any) -> dict[str, int]:
    counts: dict[str, int] = {"actions": 0}
    statuses = con.execute(
        "SELECT status, count(*) FROM (SELECT status FROM actions UNION ALL"
        " SELECT status FROM __per_loan_actions) a GROUP BY status ORDER BY status").fetchall()
    for status, number in statuses:
        counts[status] = int(number)
        counts["actions"] += int(number)
    counts["decisions"] = int(con.execute(
        "SELECT (SELECT count(*) FROM decisions)"
        " + (SELECT count(*) FROM __per_loan_decisions)").fetchall()[0][0])
    return counts


def copy_table(con: Any, query: str, path: str | Path) -> None:
    """``query``'s rows to ``path`` by DuckDB ``COPY``, in the format its name says
    (``query`` writes list columns as JSON text for a ``.csv`` name)."""
    name = str(path).lower()
    if _is_csv(path):
        options = "FORMAT csv, HEADER"
    elif name.endswith((".jsonl", ".json")):
        options = "FORMAT json"
    else:
        options = "FORMAT parquet"
    with atomic_path(path) as temporary:
        target = str(temporary).replace("'", "''")
        con.execute(f"COPY ({query}) TO '{target}' ({options})")
