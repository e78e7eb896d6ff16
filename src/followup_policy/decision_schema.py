"""The results as pydantic models: what validates a result's JSON and describes it.

:mod:`followup_policy.decisions` holds the results evaluation makes (cheap tuples);
these mirrors, field for field, are the JSON edge: ``Decision.model_validate`` and
``Decision.model_json_schema`` go through them. A test holds the two to the same JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Action", "ActionSource", "ActionStatus", "ChecklistEntry", "Decision", "Finding",
           "FrozenModel"]

ActionSource = Literal["timing_node", "frequency", "rule", "escalation"]
ActionStatus = Literal["upcoming", "due", "overdue"]


class FrozenModel(BaseModel):
    """Base of the immutable pydantic output models (explanations, analyses, mirrors)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ChecklistEntry(FrozenModel):
    id: str
    text: str


class Action(FrozenModel):
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
    last_attempt: date | None = None


class Finding(FrozenModel):
    rule: str
    kind: str
    fields: tuple[str, ...] = ()
    message: str


class Decision(FrozenModel):
    loan_id: str
    as_of: date
    tier: str | None
    policy_id: str
    policy_version: str
    policy_digest: str
    actions: tuple[Action, ...] = ()
    findings: tuple[Finding, ...] = ()
