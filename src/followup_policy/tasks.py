"""Tasks for operations: one row per required action, with a key to upsert on.

A call centre or CRM creates a task per (loan, action, cycle) and must recognise
it the next night. The cycle of an action is its due date (a node's and a
triggered rule's never move; a frequency action's moves only when it is
completed), so the key is a hash of the three::

    sha256(loan_id + "\\x1f" + action_id + "\\x1f" + due_date.isoformat())[:20]

The portfolio engine computes the same key in SQL; keep the two in step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from .decisions import Decision

__all__ = ["TASK_COLUMNS", "TaskFilter", "sort_tasks", "task_key", "task_rows"]

TASK_COLUMNS = (
    "task_key", "due_date", "deadline", "status", "loan_id", "branch", "action_id", "source",
    "kind", "title", "channel", "severity", "checklist_id", "checklist", "checklist_text",
    "reasons", "tier", "as_of", "policy_id", "policy_version",
)


def task_key(loan_id: str, action_id: str, due_date: date) -> str:
    """The stable key of one task: same loan, action and due date, same key.

    >>> task_key("L001", "m3", date(2026, 10, 30))
    'be8e2722dc411fdf3836'
    """
    text = f"{loan_id}\x1f{action_id}\x1f{due_date.isoformat()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Which tasks to keep; ``None`` keeps everything for that criterion."""

    statuses: Collection[str] | None = None
    channels: Collection[str] | None = None
    due_by: date | None = None

    def keeps(self, status: str, channel: str | None, due_date: date) -> bool:
        if self.statuses is not None and status not in self.statuses:
            return False
        if self.channels is not None and (channel or "") not in self.channels:
            return False
        return self.due_by is None or due_date <= self.due_by


def task_rows(decision: Decision, branch: Any = None,
              keep: TaskFilter | None = None) -> list[dict[str, Any]]:
    """The tasks of one decision (flat rows of scalars), optionally filtered.

    ``branch`` is the value of the snapshot's branch field, copied to each row.
    """
    from .rows import action_row

    rows = []
    for action in decision.actions:
        if keep is not None and not keep.keeps(action.status, action.channel, action.due_date):
            continue
        row = action_row(decision, action)
        rows.append({name: (branch if name == "branch" else row.get(name))
                     for name in TASK_COLUMNS})
    return rows


def sort_tasks(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """By deadline, then due date, loan and action: the order a team works through."""
    return sorted(rows, key=lambda r: (r["deadline"], r["due_date"], r["loan_id"],
                                       r["action_id"]))
