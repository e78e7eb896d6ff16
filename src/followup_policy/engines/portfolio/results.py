"""The result of a portfolio run: Arrow tables, and the same decisions as objects.

The tables are what a warehouse job wants (``actions``, ``decisions``, ``findings``,
``rejects``); :meth:`PortfolioResult.items` rebuilds each loan's :class:`Decision`
from them, in input order, so the command line writes JSONL/CSV/table output with the
very writers of the per-loan path: the same bytes for the same decisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from ...decisions import Action, ChecklistEntry, Decision, Finding, RecordError
from .tables import Reject

__all__ = ["PortfolioResult"]


@dataclass
class PortfolioResult:
    """Everything one portfolio evaluation produced; rows in = decisions + rejects."""

    decisions: Any  # pyarrow.Table: __row, loan_id, as_of, tier, policy_id, version, digest
    actions: Any  # pyarrow.Table: __row, loan_id, task_key, every Action field
    findings: Any  # pyarrow.Table: __row, seq, rule, kind, fields, message
    rejects: list[Reject]
    per_loan: dict[int, Decision]  # records SQL could not hold exactly, by input position

    @property
    def rejects_table(self) -> Any:
        from ._require import require

        pa = require("pyarrow")
        return pa.table({
            "index": pa.array([r.index for r in self.rejects], type=pa.int64()),
            "line": pa.array([r.line for r in self.rejects], type=pa.int64()),
            "loan_id": pa.array([r.loan_id for r in self.rejects], type=pa.string()),
            "field": pa.array([r.field for r in self.rejects], type=pa.string()),
            "error": pa.array([r.error for r in self.rejects], type=pa.string()),
        })

    def items(self) -> Iterator[Decision | Reject]:
        """Every input record in input order: its :class:`Decision` or its :class:`Reject`."""
        decisions = self.decisions.to_pylist()
        actions = _by_row(self.actions.to_pylist())
        findings = _by_row(self.findings.to_pylist())
        rejects = {r.index: r for r in self.rejects}
        entries: dict[tuple[str, str], ChecklistEntry] = {}
        built = {row["__row"]: _decision(row, actions.get(row["__row"], []),
                                         findings.get(row["__row"], []), entries)
                 for row in decisions}
        built.update(self.per_loan)
        total = len(built) + len(rejects)
        for index in range(total):
            found = built.get(index)
            yield found if found is not None else rejects[index]

    def record_errors(self) -> list[RecordError]:
        return [RecordError(index=r.index, loan_id=r.loan_id, field=r.field, message=r.error)
                for r in self.rejects]


def _by_row(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["__row"], []).append(row)
    return grouped


def _decision(row: dict[str, Any], actions: list[dict[str, Any]],
              findings: list[dict[str, Any]],
              entries: dict[tuple[str, str], ChecklistEntry]) -> Decision:
    actions.sort(key=_action_order)
    return Decision.model_construct(
        loan_id=row["loan_id"], as_of=row["as_of"], tier=row["tier"],
        policy_id=row["policy_id"], policy_version=row["policy_version"],
        policy_digest=row["policy_digest"],
        actions=tuple(_action(a, entries) for a in actions),
        findings=tuple(Finding.model_construct(rule=f["rule"], kind=f["kind"],
                                               fields=tuple(f["fields"]), message=f["message"])
                       for f in findings),
    )


def _action_order(row: dict[str, Any]) -> tuple[date, str]:
    return (row["deadline"], row["id"])


def _entry(item: dict[str, str], entries: dict[tuple[str, str], ChecklistEntry]
           ) -> ChecklistEntry:
    """One shared immutable entry per distinct item, as the interpreter shares them."""
    key = (item["id"], item["text"])
    found = entries.get(key)
    if found is None:
        found = entries[key] = ChecklistEntry.model_construct(id=key[0], text=key[1])
    return found


def _action(row: dict[str, Any], entries: dict[tuple[str, str], ChecklistEntry]) -> Action:
    checklist = row["checklist"] or ()
    return Action.model_construct(
        id=row["id"], source=row["source"], kind=row["kind"], title=row["title"],
        status=row["status"], due_date=row["due_date"], deadline=row["deadline"],
        channel=row["channel"], severity=row["severity"], category=row["category"],
        reference=row["reference"], checklist_id=row["checklist_id"],
        checklist=tuple(_entry(c, entries) for c in checklist),
        reasons=tuple(row["reasons"]),
    )
