"""What evaluation returns: a ``Decision`` of required ``Action`` s and ``Finding`` s.

These are pydantic models so ``model_dump(mode="json")`` gives the stable JSON
that the CLI prints. Evaluation builds them with ``model_construct`` (the values
are already checked), which keeps the hot path free of re-validation.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Action",
    "ActionSource",
    "ActionStatus",
    "ChecklistEntry",
    "Decision",
    "Finding",
    "RecordError",
]

ActionSource = Literal["timing_node", "frequency", "rule", "escalation"]
ActionStatus = Literal["upcoming", "due", "overdue"]


class FrozenModel(BaseModel):
    """Base of the immutable output models (decisions, explanations)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ChecklistEntry(FrozenModel):
    """One checklist item that applies to this loan."""

    id: str
    text: str


class Action(FrozenModel):
    """A follow-up the policy requires for a loan, with its dates and reasons."""

    id: str
    source: ActionSource
    kind: str
    title: str
    status: ActionStatus
    due_date: date
    deadline: date
    channel: str | None
    severity: str
    category: str | None = None
    reference: str | None = None
    checklist_id: str | None = None
    checklist: tuple[ChecklistEntry, ...] = ()
    reasons: tuple[str, ...] = ()
    attempts: int = 0
    """Failed attempts (entries with a failed outcome) since the anchor or last completion."""
    last_attempt: date | None = None
    """Date of the latest of those failed attempts."""


class Finding(FrozenModel):
    """Something the evaluation could not decide, e.g. a check that lacked data."""

    rule: str
    kind: str
    fields: tuple[str, ...] = ()
    message: str


class Decision(FrozenModel):
    """Everything a policy requires for one loan on one date."""

    loan_id: str
    as_of: date
    tier: str | None
    policy_id: str
    policy_version: str
    policy_digest: str
    actions: tuple[Action, ...] = ()
    findings: tuple[Finding, ...] = ()

    def action(self, action_id: str) -> Action | None:
        """The action with this id, if required."""
        return next((a for a in self.actions if a.id == action_id), None)


class RecordError(FrozenModel):
    """A batch input record that could not be evaluated; it is reported, never dropped."""

    index: int
    loan_id: str | None = None
    field: str | None = None
    message: str
