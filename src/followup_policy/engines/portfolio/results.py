"""The result of a portfolio run: Arrow tables, and the same decisions as objects.

The tables are what a warehouse job wants (``actions``, ``decisions``, ``findings``,
``rejects``); :meth:`PortfolioResult.items` rebuilds each loan's :class:`Decision`
from them, in input order, so the command line writes JSONL/CSV/table output with the
very writers of the per-loan path: the same bytes for the same decisions.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ...decisions import ACTION_ORDER, Action, ChecklistEntry, Decision, Finding, RecordError
from .tables import Reject

__all__ = ["PortfolioResult", "per_loan_tables", "table_schemas", "with_per_loan_rows"]

@dataclass
class PortfolioResult:
    """Everything one portfolio evaluation produced; rows in = decisions + rejects."""

    decisions: Any  # pyarrow.Table: __row, loan_id, as_of, tier, policy_id, version, digest
    actions: Any  # pyarrow.Table: __row, loan_id, task_key, every Action field
    findings: Any  # pyarrow.Table: __row, seq, rule, kind, fields, message
    rejects: list[Reject]
    per_loan: dict[int, Decision]  # records SQL could not hold exactly, by input position
    unmatched_follow_ups: list[Reject] = field(default_factory=list)
    """Rows of the follow-ups table that reached no loan (none unread, none lost): a
    ``loan_id`` not in the loans table, no ``loan_id``, or a row that could not be read;
    ``index`` is the row's position in the follow-ups table."""

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
        collecting = gc.isenabled()
        gc.disable()  # millions of new, acyclic objects: no cycle to find, only full scans
        try:
            built = self._decisions()
        finally:
            if collecting:
                gc.enable()
        rejects = {r.index: r for r in self.rejects}
        total = len(built) + len(rejects)
        for index in range(total):
            found = built.get(index)
            yield found if found is not None else rejects[index]

    def _decisions(self) -> dict[int, Decision]:
        # column lists, not row dicts: pyarrow builds a Python list per column far faster
        decisions = _columns(self.decisions)
        actions = _columns(self.actions)
        findings = _columns(self.findings)
        action_rows = _spans(actions["__row"])
        finding_rows = _spans(findings["__row"])
        entries: dict[tuple[str, str], ChecklistEntry] = {}
        built: dict[int, Decision] = dict(self.per_loan)
        for i, row in enumerate(decisions["__row"]):
            if row not in built:
                built[row] = _decision(decisions, i, actions, action_rows.get(row, ()),
                                       findings, finding_rows.get(row, ()), entries)
        return built

    def counts(self) -> dict[str, int]:
        """A run summary's counts, from the tables: ``records`` (= ``decisions`` +
        ``rejected``), ``decisions``, ``rejected``, ``actions`` and the actions per status."""
        from ._require import require

        statuses = require("pyarrow.compute").value_counts(self.actions.column("status"))
        by_status = {str(item["values"]): int(item["counts"]) for item in statuses.to_pylist()}
        counts = {"records": self.decisions.num_rows + len(self.rejects),
                  "decisions": self.decisions.num_rows, "rejected": len(self.rejects),
                  "actions": self.actions.num_rows}
        counts.update(sorted(by_status.items()))
        return counts

    def write_jsonl(self, target: str | Path | IO[str]) -> None:
        """The decisions as JSON lines to a file path or a UTF-8 text stream: the bytes
        the command line's JSONL writer makes of :meth:`items`' decisions (one
        ``Decision.model_dump_json()`` a line, in input order, rejects left out), made
        by DuckDB from the tables (:mod:`.decision_lines`), no ``Decision`` built."""
        from .decision_lines import lines_query, write_lines
        from .engine import duckdb_session

        with duckdb_session() as con:
            for name in ("decisions", "actions", "findings"):
                con.register(f"__{name}", getattr(self, name))
            write_lines(con, lines_query("__decisions", "__actions", "__findings"), target)

    def record_errors(self) -> list[RecordError]:
        return [RecordError(index=r.index, loan_id=r.loan_id, field=r.field, message=r.error)
                for r in self.rejects]


def with_per_loan_rows(tables: tuple[Any, Any, Any],
                       per_loan: dict[int, Decision]) -> tuple[Any, Any, Any]:
    """The SQL tables with the loans the interpreter evaluated added, in input order.

    Every table then holds every evaluated loan, whichever engine computed it.
    """
    decisions, actions, findings = tables
    if not per_loan:
        return decisions, actions, findings
    extra = per_loan_tables(per_loan)
    schemas = table_schemas()

    def merged(name: str, table: Any, rows: Any, order: list[str]) -> Any:
        from ._require import require

        schema = schemas[name]
        both = require("pyarrow").concat_tables([table.select(schema.names).cast(schema), rows])
        return both.sort_by([(c, "ascending") for c in order])

    return (merged("decisions", decisions, extra[0], ["__row"]),
            merged("actions", actions, extra[1], ["__row", "deadline", "id"]),
            merged("findings", findings, extra[2], ["__row", "seq"]))


def table_schemas() -> dict[str, Any]:
    """The Arrow schema of each result table: explicit, because a column that is NULL in
    every SQL branch (no checklist anywhere, say) has no type of its own."""
    from ._require import require

    pa = require("pyarrow")
    text, day = pa.string(), pa.date32()
    item = pa.struct([("id", text), ("text", text)])
    return {
        "actions": pa.schema([
            ("__row", pa.int64()), ("loan_id", text), ("task_key", text), ("id", text),
            ("source", text), ("kind", text), ("title", text), ("status", text),
            ("due_date", day), ("deadline", day), ("channel", text), ("severity", text),
            ("category", text), ("reference", text), ("checklist_id", text),
            ("checklist", pa.list_(item)), ("reasons", pa.list_(text)),
            ("attempts", pa.int64()), ("last_attempt", day)]),
        "findings": pa.schema([
            ("__row", pa.int64()), ("seq", pa.int32()), ("rule", text), ("kind", text),
            ("fields", pa.list_(text)), ("message", text)]),
        "decisions": pa.schema([
            ("__row", pa.int64()), ("loan_id", text), ("as_of", day), ("tier", text),
            ("policy_id", text), ("policy_version", text), ("policy_digest", text)]),
    }


def per_loan_tables(per_loan: dict[int, Decision]) -> tuple[Any, Any, Any]:
    """The decisions, actions and findings tables of loans the interpreter evaluated."""
    from ...tasks import task_key
    from ._require import require

    pa = require("pyarrow")
    extra_decisions: list[dict[str, Any]] = []
    extra_actions: list[dict[str, Any]] = []
    extra_findings: list[dict[str, Any]] = []
    for row, d in sorted(per_loan.items()):
        extra_decisions.append({"__row": row, "loan_id": d.loan_id, "as_of": d.as_of,
                                "tier": d.tier, "policy_id": d.policy_id,
                                "policy_version": d.policy_version,
                                "policy_digest": d.policy_digest})
        for a in d.actions:
            extra_actions.append({
                "__row": row, "loan_id": d.loan_id,
                "task_key": task_key(d.loan_id, a.id, a.due_date), "id": a.id,
                "source": a.source, "kind": a.kind, "title": a.title, "status": a.status,
                "due_date": a.due_date, "deadline": a.deadline, "channel": a.channel,
                "severity": a.severity, "category": a.category, "reference": a.reference,
                "checklist_id": a.checklist_id,
                "checklist": [{"id": c.id, "text": c.text} for c in a.checklist],
                "reasons": list(a.reasons), "attempts": a.attempts,
                "last_attempt": a.last_attempt})
        extra_findings.extend({"__row": row, "seq": seq, "rule": f.rule, "kind": f.kind,
                               "fields": list(f.fields), "message": f.message}
                              for seq, f in enumerate(d.findings, start=1))
    schemas = table_schemas()
    return (pa.Table.from_pylist(extra_decisions, schema=schemas["decisions"]),
            pa.Table.from_pylist(extra_actions, schema=schemas["actions"]),
            pa.Table.from_pylist(extra_findings, schema=schemas["findings"]))


def _columns(table: Any) -> dict[str, list[Any]]:
    return {name: table.column(name).to_pylist() for name in table.column_names}


def _spans(rows: list[int]) -> dict[int, range]:
    """Where each loan's rows are in a table sorted by ``__row``."""
    spans: dict[int, range] = {}
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i] != rows[start]:
            spans[rows[start]] = range(start, i)
            start = i
    return spans


def _decision(d: dict[str, list[Any]], i: int, a: dict[str, list[Any]], action_rows: Any,
              f: dict[str, list[Any]], finding_rows: Any,
              entries: dict[tuple[str, str], ChecklistEntry]) -> Decision:
    actions = sorted((_action(a, j, entries) for j in action_rows), key=ACTION_ORDER)
    decision: Decision = Decision(
        loan_id=d["loan_id"][i], as_of=d["as_of"][i], tier=d["tier"][i],
        policy_id=d["policy_id"][i], policy_version=d["policy_version"][i],
        policy_digest=d["policy_digest"][i], actions=tuple(actions),
        findings=tuple(Finding(rule=f["rule"][j], kind=f["kind"][j],
                                    fields=tuple(f["fields"][j]), message=f["message"][j])
                       for j in finding_rows),
    )
    return decision


def _entry(item: dict[str, str], entries: dict[tuple[str, str], ChecklistEntry]
           ) -> ChecklistEntry:
    """One shared immutable entry per distinct item, as the interpreter shares them."""
    key = (item["id"], item["text"])
    found = entries.get(key)
    if found is None:
        found = entries[key] = ChecklistEntry(id=key[0], text=key[1])
    return found


def _action(a: dict[str, list[Any]], j: int,
            entries: dict[tuple[str, str], ChecklistEntry]) -> Action:
    checklist = a["checklist"][j] or ()
    action: Action = Action(
        id=a["id"][j], source=a["source"][j], kind=a["kind"][j], title=a["title"][j],
        status=a["status"][j], due_date=a["due_date"][j], deadline=a["deadline"][j],
        channel=a["channel"][j], severity=a["severity"][j], category=a["category"][j],
        reference=a["reference"][j], checklist_id=a["checklist_id"][j],
        checklist=tuple(_entry(c, entries) for c in checklist),
        reasons=tuple(a["reasons"][j]), attempts=a["attempts"][j],
        last_attempt=a["last_attempt"][j],
    )
    return action
