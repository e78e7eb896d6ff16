"""The command-line side of the portfolio engine: ``evaluate --engine`` and ``sql``.

``cli.py`` only wires arguments to these functions. The portfolio path writes decisions
and rejects with the per-loan path's own writers, so the bytes are the same; a policy
the SQL compiler cannot translate exactly is evaluated per loan, and the command says so.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ...output import make_writer
from ...policy import Policy
from ...records import Record, Unreadable
from ._require import MissingExtra, require
from .conditions import Unsupported
from .decision_lines import utf8_stream
from .dialect import DUCKDB, dialect_named
from .jsonl import JsonlFile
from .plan import compile_policy_sql
from .results import PortfolioResult
from .tables import FollowUpTable, Reject

if TYPE_CHECKING:
    from .export import PortfolioExport

__all__ = [
    "choose_engine",
    "evaluate_command",
    "exit_code",
    "export_command",
    "output_refusal",
    "sql_command",
    "typed_table_result",
    "write_arrow",
    "write_result",
    "write_unmatched",
]

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def choose_engine(requested: str | None, input_format: str) -> str:
    """``--engine`` as given, else the portfolio engine for table inputs (Parquet)."""
    if requested:
        return requested
    return "portfolio" if input_format == "parquet" else "per-loan"


_WHOLE_UNICODE = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                            "utf-32-le", "utf-32-be", "gb18030"})


def output_refusal(out_format: str, out: IO[str]) -> str | None:
    """Why the portfolio engine should not write decisions to ``out``, or None.

    An encoding that cannot hold every character (ASCII, GBK) may refuse a decision; the
    per-loan path then rejects that one record, naming its line, and goes on. The
    portfolio engine's results carry no line numbers, so the command runs per loan there.
    """
    if out_format == "parquet":
        return None
    encoding = getattr(out, "encoding", None)
    if encoding is None or codecs.lookup(encoding).name in _WHOLE_UNICODE:
        return None
    return (f"the output's encoding ({encoding}) cannot hold every character; only the"
            " per-loan engine rejects just the decisions it cannot hold")


def portfolio_refusal(policy: Policy) -> str | None:
    """Why the portfolio engine cannot run ``policy`` here, or None if it can."""
    try:
        require("duckdb")
        require("pyarrow")
        compile_policy_sql(policy, dialect_named("duckdb"))
    except (Unsupported, MissingExtra) as exc:
        return str(exc)
    return None


def evaluate_command(policy: Policy, records: Iterable[Record | Unreadable],
                     out: IO[str] | None, output_name: str | None, out_format: str,
                     rejects: IO[str], as_of: date | None,
                     summary: Callable[[dict[str, int]], None],
                     history: FollowUpTable | None = None) -> int:
    """``followup-policy evaluate --engine portfolio``: every record decided or rejected.

    ``records`` come from the same reader as the per-loan path, so line numbers and
    unreadable-record messages are the same; ``history`` is the ``--follow-ups`` table
    they were merged with (its rows that reached no loan are reported).
    """
    from .engine import policy_sql, run_checked
    from .tables import check_records

    plan = policy_sql(policy)
    checked = check_records(policy, records, as_of, _default_as_of(as_of))
    if history is not None:
        checked.unmatched_follow_ups = history.unmatched()
    if out_format == "jsonl" and out is not None and utf8_stream(out):
        from .export import export_checked

        done = export_checked(policy, checked, decisions_jsonl=out)  # one DuckDB session
        return _exported(done, rejects, summary)
    result = run_checked(policy, plan, checked, "duckdb")
    return write_result(result, out, output_name, out_format, rejects, summary)


def typed_table_result(policy: Policy, path: str | JsonlFile, as_of: date | None,
                       follow_ups: str | None = None) -> PortfolioResult | None:
    """A Parquet file (or a :class:`.jsonl.JsonlFile`) evaluated with its columns checked
    in SQL (no record-by-record read), or None when its columns are not ones that check
    takes: then the command reads it with the per-loan path's reader, so both engines see
    the same values."""
    from .engine import evaluate_typed

    return evaluate_typed(policy, path, follow_ups, as_of=as_of,
                          default_as_of=_default_as_of(as_of))


def _default_as_of(as_of: date | None) -> date | None:
    """Today for a snapshot without ``as_of``, unless one was given: as the per-loan CLI."""
    return date.today() if as_of is None else None


def write_result(result: PortfolioResult, out: IO[str] | None, output_name: str | None,
                 out_format: str, rejects: IO[str],
                 summary: Callable[[dict[str, int]], None]) -> int:
    """Decisions (or the actions Parquet file) and rejects, in input order; the summary."""
    counts: dict[str, int] = {"records": 0, "decisions": 0, "rejected": 0, "actions": 0}
    if out_format == "parquet":  # the actions table: counted from it, no Decision built
        write_arrow(result.actions.drop_columns(["__row"]), output_name or "actions.parquet")
        return _written(result, rejects, summary)
    if out_format == "jsonl" and out is not None and utf8_stream(out):
        result.write_jsonl(out)  # the lines made by DuckDB: the same bytes, no Decision
        return _written(result, rejects, summary)
    writer = make_writer(out, out_format) if out is not None else None  # type: ignore[arg-type]
    for item in result.items():
        if isinstance(item, Reject):
            counts["rejected"] += 1
            _write_reject(rejects, item)
            continue
        counts["decisions"] += 1
        counts["actions"] += len(item.actions)
        for action in item.actions:
            counts[action.status] = counts.get(action.status, 0) + 1
        if writer is not None:
            writer.write(item)
    if writer is not None:
        writer.close()
    counts["records"] = counts["decisions"] + counts["rejected"]  # rows in = out, always
    return _finish(rejects, result.unmatched_follow_ups, counts, summary)


def _written(result: PortfolioResult, rejects: IO[str],
             summary: Callable[[dict[str, int]], None]) -> int:
    """The end of a run whose output was written from the tables: rejects, counts from
    the tables (no Decision built), summary, exit code."""
    for reject in result.rejects:
        _write_reject(rejects, reject)
    return _finish(rejects, result.unmatched_follow_ups, result.counts(), summary)


def write_arrow(table: Any, path: str | Path) -> None:
    """An Arrow table to Parquet, CSV or JSONL, chosen by the file name, written by
    DuckDB as :func:`.export.export_portfolio` writes its files (lists as JSON in CSV)."""
    from .engine import duckdb_session
    from .export import copy_table, json_text

    quote = DUCKDB.quote
    with duckdb_session() as con:
        # the table's own row order is the file's: no ORDER BY to say it, so DuckDB must
        # keep insertion order (the engine's sessions let it reorder for speed)
        con.execute("SET preserve_insertion_order = true")
        con.register("__table", table)
        csv = str(path).lower().endswith(".csv")
        columns = ", ".join(
            f"{json_text(quote(name))} AS {quote(name)}" if csv and _is_list(kind)
            else quote(name)
            for name, kind in zip(table.column_names, table.schema.types, strict=True))
        copy_table(con, f"SELECT {columns} FROM __table", path)


def _is_list(kind: Any) -> bool:
    return str(kind).startswith(("list<", "large_list<"))


def export_command(policy: Policy, path: str | JsonlFile, follow_ups: str | None,
                   output_name: str | None,
                   as_of: date | None, rejects: IO[str],
                   summary: Callable[[dict[str, int]], None],
                   out: IO[str] | None = None) -> int | None:
    """``evaluate -f parquet`` of a typed Parquet file: the actions table copied to its
    file by DuckDB, never held in Python memory; with ``out`` (``-f jsonl``), the
    decisions' JSON lines written to it by DuckDB instead, when it is UTF-8. None when the
    file's columns are not ones the SQL check takes, or ``out`` is not UTF-8 (the caller
    then evaluates it another way)."""
    from .export import export_typed

    if out is not None and not utf8_stream(out):
        return None
    targets: dict[str, Any] = ({"actions": output_name or "actions.parquet"} if out is None
                               else {"decisions_jsonl": out})
    done = export_typed(policy, path, follow_ups, **targets, as_of=as_of,
                        default_as_of=_default_as_of(as_of))
    if done is None:
        return None
    return _exported(done, rejects, summary)


def _exported(done: PortfolioExport, rejects: IO[str],
              summary: Callable[[dict[str, int]], None]) -> int:
    for item in done.rejects:
        _write_reject(rejects, item)
    return _finish(rejects, done.unmatched_follow_ups, done.counts, summary)


def _write_reject(rejects: IO[str], item: Reject, **where: str) -> None:
    entry = {**where, "index": item.index, "line": item.line, "loan_id": item.loan_id,
             "field": item.field, "error": item.error}
    rejects.write(json.dumps(entry, ensure_ascii=False) + "\n")


def write_unmatched(rejects: IO[str], unmatched: list[Reject], counts: dict[str, int]) -> None:
    """Rows of the ``--follow-ups`` table that reached no loan, as rejects marked
    ``"table": "follow_ups"`` (``index``: the row's position in that table)."""
    for item in unmatched:
        _write_reject(rejects, item, table="follow_ups")
    if unmatched:
        counts["unmatched_follow_ups"] = len(unmatched)


def _finish(rejects: IO[str], unmatched: list[Reject], counts: dict[str, int],
            summary: Callable[[dict[str, int]], None]) -> int:
    """The end of every portfolio run: unmatched follow-up rows, the summary, the code."""
    write_unmatched(rejects, unmatched, counts)
    summary(counts)
    return exit_code(counts)


def exit_code(counts: dict[str, int]) -> int:
    """1 when a record was rejected or a follow-up row reached no loan, else 0."""
    return EXIT_REJECTED if counts["rejected"] or counts.get("unmatched_follow_ups") else EXIT_OK


def sql_command(policy: Policy, dialect: str, stdout: IO[str], stderr: IO[str]) -> int:
    """``followup-policy sql --dialect duckdb|spark POLICY``: the reviewable SQL script."""
    try:
        script = compile_policy_sql(policy, dialect_named(dialect)).script()
    except Unsupported as exc:
        stderr.write(f"followup-policy: the portfolio engine cannot compile {policy.id}: {exc}\n")
        return EXIT_USAGE
    stdout.write(script)
    return EXIT_OK

