"""Decisions as flat rows of scalars, for databases, spreadsheets and DataFrames.

Three tables, as a warehouse would keep them: one row per decision (a loan with
no action still has its row), one per action (with its :func:`~.tasks.task_key`),
one per finding. Values are ``str``, ``int`` or ``None`` only, dates as ISO text,
so ``sqlite3.executemany`` and every DB-API driver take them as they are.
These helpers read only the public fields of :class:`Decision` and
:class:`Action`, so they do not care how those are implemented.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any, Literal

from .decisions import Action, Decision
from .tasks import task_key

__all__ = [
    "ACTION_COLUMNS",
    "DECISION_COLUMNS",
    "FINDING_COLUMNS",
    "Row",
    "action_row",
    "action_rows",
    "decision_row",
    "finding_rows",
    "to_dataframe",
]

Row = dict[str, str | int | None]

DECISION_COLUMNS = (
    "loan_id", "as_of", "tier", "actions", "overdue", "due", "upcoming", "findings",
    "policy_id", "policy_version", "policy_digest",
)
ACTION_COLUMNS = (
    "task_key", "loan_id", "as_of", "tier", "action_id", "source", "kind", "title", "status",
    "due_date", "deadline", "channel", "severity", "category", "reference", "checklist_id",
    "checklist", "checklist_text", "reasons", "policy_id", "policy_version",
)
FINDING_COLUMNS = ("loan_id", "as_of", "rule", "kind", "fields", "message")
_DATE_COLUMNS = ("as_of", "due_date", "deadline")


def decision_row(decision: Decision) -> Row:
    """One row for the loan: counts of actions by status, and the number of findings."""
    statuses = [action.status for action in decision.actions]
    return {
        "loan_id": decision.loan_id,
        "as_of": decision.as_of.isoformat(),
        "tier": decision.tier,
        "actions": len(statuses),
        "overdue": statuses.count("overdue"),
        "due": statuses.count("due"),
        "upcoming": statuses.count("upcoming"),
        "findings": len(decision.findings),
        "policy_id": decision.policy_id,
        "policy_version": decision.policy_version,
        "policy_digest": decision.policy_digest,
    }


def action_row(decision: Decision, action: Action) -> Row:
    """One action of ``decision`` as a flat row; checklist items joined with ``;``."""
    return {
        "task_key": task_key(decision.loan_id, action.id, action.due_date),
        "loan_id": decision.loan_id,
        "as_of": decision.as_of.isoformat(),
        "tier": decision.tier,
        "action_id": action.id,
        "source": action.source,
        "kind": action.kind,
        "title": action.title,
        "status": action.status,
        "due_date": action.due_date.isoformat(),
        "deadline": action.deadline.isoformat(),
        "channel": action.channel,
        "severity": action.severity,
        "category": action.category,
        "reference": action.reference,
        "checklist_id": action.checklist_id,
        "checklist": ";".join(item.id for item in action.checklist),
        "checklist_text": "\n".join(item.text for item in action.checklist),
        "reasons": "\n".join(action.reasons),
        "policy_id": decision.policy_id,
        "policy_version": decision.policy_version,
    }


def action_rows(decision: Decision) -> list[Row]:
    """One row per required action, in the decision's order (by deadline)."""
    return [action_row(decision, action) for action in decision.actions]


def finding_rows(decision: Decision) -> list[Row]:
    """One row per finding; ``fields`` joined with ``;``."""
    return [{"loan_id": decision.loan_id, "as_of": decision.as_of.isoformat(),
             "rule": finding.rule, "kind": finding.kind, "fields": ";".join(finding.fields),
             "message": finding.message} for finding in decision.findings]


Table = Literal["decisions", "actions", "findings"]


def to_dataframe(decisions: Iterable[Decision], table: Table = "actions") -> Any:
    """A pandas DataFrame of one of the three tables; date columns as ``datetime64``.

    Needs pandas (``pip install 'followup-policy[dataframes]'``).
    """
    try:
        pd = importlib.import_module("pandas")
    except ImportError:
        from .io import InputError

        raise InputError("to_dataframe needs the 'dataframes' extra:"
                         " pip install 'followup-policy[dataframes]'") from None
    rows: list[Row] = []
    columns = {"decisions": DECISION_COLUMNS, "actions": ACTION_COLUMNS,
               "findings": FINDING_COLUMNS}[table]
    for decision in decisions:
        if table == "decisions":
            rows.append(decision_row(decision))
        elif table == "actions":
            rows.extend(action_rows(decision))
        else:
            rows.extend(finding_rows(decision))
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    for name in _DATE_COLUMNS:
        if name in frame.columns:
            frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%d")
    return frame
