"""Column mappings: a bank's export, as it is, onto the snapshot fields a policy reads.

A mapping is a small YAML file kept next to the export job::

    date_formats: ["%Y/%m/%d", "%Y年%m月%d日"]   # tried in order for every date field
    columns:
      贷款编号: loan_id
      放款日期: disbursement_date
      房产类型: {field: loan_type, values: {住宅: residential, 商业用房: commercial}}
      是否二套: {field: second_home, values: {是: true, 否: false}}
    follow_ups:                                 # history kept in columns, one group per action
      channels: {电话: phone, 上门: site_visit}
      outcomes: {已接通: reached, 未接通: no_answer}
      columns:
        - {action: m3, date: 3个月回访日期, channel: 3个月回访方式, outcome: 3个月回访结果}

It renames columns, translates coded values and reads local date formats. It never
checks values: the policy's snapshot reader does that and names the field, so a
value the mapping does not know reaches it unchanged and is reported there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import Issue, Location, PolicyLoadError, did_you_mean
from ..loading import location_of, read_yaml_file, to_plain
from .errors import InputError
from .values import is_missing

if TYPE_CHECKING:
    from ..policy import Policy

__all__ = ["ColumnMapping", "ColumnRule", "HistoryColumns", "load_mapping"]

_BUILTIN_DATES = frozenset({"disbursement_date", "as_of"})
_TOP_KEYS = ("columns", "date_formats", "follow_ups", "sheet", "unmapped")
_COLUMN_KEYS = ("field", "values", "date_formats", "optional")
_HISTORY_KEYS = ("columns", "channels", "outcomes", "date_formats")
_GROUP_KEYS = ("action", "date", "channel", "outcome", "performed_by")


@dataclass(frozen=True, slots=True)
class ColumnRule:
    """One source column: the field it fills, and how its values are translated."""

    source: str
    field: str
    values: Mapping[str, Any] | None = None
    date_formats: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True, slots=True)
class HistoryColumns:
    """Columns that together hold one follow-up entry for ``action``."""

    action: str
    date: str
    channel: str | None = None
    outcome: str | None = None
    performed_by: str | None = None

    def sources(self) -> tuple[str, ...]:
        return tuple(c for c in (self.date, self.channel, self.outcome, self.performed_by) if c)


@dataclass(frozen=True)
class ColumnMapping:
    """A parsed mapping; :meth:`apply` turns one source row into a snapshot dict.

    ``date_fields`` are the fields whose text is read with ``date_formats``:
    ``disbursement_date``, ``as_of``, the policy's date fields once bound with
    :meth:`for_policy`, and every column that names its own ``date_formats``.
    """

    columns: tuple[ColumnRule, ...] = ()
    date_formats: tuple[str, ...] = ()
    history: tuple[HistoryColumns, ...] = ()
    channels: Mapping[str, str] = field(default_factory=dict)
    outcomes: Mapping[str, str] = field(default_factory=dict)
    history_date_formats: tuple[str, ...] = ()
    keep_unmapped: bool = True
    sheet: str | None = None
    date_fields: frozenset[str] = _BUILTIN_DATES
    source: str = "<mapping>"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<mapping>") -> ColumnMapping:
        """A mapping from a dict of the same shape as the YAML file.

        Raises:
            PolicyLoadError: every problem of the mapping at once.
        """
        return _parse(data, source, lambda _path: Location(source, 1, 1))

    def for_policy(self, policy: Policy) -> ColumnMapping:
        """This mapping, reading the policy's date fields with ``date_formats`` too."""
        dates = {name for name, spec in policy.document.fields.items() if spec.type == "date"}
        return replace(self, date_fields=self.date_fields | dates)

    def check_header(self, header: Sequence[str], where: str) -> None:
        """Refuse an export that lacks a column the mapping needs.

        Raises:
            InputError: naming the first missing column, with a did-you-mean.
        """
        present = set(header)
        needed = [rule.source for rule in self.columns if not rule.optional]
        needed += [name for group in self.history for name in group.sources()]
        for name in needed:
            if name not in present:
                hint = did_you_mean(name, header)
                extra = f"; did you mean '{hint}'?" if hint else ""
                raise InputError(f"{where}: column '{name}' named in the mapping {self.source}"
                                 f" is not in the header{extra}")

    def apply(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The snapshot dict for one source row (a new dict; ``row`` is untouched)."""
        mapped = {rule.source for rule in self.columns}
        mapped.update(name for group in self.history for name in group.sources())
        out: dict[str, Any] = (
            {key: value for key, value in row.items() if key not in mapped}
            if self.keep_unmapped else {}
        )
        for rule in self.columns:
            if rule.source in row:
                out[rule.field] = self._value(rule, row[rule.source])
        if self.history or self.channels or self.outcomes:
            history = self._history(row, out.get("follow_ups"))
            if history is not None:
                out["follow_ups"] = history
        return out

    def _value(self, rule: ColumnRule, value: Any) -> Any:
        if rule.values is not None and _present(value):
            key = value.strip() if isinstance(value, str) else str(value)
            if key in rule.values:
                value = rule.values[key]
        formats = rule.date_formats or (
            self.date_formats if rule.field in self.date_fields else ())
        return _read_date(value, formats)

    def _history(self, row: Mapping[str, Any], existing: Any) -> Any:
        entries: list[Any]
        if existing is None or existing == "":
            entries = []
        elif isinstance(existing, str):
            try:
                entries = json.loads(existing)
            except json.JSONDecodeError:
                return existing  # the snapshot reader reports the bad cell
        else:
            entries = existing
        if not isinstance(entries, list | tuple):
            return existing
        formats = self.history_date_formats or self.date_formats
        result = [self._entry(entry, formats) if isinstance(entry, Mapping) else entry
                  for entry in entries]
        for group in self.history:
            when = row.get(group.date)
            if not _present(when):
                continue  # no follow-up recorded in this group
            entry: dict[str, Any] = {"action": group.action, "date": when}
            for key in ("channel", "outcome", "performed_by"):
                column = getattr(group, key)
                if column is not None and _present(row.get(column)):
                    entry[key] = row[column]
            result.append(self._entry(entry, formats))
        return result if result or existing is not None else None

    def _entry(self, entry: Mapping[str, Any], formats: tuple[str, ...]) -> dict[str, Any]:
        out = dict(entry)
        if "date" in out:
            out["date"] = _read_date(out["date"], formats)
        for key, table in (("channel", self.channels), ("outcome", self.outcomes)):
            value = out.get(key)
            if isinstance(value, str) and value.strip() in table:
                out[key] = table[value.strip()]
        return out


def _present(value: Any) -> bool:
    """Not an empty cell (``None``, blank text, or a DataFrame's NaN/NaT)."""
    if isinstance(value, str):
        return bool(value.strip())
    return not is_missing(value)


def _read_date(value: Any, formats: tuple[str, ...]) -> Any:
    """``value`` as a date if one of ``formats`` reads it whole; else unchanged."""
    if not formats or isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # 20261030 from a numeric column
    if not isinstance(value, str):
        return value
    text = value.strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return value


def load_mapping(path: str | os.PathLike[str], policy: Policy | None = None) -> ColumnMapping:
    """Read a mapping file; with ``policy``, its date fields use ``date_formats`` too.

    Raises:
        PolicyLoadError: every problem of the file, at ``file:line:column``.
    """
    root = read_yaml_file(path)
    file = os.fspath(path)
    mapping = _parse(to_plain(root), file,
                     lambda at: location_of(root, at, key=True))
    return mapping.for_policy(policy) if policy is not None else mapping


Locate = Callable[[Sequence[str | int]], Location]


class _Problems:
    def __init__(self, locate: Locate) -> None:
        self.locate = locate
        self.issues: list[Issue] = []

    def add(self, path: Sequence[str | int], message: str) -> None:
        where = self.locate(path)
        self.issues.append(Issue(where.file, where.line, where.column, message))

    def unknown_keys(self, data: Mapping[str, Any], allowed: Sequence[str],
                     path: Sequence[str | int]) -> None:
        for key in data:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                extra = f"; did you mean '{hint}'?" if hint else ""
                self.add([*path, key], f"unknown key '{key}' (allowed: {', '.join(allowed)})"
                                       f"{extra}")


def _parse(data: Any, source: str, locate: Locate) -> ColumnMapping:
    problems = _Problems(locate)
    if not isinstance(data, Mapping):
        problems.add([], "a mapping file is a YAML mapping with a 'columns' key")
        raise PolicyLoadError(problems.issues)
    problems.unknown_keys(data, _TOP_KEYS, [])
    formats = _formats(data.get("date_formats"), ["date_formats"], problems)
    columns = _columns(data.get("columns"), problems)
    history, channels, outcomes, history_formats = _history_spec(data.get("follow_ups"),
                                                                 problems)
    unmapped = data.get("unmapped", "keep")
    if unmapped not in ("keep", "drop"):
        problems.add(["unmapped"], "unmapped is 'keep' (default) or 'drop'")
    sheet = data.get("sheet")
    if sheet is not None and not isinstance(sheet, str):
        problems.add(["sheet"], "sheet is the name of the worksheet to read")
    if problems.issues:
        raise PolicyLoadError(problems.issues)
    explicit_dates = {rule.field for rule in columns if rule.date_formats}
    return ColumnMapping(
        columns=columns, date_formats=formats, history=history, channels=channels,
        outcomes=outcomes, history_date_formats=history_formats,
        keep_unmapped=unmapped != "drop", sheet=sheet if isinstance(sheet, str) else None,
        date_fields=_BUILTIN_DATES | explicit_dates, source=source,
    )


def _formats(raw: Any, path: list[str | int], problems: _Problems) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(f, str) for f in items):
        problems.add(path, "date_formats is a list of strptime formats such as '%Y/%m/%d'")
        return ()
    for index, fmt in enumerate(items):
        sample = date(2026, 10, 30)
        try:
            ok = datetime.strptime(sample.strftime(fmt), fmt).date() == sample
        except ValueError:
            ok = False
        if not ok:
            problems.add([*path, index] if isinstance(raw, list) else path,
                         f"'{fmt}' is not a date format that reads back a whole date"
                         " (use %Y, %m and %d, e.g. '%Y/%m/%d' or '%Y年%m月%d日')")
    return tuple(items)


def _columns(raw: Any, problems: _Problems) -> tuple[ColumnRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        problems.add(["columns"], "columns maps each source header to a field name")
        return ()
    rules: list[ColumnRule] = []
    targets: dict[str, str] = {}
    for source, spec in raw.items():
        path: list[str | int] = ["columns", source]
        if isinstance(spec, str):
            rule = ColumnRule(source, spec)
        elif isinstance(spec, Mapping):
            problems.unknown_keys(spec, _COLUMN_KEYS, path)
            target = spec.get("field")
            if not isinstance(target, str) or not target:
                problems.add(path, f"column '{source}' needs 'field: <snapshot field>'")
                continue
            values = spec.get("values")
            if values is not None and not isinstance(values, Mapping):
                problems.add([*path, "values"], "values maps source values to field values")
                values = None
            rule = ColumnRule(
                source, target,
                values={str(k): _plain(v) for k, v in values.items()} if values else None,
                date_formats=_formats(spec.get("date_formats"), [*path, "date_formats"],
                                      problems),
                optional=spec.get("optional") is True,
            )
        else:
            problems.add(path, f"column '{source}': expected a field name or"
                               " {field: ..., values: ...}")
            continue
        if rule.field in targets:
            problems.add(path, f"columns '{targets[rule.field]}' and '{source}' both fill"
                               f" field '{rule.field}'")
        targets[rule.field] = source
        rules.append(rule)
    return tuple(rules)


def _plain(value: Any) -> Any:
    """YAML numbers are exact decimals; a whole one maps to an int."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _history_spec(raw: Any, problems: _Problems) -> tuple[
        tuple[HistoryColumns, ...], dict[str, str], dict[str, str], tuple[str, ...]]:
    if raw is None:
        return (), {}, {}, ()
    if not isinstance(raw, Mapping):
        problems.add(["follow_ups"], "follow_ups has 'columns', 'channels', 'outcomes'")
        return (), {}, {}, ()
    problems.unknown_keys(raw, _HISTORY_KEYS, ["follow_ups"])
    tables = []
    for key in ("channels", "outcomes"):
        table = raw.get(key) or {}
        if not isinstance(table, Mapping) or not all(isinstance(v, str) for v in table.values()):
            problems.add(["follow_ups", key], f"{key} maps source values to {key[:-1]} names")
            table = {}
        tables.append({str(k): str(v) for k, v in table.items()})
    groups: list[HistoryColumns] = []
    items = raw.get("columns") or []
    if not isinstance(items, list):
        problems.add(["follow_ups", "columns"], "columns is a list of"
                     " {action, date, channel, outcome} column groups")
        items = []
    for index, item in enumerate(items):
        path: list[str | int] = ["follow_ups", "columns", index]
        if not isinstance(item, Mapping):
            problems.add(path, "expected {action: <id>, date: <column>, ...}")
            continue
        problems.unknown_keys(item, _GROUP_KEYS, path)
        names = {key: item.get(key) for key in _GROUP_KEYS}
        if not all(isinstance(names[key], str) for key in ("action", "date")) or not all(
                v is None or isinstance(v, str) for v in names.values()):
            problems.add(path, "a history group names 'action' (an action id) and 'date'"
                               " (a column), and optionally channel/outcome/performed_by")
            continue
        groups.append(HistoryColumns(**names))  # type: ignore[arg-type]  # checked above
    formats = _formats(raw.get("date_formats"), ["follow_ups", "date_formats"], problems)
    return tuple(groups), tables[0], tables[1], formats


