"""``followup-policy tasks``: today's tasks for a call centre or CRM, as a file.

The command evaluates every record like ``evaluate`` does (rejects included),
keeps the tasks that pass ``--status/--channel/--due-by/--branch``, sorts them by
deadline and writes one row per task. Sorting needs every kept task in memory;
filter (``--due-by``, ``--status``) to keep a large book's run small.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import date
from typing import IO, Any

from .decisions import Decision
from .io.errors import InputError
from .io.tables import write_table
from .records import escape_undecodable
from .tasks import TASK_COLUMNS, TaskFilter, sort_tasks, task_rows

__all__ = ["BRANCH_FIELD", "add_task_arguments", "collect_tasks", "write_tasks"]

BRANCH_FIELD = "branch_code"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date YYYY-MM-DD") from None


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_task_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tasks`` that are not shared with ``evaluate``."""
    parser.add_argument("--status", action="append", type=_names, default=None,
                        metavar="S[,S]", help="keep only these statuses: upcoming, due,"
                        " overdue (repeatable; default: all)")
    parser.add_argument("--channel", action="append", type=_names, default=None,
                        metavar="C[,C]", help="keep only these channels (repeatable)")
    parser.add_argument("--due-by", type=_date, default=None, metavar="DATE",
                        help="keep only tasks due on or before DATE (YYYY-MM-DD)")
    parser.add_argument("--branch", action="append", type=_names, default=None,
                        metavar="B[,B]", help="keep only loans whose branch field has one of"
                        " these values (repeatable)")
    parser.add_argument("--branch-field", default=BRANCH_FIELD, metavar="FIELD",
                        help=f"the snapshot field that holds the branch (default:"
                        f" {BRANCH_FIELD}; map a column onto it with --mapping)")
    parser.add_argument("--format", "-f", choices=("csv", "jsonl", "xlsx"), default="csv",
                        help="output format (default: csv; xlsx needs -o FILE)")
    parser.add_argument("-o", "--output", default=None, help="write the tasks here")


def _flat(groups: list[list[str]] | None) -> frozenset[str] | None:
    return None if groups is None else frozenset(n for group in groups for n in group)


def task_filter(args: argparse.Namespace) -> TaskFilter:
    statuses = _flat(args.status)
    unknown = sorted((statuses or frozenset()) - {"upcoming", "due", "overdue"})
    if unknown:
        raise InputError(f"--status: unknown status '{unknown[0]}'"
                         " (use upcoming, due, overdue)")
    return TaskFilter(statuses=statuses, channels=_flat(args.channel), due_by=args.due_by)


def collect_tasks(evaluated: Iterable[tuple[Any, Decision]],
                  args: argparse.Namespace) -> list[dict[str, Any]]:
    """The kept tasks of ``(raw record, decision)`` pairs, sorted by deadline."""
    keep = task_filter(args)
    branches = _flat(args.branch)
    field = args.branch_field
    rows: list[dict[str, Any]] = []
    for raw, decision in evaluated:
        value = escape_undecodable(raw.get(field)) if isinstance(raw, dict) else None
        if branches is not None:
            if isinstance(raw, dict) and field not in raw:
                raise InputError(f"--branch: the input has no field '{field}'; name the"
                                 " branch column with --branch-field or --mapping")
            if value is None or str(value).strip() not in branches:
                continue
        rows.extend(task_rows(decision, None if value is None else str(value).strip(), keep))
    return sort_tasks(rows)


def write_tasks(rows: list[dict[str, Any]], args: argparse.Namespace,
                stream: IO[str] | None) -> int:
    """Write the tasks in ``--format``; ``stream`` is None for xlsx (written to ``-o``)."""
    if args.format == "xlsx":
        return write_table(rows, TASK_COLUMNS, "xlsx", path=args.output)
    return write_table(rows, TASK_COLUMNS, args.format, stream=stream)
