"""Inputs of the portfolio engine: any table of loans (and of follow-ups) to checked tables.

Every record is checked by the policy's own :class:`SnapshotReader`, the very code
the per-loan path runs, so a bad record is rejected with exactly the same message
(rows in = decisions + rejects). The checked values become two Arrow tables the SQL
reads: ``loans`` (one row per record, keyed by its input position ``__row``) and
``follow_ups`` (long form, ``__seq`` numbering each loan's entries by date, then input
order, as the interpreter orders them). A record whose values SQL cannot hold exactly (a
decimal with more than ten places, an integer beyond 64 bits) is left to the interpreter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ...errors import SnapshotError
from ...io.formats import open_records
from ...io.values import plain_value
from ...policy import Policy
from ...records import Record, Unreadable
from ...snapshots import FollowUp, Snapshot, follow_ups_value, loan_id_of
from ._require import require
from .dialect import DECIMAL_SCALE
from .plan import DECIMAL_TEXT

__all__ = ["CheckedInput", "FollowUpTable", "Reject", "check_records", "plain_row",
           "records_from", "with_history"]

_INT64 = 2**63


@dataclass(frozen=True, slots=True)
class Reject:
    """An input record that was not evaluated, with the per-loan path's message."""

    index: int
    line: int | None
    loan_id: str | None
    field: str | None
    error: str


@dataclass
class CheckedInput:
    """Checked columns for SQL, plus what SQL does not evaluate (rejects, fallbacks)."""

    loans: Any  # pyarrow.Table
    follow_ups: Any  # pyarrow.Table
    rejects: list[Reject] = field(default_factory=list)
    fallback: list[tuple[int, Snapshot, date]] = field(default_factory=list)
    count: int = 0
    unmatched_follow_ups: list[Reject] = field(default_factory=list)
    """Rows of the follow-ups table that reached no loan (``index``: the row's position)."""


def records_from(source: Any, follow_ups: Any = None) -> Iterator[Record | Unreadable]:
    """Numbered records from a path (Parquet, JSONL, CSV, JSON), an Arrow table, a pandas
    or polars DataFrame, or an iterable of mappings; ``follow_ups`` (long form: loan_id,
    action, date, channel, outcome; or a :class:`FollowUpTable` of it) is merged into
    each loan's history."""
    records = _raw_records(source)
    if follow_ups is None:
        yield from records
        return
    history = follow_ups if isinstance(follow_ups, FollowUpTable) else FollowUpTable(follow_ups)
    yield from with_history(records, history)


def with_history(records: Iterable[Record | Unreadable], history: FollowUpTable
                 ) -> Iterator[Record | Unreadable]:
    """Each loan record with the rows of ``history`` naming its ``loan_id`` added to its
    own ``follow_ups`` (a list, or JSON text as a CSV cell carries it). A record whose
    own ``follow_ups`` is not a list passes unchanged, for the reader to reject by name."""
    for item in records:
        if isinstance(item, Record) and isinstance(item.data, Mapping):
            key = loan_id_of(item.data)
            entries = history.entries(key) if key is not None else None
            own = _own_entries(item.data.get("follow_ups")) if entries else None
            if entries and own is not None:
                data = dict(item.data)
                data["follow_ups"] = [*own, *entries]
                item = Record(item.index, item.line, data)
        yield item


def _own_entries(value: Any) -> list[Any] | None:
    """A record's own history as a list, read as the snapshot reader reads it; None when
    the reader will reject it."""
    try:
        value = follow_ups_value(value)
    except ValueError:
        return None
    return list(value) if isinstance(value, list | tuple) else None


class FollowUpTable:
    """A long follow-ups table grouped by loan; it remembers which rows reached a loan,
    so a row naming no loan of the book (or none at all) is reported, never dropped."""

    def __init__(self, source: Any) -> None:
        self._by_loan: dict[str, list[tuple[int, int | None, dict[str, Any]]]] = {}
        self._problems: list[Reject] = []
        self._used: set[str] = set()
        for item in _raw_records(source):
            if isinstance(item, Unreadable):
                self._problems.append(Reject(item.index, item.line, None, None, item.message))
                continue
            if not isinstance(item.data, Mapping):
                self._problems.append(Reject(item.index, item.line, None, None,
                                             "expected a follow-up row with loan_id, action"
                                             " and date"))
                continue
            # an empty CSV cell is a missing value, as the snapshot reader reads one
            entry = {k: v for k, v in item.data.items()
                     if not (isinstance(v, str) and not v.strip())}
            key = loan_id_of(entry)
            entry.pop("loan_id", None)
            if key is None:
                self._problems.append(Reject(item.index, item.line, None, "loan_id",
                                             "follow-up row without a loan_id"))
                continue
            self._by_loan.setdefault(key, []).append((item.index, item.line, entry))

    def entries(self, loan_id: str) -> list[dict[str, Any]]:
        """The entries naming ``loan_id``, in table order (marked as having reached it)."""
        found = self._by_loan.get(loan_id)
        if not found:
            return []
        self._used.add(loan_id)
        return [entry for _, _, entry in found]

    def rows(self) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """(loan id, position in the table, entry) of every row that names a loan."""
        for key, rows in self._by_loan.items():
            for index, _, entry in rows:
                yield key, index, entry

    def reach(self, loan_ids: Iterable[str]) -> None:
        """Mark the rows naming ``loan_ids`` as having reached a loan (read elsewhere)."""
        self._used.update(loan_ids)

    def unmatched(self) -> list[Reject]:
        """The rows that reached no loan, in table order (call after reading the loans)."""
        orphans = [Reject(index, line, key, "loan_id",
                          f"follow-up row for loan '{key}', which is not in the loans table")
                   for key, rows in self._by_loan.items() if key not in self._used
                   for index, line, _ in rows]
        return sorted([*self._problems, *orphans], key=_position)


def _position(reject: Reject) -> int:
    return reject.index


def _raw_records(source: Any) -> Iterator[Record | Unreadable]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.suffix.lower() == ".parquet":
            pq = require("pyarrow.parquet")
            yield from _table_rows(pq.read_table(path).to_pylist())
            return
        # the command line's reader: encoding detected (GBK CSV), the same rejects
        with open_records(str(path)) as records:
            yield from records
        return
    table = _pylist(source)
    if table is not None:
        yield from _table_rows(table)
        return
    for index, row in enumerate(source):  # snapshots as given, as Policy.evaluate takes them
        if isinstance(row, Mapping):
            row = {k: v for k, v in row.items() if v is not None}
        yield Record(index, None, row)


def _pylist(source: Any) -> list[Any] | None:
    """The rows of an Arrow table or a polars/pandas DataFrame; None for anything else."""
    if hasattr(source, "to_pylist"):  # pyarrow.Table / RecordBatch
        return list(source.to_pylist())
    if hasattr(source, "to_arrow"):  # polars DataFrame
        return list(source.to_arrow().to_pylist())
    if hasattr(source, "to_dict") and hasattr(source, "columns"):  # pandas DataFrame
        pa = require("pyarrow")
        return list(pa.Table.from_pandas(source, preserve_index=False).to_pylist())
    return None


def _table_rows(rows: Iterable[Any]) -> Iterator[Record]:
    """A table's rows as records (see :func:`plain_row`)."""
    for index, row in enumerate(rows):
        yield Record(index, None, plain_row(row))


def plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A table row's cells as the per-loan readers read a table's
    (:func:`~followup_policy.io.plain_value`: a Parquet ``0.1300`` is ``0.13``, a
    timestamp at midnight a date, a missing cell absent)."""
    return {k: value for k, v in row.items() if (value := plain_value(v)) is not None}


def check_records(policy: Policy, records: Iterable[Record | Unreadable],
                  as_of: date | None, default_as_of: date | None = None) -> CheckedInput:
    """Check every record with the policy's reader; build the SQL input tables.

    ``as_of`` overrides every snapshot's own date; ``default_as_of`` is used only for a
    snapshot without one (the command line passes today, as the per-loan path does).
    """
    pa = require("pyarrow")
    fields = policy.document.fields
    names = list(fields)
    numeric = [n for n, spec in fields.items() if spec.type in ("int", "decimal")]  # _fits
    columns: dict[str, list[Any]] = {n: [] for n in ["__row", "loan_id", "disbursement_date",
                                                     "as_of", *names]}
    texts: dict[str, list[Any]] = {n: [] for n, spec in fields.items() if spec.type == "decimal"}
    fu: dict[str, list[Any]] = {"__row": [], "__seq": [], "action": [], "date": [],
                                "channel": [], "outcome": []}
    checked = CheckedInput(None, None)
    read = policy._reader.read
    for item in records:
        checked.count += 1
        if isinstance(item, Unreadable):
            checked.rejects.append(Reject(item.index, item.line, None, None, item.message))
            continue
        try:
            snapshot = read(item.data)
            on = as_of or snapshot.as_of or default_as_of
            if on is None:
                raise SnapshotError(
                    "no evaluation date: pass as_of or include 'as_of' in the snapshot",
                    loan_id=snapshot.loan_id, field="as_of")
        except SnapshotError as exc:
            loan = exc.loan_id if exc.loan_id is not None else loan_id_of(item.data)
            checked.rejects.append(Reject(item.index, item.line, loan, exc.field, str(exc)))
            continue
        values = snapshot.values
        if not all(_fits(values[n]) for n in numeric):
            checked.fallback.append((item.index, snapshot, on))
            continue
        columns["__row"].append(item.index)
        columns["loan_id"].append(snapshot.loan_id)
        columns["disbursement_date"].append(snapshot.disbursement_date)
        columns["as_of"].append(on)
        for n in names:
            columns[n].append(values[n])
        for n, text in texts.items():
            value = values[n]
            text.append(None if value is None else str(value))
        # __seq: the interpreter's entry order (by date, then input order; a stable sort)
        for seq, entry in enumerate(sorted(snapshot.follow_ups, key=_entry_date)):
            fu["__row"].append(item.index)
            fu["__seq"].append(seq)
            fu["action"].append(entry.action)
            fu["date"].append(entry.date)
            fu["channel"].append(entry.channel)
            fu["outcome"].append(entry.outcome)
    types = {"__row": pa.int64(), "loan_id": pa.string(), "disbursement_date": pa.date32(),
             "as_of": pa.date32()}
    for n, spec in fields.items():
        types[n] = _arrow_type(pa, spec.type)
    arrays = {n: pa.array(columns[n], type=types[n]) for n in columns}
    for n, text in texts.items():
        arrays[DECIMAL_TEXT + n] = pa.array(text, type=pa.string())
    checked.loans = pa.table(arrays)
    checked.follow_ups = pa.table({
        "__row": pa.array(fu["__row"], type=pa.int64()),
        "__seq": pa.array(fu["__seq"], type=pa.int64()),
        "action": pa.array(fu["action"], type=pa.string()),
        "date": pa.array(fu["date"], type=pa.date32()),
        "channel": pa.array(fu["channel"], type=pa.string()),
        "outcome": pa.array(fu["outcome"], type=pa.string()),
    })
    return checked


def _entry_date(entry: FollowUp) -> date:
    return entry.date


def _arrow_type(pa: Any, kind: str) -> Any:
    return {
        "int": pa.int64(),
        "decimal": pa.decimal128(38, DECIMAL_SCALE),
        "string": pa.string(),
        "enum": pa.string(),
        "bool": pa.bool_(),
        "date": pa.date32(),
    }[kind]


def _fits(value: Any) -> bool:
    """Whether SQL holds ``value`` exactly (else the record is evaluated per loan)."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return (isinstance(exponent, int) and exponent >= -DECIMAL_SCALE
                and abs(value) < Decimal(10) ** (38 - DECIMAL_SCALE - 10))
    if isinstance(value, int) and not isinstance(value, bool):
        return -_INT64 < value < _INT64
    return True
