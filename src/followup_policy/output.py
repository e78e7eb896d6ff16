"""Writing decisions as JSONL, CSV or a terminal table.

JSONL is the stable machine format: exactly ``Decision.model_dump(mode="json")``.
CSV has one row per required action (a loan with none still gets one row, so
every decision is visible); the table is for people reading a terminal.

Each writer writes one decision with a single ``write`` call (or refuses it before
writing anything), so a decision that cannot be written (text the output encoding
cannot hold) never leaves half its rows behind: the caller rejects that record and
goes on. Files are written through :mod:`followup_policy.atomic`.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import IO, Literal, Protocol

from .decisions import Decision

__all__ = ["CSV_COLUMNS", "OutputFormat", "decision_json", "decision_json_bytes", "make_writer"]

OutputFormat = Literal["jsonl", "csv", "table"]

CSV_COLUMNS = (
    "loan_id", "as_of", "tier", "action_id", "source", "kind", "title", "status", "due_date",
    "deadline", "channel", "severity", "checklist", "findings", "policy_id", "policy_version",
)


class DecisionWriter(Protocol):
    def write(self, decision: Decision) -> None: ...
    def close(self) -> None: ...


def make_writer(stream: IO[str], fmt: OutputFormat) -> DecisionWriter:
    if fmt == "csv":
        return _CsvWriter(stream)
    if fmt == "table":
        return _TableWriter(stream)
    return _JsonlWriter(stream)


def decision_json(decision: Decision) -> str:
    """One decision as a compact JSON line (Unicode kept readable):
    ``json.dumps(decision.model_dump(mode="json"))`` without spaces, encoded in Rust."""
    return decision.model_dump_json()


def decision_json_bytes(decision: Decision) -> bytes:
    """:func:`decision_json` encoded as UTF-8, without the detour through ``str``.

    The JSON encoder makes UTF-8 bytes; ``model_dump_json`` decodes them into a ``str``
    that a UTF-8 output file then encodes again. Taking the bytes saves both. Same bytes,
    same errors (a lone surrogate is refused by the encoder, as by ``model_dump_json``).
    """
    return decision.model_dump_json_bytes()


class _JsonlWriter:
    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, decision: Decision) -> None:
        self._stream.write(decision_json(decision) + "\n")

    def close(self) -> None:
        self._stream.flush()


def _rows(decision: Decision) -> list[list[str]]:
    findings = "; ".join(f"{f.rule}: {f.message}" for f in decision.findings)
    head = [decision.loan_id, decision.as_of.isoformat(), decision.tier or ""]
    tail = [findings, decision.policy_id, decision.policy_version]
    if not decision.actions:
        return [head + [""] * (len(CSV_COLUMNS) - len(head) - len(tail)) + tail]
    return [
        head + [a.id, a.source, a.kind, a.title, a.status, a.due_date.isoformat(),
                a.deadline.isoformat(), a.channel or "", a.severity,
                ";".join(item.id for item in a.checklist)] + tail
        for a in decision.actions
    ]


class _CsvWriter:
    def __init__(self, stream: IO[str]) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")
        self._stream = stream
        stream.write(",".join(CSV_COLUMNS) + "\n")

    def write(self, decision: Decision) -> None:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerows(_rows(decision))
        self._stream.write(self._buffer.getvalue())  # all rows of a decision, or none

    def close(self) -> None:
        self._stream.flush()


_TABLE_COLUMNS = ("loan", "tier", "action", "status", "due", "deadline", "channel", "title")


def _width(text: str) -> int:
    """Display width: CJK characters take two terminal cells."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class _TableWriter:
    """Buffers rows to align columns; meant for a screenful, not a million loans."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._rows: list[tuple[str, ...]] = []

    def write(self, decision: Decision) -> None:
        rows: list[tuple[str, ...]] = [
            (decision.loan_id, decision.tier or "-", a.id, a.status, a.due_date.isoformat(),
             a.deadline.isoformat(), a.channel or "", a.title) for a in decision.actions]
        if not rows:
            rows = [(decision.loan_id, decision.tier or "-", "-", "none", "", "", "", "")]
        for row in rows:  # refuse now what could not be printed at close
            "".join(row).encode("utf-8")
        self._rows.extend(rows)

    def close(self) -> None:
        rows = [_TABLE_COLUMNS, *self._rows]
        widths = [max(_width(row[i]) for row in rows) for i in range(len(_TABLE_COLUMNS))]
        for row in rows:
            cells = [_pad(cell, widths[i]) for i, cell in enumerate(row)]
            self._stream.write("  ".join(cells).rstrip() + "\n")
        self._stream.flush()
