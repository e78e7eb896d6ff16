"""JSONL files checked in DuckDB: the fast path of the portfolio engine for JSON lines.

A JSONL file read record by record goes through the per-loan
:class:`~followup_policy.snapshots.SnapshotReader`, which costs more than the SQL of
the plan itself. Here Python only decodes the file and splits it into lines, numbered
exactly as :func:`followup_policy.records.read_records` numbers records and lines (blank
lines skipped but counted; ``\\n``, ``\\r\\n`` or a lone ``\\r``); DuckDB then checks
every line against a *conservative* restatement of what ``json.loads(text,
parse_float=Decimal)`` and the reader make of it, as :mod:`.typed` does for typed
columns. A line is fast only when its reading is certain:

- plain JSON that DuckDB and Python read alike: an object without duplicate keys, no
  backslash escape, no trailing comma (DuckDB takes one, Python does not), at most
  :data:`_MAX_OPENERS` brackets (Python's parser recurses), no integer over Python's
  4,300 digits;
- each declared field missing (absent or ``null``) or of its own JSON type and within
  what the reader accepts (as :mod:`.typed` checks a typed column). DuckDB holds an
  integer exactly but a decimal as a double, so a decimal's text is read off the line
  (its key met once on it) and must be plain: up to 18 digits and 6 places;
- ``follow_ups`` missing or a list of at most ``MAX_FOLLOW_UPS`` objects, each checked
  as :mod:`.typed` checks an entry.

A separate follow-ups table (``--follow-ups``) is read as the record path reads it
(:class:`~.tables.FollowUpTable`); its rows join the entries of the loan they name, after
the loan's own, each checked as an entry. Every other line (and every line of a file
that is not UTF-8 or GB18030) goes through the reader with its own index and line
number (and its table rows): the per-loan path's verdict and message.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ...policy import Policy
from ...records import Record, Unreadable, codec_label, parse_jsonl_line
from ...snapshots import MAX_FOLLOW_UPS, MAX_TEXT_LENGTH
from ._require import require
from .dialect import DECIMAL_SCALE
from .plan import DECIMAL_TEXT
from .tables import CheckedInput, FollowUpTable, check_records, with_history
from .typed import (
    _date_ok,
    _default_sql,
    _literal,
    _number,
    _text_ok,
    bounds_ok,
    missing_or,
    q,
    register_checked,
)

__all__ = ["JsonlFile", "check_jsonl", "is_jsonl_path", "jsonl_file"]

_SUFFIXES = (".jsonl", ".ndjson")
_READ_BYTES = 1 << 22
_LINE_BREAKS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"
"""Characters ``str.splitlines`` breaks at but a text file (``newline=""``) does not."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = "\\"
"""Stands in (for DuckDB) for a line Arrow cannot hold (a byte its encoding could not
decode): a backslash, so the line goes to the reader, with its own text."""

# the cheap checks of a line's text (see _rows_sql)
_MAX_OPENERS = 400
"""Opening brackets a fast line may have: its nesting is less deep than that, far inside
what Python's recursive JSON parser takes (and its history shorter than MAX_FOLLOW_UPS)."""
_LONG_LINE = 4300
"""Characters a line needs to hold an integer over Python's 4,300-digit limit; a longer
line is fast only without a run of :data:`_LONG_DIGITS` digits."""
_LONG_DIGITS = 1000
_TRAILING_COMMA = ",[ \\t]*[}\\]]"
_ISO = "'^[0-9]{4}-[0-9]{2}-[0-9]{2}$'"
_INTEGER_TEXT = "'^-?[0-9]{1,18}$'"
"""An int field's text DuckDB and the reader read as the same whole number, whether the
JSON held a number or a string (the reader reads ``"007"`` as 7, as DuckDB does)."""
_CANONICAL_INTEGER = "'^(0|-?[1-9][0-9]{0,17})$'"
"""A decimal field's whole number: the reader prints a JSON integer or such a string so."""
_PLAIN_DECIMAL = "'^-?(0|[1-9][0-9]{0,17})\\.[0-9]{1,6}$'"
"""A decimal with a point, exactly held by DECIMAL(38, 10) and printed by Python's
``Decimal`` as written (up to 6 places: no exponent form)."""
_LINES = "__fp_jl_lines"
_ROWS = "__fp_jl_rows"
_ENTRIES = "__fp_jl_entries"
_FAST = "__fp_jl_fast"
_TABLE = "__fp_jl_table"  # the rows of a separate follow-ups table, by loan id
_TABLE_POSITION = 1_000_000
"""Added to a table row's position: a loan's table entries come after its own (at most
:data:`_MAX_OPENERS` of those), in table order, as ``tables.with_history`` merges them."""


@dataclass(frozen=True)
class JsonlFile:
    """A JSONL file and the ``codec`` and ``errors`` its text is decoded with, as the
    record path (:func:`followup_policy.io.formats.open_records`) opens it."""

    path: str | Path
    codec: str
    errors: str

    def parse(self, index: int, number: int, line: str) -> Record | Unreadable:
        """One non-blank line as the record path reads it (a BOM before it dropped)."""
        return parse_jsonl_line(index, number, line.removeprefix("\ufeff"),
                                codec_label(self.codec))


def is_jsonl_path(source: Any) -> bool:
    """A path whose name says JSON lines (``.jsonl``, ``.ndjson``)."""
    return isinstance(source, str | Path) and Path(source).suffix.lower() in _SUFFIXES


def jsonl_file(path: str | Path, encoding: str | None = None) -> JsonlFile | None:
    """``path`` read as the record path reads it (``encoding``, else the detected one), or
    None when this path cannot split it into lines itself (e.g. UTF-16).

    Raises:
        InputError: as the record path would (a missing file, an unknown encoding).
    """
    from ...io.formats import text_codec

    codec, errors = text_codec(str(path), encoding)
    return JsonlFile(path, codec, errors) if _block_codec(codec) else None


def _block_codec(codec: str) -> str | None:
    """The codec to decode a chunk with: one where a newline byte is always a newline."""
    name = codecs.lookup(codec).name
    if name in ("utf-8", "utf-8-sig"):
        return "utf-8"
    return "gb18030" if name == "gb18030" else None


# -- lines -------------------------------------------------------------------------------------

@dataclass
class _Lines:
    """The non-blank lines as Arrow arrays, and the few Arrow cannot hold."""

    rows: list[Any] = field(default_factory=list)  # pyarrow arrays of line numbers
    texts: list[Any] = field(default_factory=list)  # pyarrow arrays of line texts
    unsafe: dict[int, str] = field(default_factory=dict)  # index -> the line as read
    count: int = 0


def _read_lines(source: JsonlFile) -> _Lines | None:
    """The file's non-blank lines, numbered; None if it cannot be decoded as a whole."""
    pa = require("pyarrow")
    codec = _block_codec(source.codec)
    if codec is None:
        return None
    found = _Lines()
    number = 0
    first = True
    with open(source.path, "rb") as raw:
        for block in _blocks(raw):
            clean = True
            try:
                text = block.decode(codec)
            except UnicodeDecodeError:
                if source.errors != "surrogateescape":
                    return None
                text = block.decode(codec, source.errors)
                clean = False  # bytes it could not decode, kept as lone surrogates
            if first and codecs.lookup(source.codec).name == "utf-8-sig":
                text = text.removeprefix("\ufeff")
            first = False
            lines = _split(text)
            kept = [i for i, line in enumerate(lines) if line and not line.isspace()]
            numbers = [number + 1 + i for i in kept]
            number += len(lines)
            if len(kept) != len(lines):
                lines = [lines[i] for i in kept]
            if not clean:
                for i, line in enumerate(lines):
                    if _SURROGATE.search(line):
                        found.unsafe[found.count + i] = line
                        lines[i] = _UNSAFE
            found.rows.append(pa.array(numbers, type=pa.int64()))
            found.texts.append(pa.array(lines, type=pa.string()))
            found.count += len(lines)
    return found


def _blocks(raw: Any) -> Iterator[bytes]:
    from ...blocks import read_blocks

    return read_blocks(raw, _READ_BYTES)


def _split(text: str) -> list[str]:
    """The lines of ``text`` (a whole number of lines) without their ends, split where a
    text file opened with ``newline=""`` splits them."""
    if not any(char in text for char in _LINE_BREAKS):
        return text.splitlines()
    return [line.rstrip("\r\n") for line in io.StringIO(text, newline="")]


# -- SQL ---------------------------------------------------------------------------------------
# A line is parsed by ``json_transform`` into one VARCHAR per declared key (a string's
# text; a number as DuckDB writes it back: an integer exactly, a double shortest, always
# with '.', 'e', NaN or Infinity; true/false; an object or list as JSON text; NULL for
# null or absent), and ``follow_ups`` into a list of entries of VARCHARs. Which JSON type
# a text came from is not kept, so each check takes only texts that the reader reads the
# same whatever the type was (see _not_number, _field_sql).

_BUILTIN = ("loan_id", "disbursement_date", "as_of")
_HISTORY = "follow_ups"
_ENTRY_KEYS = ("action", "date", "channel", "outcome")


def _structure(names: list[str]) -> str:
    structure: dict[str, Any] = dict.fromkeys(names, "VARCHAR")
    structure[_HISTORY] = [dict.fromkeys(_ENTRY_KEYS, "VARCHAR")]
    return json.dumps(structure)


def _regex_name(name: str) -> str:
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", name)


def _plain_name(name: str) -> bool:
    """A key written on a fast line exactly as it is spelled (no escape needed)."""
    return '"' not in name and "\\" not in name and not any(ord(c) < 0x20 for c in name)


def _values_of(name: str) -> str:
    """Every value of key ``name`` on the line: ``"`` for a string, a number's text as
    written (a fast line has no escapes, so no quote inside a string: every key is found)."""
    pattern = f'"{_regex_name(name)}"[ \\t]*:[ \\t]*("|-?[0-9][0-9.eE+-]*)'
    return f"regexp_extract_all(text, {_literal(pattern)}, 1)"


def _distinct(keys: str) -> str:
    return f"({keys} IS NOT NULL AND len({keys}) = len(list_distinct({keys})))"


def _date_of(text: str) -> str:
    """``YYYY-MM-DD`` as a DATE (NULL for anything else, or no such day)."""
    return f"(CASE WHEN regexp_matches({text}, {_ISO}) THEN TRY_CAST({text} AS DATE) END)"


def _not_number(text: str) -> str:
    """A text the reader reads as this text whether it came from a JSON string or not: not
    true/false, an object or list, or a double (an integer reads as its digits anyway)."""
    return (f"({text} NOT IN ('true', 'false') AND left({text}, 1) NOT IN ('{{', '[')"
            f" AND NOT (left({text}, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8',"
            f" '9') AND regexp_matches({text}, '[.eE]')))")


@dataclass
class _Loans:
    """The checks (``ok``) and SQL columns of a line, and the decimals read off it."""

    ok: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=lambda: ["__row"])
    raws: list[str] = field(default_factory=list)


def _text(name: str) -> str:
    return f"struct_extract(j, {_literal(name)})"


def _field_sql(checks: _Loans, name: str, spec: Any, default: Any, required: bool) -> bool:
    """One declared field's check and columns; False when this path cannot check it."""
    text = _text(name)
    column = q(name)
    raw = q("__raw:" + name)
    if spec.type == "int":
        typed = f"TRY_CAST({text} AS BIGINT)"
        ok = (f"regexp_matches({text}, {_INTEGER_TEXT}) AND"
              f" {typed} BETWEEN {-(2**63) + 1} AND {2**63 - 1}")  # as tables._fits
    elif spec.type == "decimal":
        if not _plain_name(name) or (default is not None and _number(default) is None):
            return False
        # a number with a point is read off the line as written (DuckDB has a double)
        checks.raws.append(f"CASE WHEN contains({text}, '.') THEN {_values_of(name)} END"
                           f" AS {raw}")
        shown = (f"(CASE WHEN contains({text}, '.') AND {raw}[1] <> '\"' THEN {raw}[1]"
                 f" ELSE {text} END)")
        typed = f"TRY_CAST({shown} AS DECIMAL(38, {DECIMAL_SCALE}))"
        ok = (f"(regexp_matches({text}, {_CANONICAL_INTEGER}) OR (len({raw}) = 1"
              f" AND regexp_matches({shown}, {_PLAIN_DECIMAL})"
              f" AND {typed} = TRY_CAST({text} AS DECIMAL(38, {DECIMAL_SCALE}))))")
    elif spec.type in ("string", "enum"):
        ok = f"{_text_ok(text)} AND {_not_number(text)}"
        if spec.type == "enum":
            ok += f" AND {text} IN ({', '.join(_literal(v) for v in spec.values or ())})"
        typed = text
    elif spec.type == "bool":  # true or "true": the reader reads both as True
        ok = f"{text} IN ('true', 'false')"
        typed = f"({text} = 'true')"
    elif spec.type == "date":
        typed = _date_of(text)
        ok = _date_ok(typed)
    else:
        return False
    bounds = bounds_ok(spec, typed)
    if bounds is None:
        return False
    fallback = _default_sql(spec.type, default)
    checks.ok.append(missing_or(text, ok + bounds, required and default is None))
    checks.columns.append(f"(CASE WHEN {text} IS NULL THEN {fallback} ELSE {typed} END)"
                          f" AS {column}")
    if spec.type == "decimal":
        default_text = "CAST(NULL AS VARCHAR)" if default is None else _literal(str(default))
        checks.columns.append(f"(CASE WHEN {text} IS NULL THEN {default_text} ELSE {shown}"
                              f" END) AS {q(DECIMAL_TEXT + name)}")
    return True


def _loan_sql(policy: Policy, as_of: date | None, default_as_of: date | None
              ) -> _Loans | None:
    """The checks and columns of a line; None if a field is not one this path checks."""
    checks = _Loans()
    loan = _text("loan_id")  # text, or a whole number of at most 18 digits: as written
    checks.ok.append(f"COALESCE({_text_ok(loan)} AND {_not_number(loan)} AND NOT"
                     f" regexp_matches({loan}, '^-?[0-9]{{19,}}$'), FALSE)")
    checks.columns.append(f"{loan} AS {q('loan_id')}")
    disbursed = _date_of(_text("disbursement_date"))
    checks.ok.append(f"COALESCE({_date_ok(disbursed)}, FALSE)")
    checks.columns.append(f"{disbursed} AS {q('disbursement_date')}")
    own_text = _text("as_of")
    own = _date_of(own_text)
    checks.ok.append(f"({own_text} IS NULL OR COALESCE({_date_ok(own)}, FALSE))")
    on = [f"DATE '{as_of.isoformat()}'"] if as_of else []
    on.append(own)
    if default_as_of is not None:
        on.append(f"DATE '{default_as_of.isoformat()}'")
    effective = f"COALESCE({', '.join(on)})" if len(on) > 1 else on[0]
    checks.ok.append(f"{effective} IS NOT NULL")
    checks.columns.append(f"{effective} AS {q('as_of')}")
    # a history that is not a list (or is null) reads as NULL: such a line is the reader's
    checks.ok.append(f"({_text(_HISTORY)} IS NOT NULL OR NOT list_contains(k, '{_HISTORY}'))")
    coercers = {c.name: c for c in policy._reader._coercers}
    for name, spec in policy.document.fields.items():
        if not _field_sql(checks, name, spec, coercers[name].default, coercers[name].required):
            return None
    return checks


def _rows_sql(policy: Policy, checks: _Loans) -> str:
    """Every line: ``__ok`` (fast, its entries aside), its values as the plan reads them
    and its entries (``__entries``, with the keys of each, ``__entry_keys``).

    A line is parsed at all only when plain: no backslash (so no escape, and no quote
    inside a string: a key's text is found on the line), no trailing comma (DuckDB takes
    one, Python does not), no NaN or Infinity, few brackets, no integer Python refuses to
    convert, an object, valid JSON without duplicate keys.
    """
    # a line this short cannot hold more brackets than that: spare it the count
    openers = (f"(strlen(text) <= {_MAX_OPENERS} OR strlen(text)"
               f" - strlen(replace(replace(text, '{{', ''), '[', '')) <= {_MAX_OPENERS})")
    plain = (f"strpos(text, '\\') = 0 AND NOT regexp_matches(text, {_literal(_TRAILING_COMMA)})"
             " AND strpos(text, 'NaN') = 0 AND strpos(text, 'Infinity') = 0"
             f" AND {openers} AND (starts_with(text, '{{')"
             f" OR regexp_matches(text, '^[ \t]+\\{{'))"
             f" AND (strlen(text) <= {_LONG_LINE} OR NOT regexp_matches(text,"
             f" '[0-9]{{{_LONG_DIGITS}}}'))")
    names = [*_BUILTIN, *policy.document.fields]
    parsed = (f"SELECT __row, text, k, CASE WHEN __keys_ok THEN json_transform(text,"
              f" {_literal(_structure(names))}) END AS j,"
              f" CASE WHEN __keys_ok AND list_contains(k, '{_HISTORY}') THEN"
              f" json_keys(text, '$.{_HISTORY}[*]') END AS __entry_keys"
              f" FROM (SELECT __row, text, k, {_distinct('k')} AS __keys_ok FROM"
              f" (SELECT __row, text, CASE WHEN {plain} AND json_valid(text)"
              f" THEN json_keys(text) END AS k FROM {_LINES}) a0) a")
    raws = "".join(f", {raw}" for raw in checks.raws)
    ok = " AND ".join(checks.ok)
    return (f"SELECT {', '.join(checks.columns)}, COALESCE(j IS NOT NULL AND {ok}, FALSE)"
            f" AS __ok, {_text(_HISTORY)} AS __entries, __entry_keys"
            f" FROM (SELECT __row, k, j, __entry_keys{raws} FROM ({parsed}) b) c")


def _entries_sql() -> str:
    """Every entry of the lines that passed, with its own check (as :mod:`.typed` checks
    an entry: action text, a date in range, channel and outcome text or null)."""
    action, when_text = "e.action", "e.date"
    when = _date_of(when_text)
    # an action must be JSON text: a number, even a whole one, is refused by the reader
    ok = [_distinct("ek"), _text_ok(action), _not_number(action),
          f"NOT regexp_matches({action}, '^-?[0-9]+$')", _date_ok(when)]
    optional = []
    for name in ("channel", "outcome"):
        value = f"e.{name}"
        ok.append(f"({value} IS NULL OR (strlen({value}) <= {MAX_TEXT_LENGTH}"
                  f" AND {_not_number(value)}))")
        optional.append(f"{value} AS {q(name)}")
    return (
        f"SELECT __row, __pos, {action} AS action, {when} AS date, {', '.join(optional)},"
        f" COALESCE(e IS NOT NULL AND {' AND '.join(ok)}, FALSE) AS __ok FROM ("
        " SELECT __row, unnest(range(len(__entries))) AS __pos, unnest(__entries) AS e,"
        f" unnest(__entry_keys) AS ek FROM {_ROWS} WHERE __ok AND len(__entries) > 0) x")


# -- the check ---------------------------------------------------------------------------------

def _table_sql() -> str:
    """The rows of the follow-ups table naming a loan of a line that passed, as entries
    after its own; an entry whose values are not all text (or a date) is the reader's."""
    when = _date_of("t.date")
    ok = ["t.__plain", _text_ok("t.action"), _date_ok(when)]
    for name in ("channel", "outcome"):
        ok.append(f"(t.{name} IS NULL OR strlen(t.{name}) <= {MAX_TEXT_LENGTH})")
    return (f"SELECT r.__row, {_TABLE_POSITION} + t.__pos AS __pos, t.action, {when} AS date,"
            f" t.channel, t.outcome, COALESCE({' AND '.join(ok)}, FALSE) AS __ok"
            f" FROM {_TABLE} t JOIN {_ROWS} r ON r.loan_id = t.__key WHERE r.__ok")


def _table_rows(history: FollowUpTable) -> Any:
    """The follow-ups table's rows that name a loan, as text: ``__plain`` when each of
    action, date, channel and outcome is text (or the date a date), as the reader takes
    them; any other row sends its loan to the reader."""
    pa = require("pyarrow")
    columns: dict[str, list[Any]] = {n: [] for n in ("__key", "__pos", *_ENTRY_KEYS,
                                                      "__plain")}
    for key, index, entry in history.rows():
        plain = True
        values = []
        for name in _ENTRY_KEYS:
            value = entry.get(name)
            if name == "date" and isinstance(value, date) and not isinstance(value, datetime):
                value = value.isoformat()
            if value is not None and not isinstance(value, str):
                plain, value = False, None
            values.append(value)
        columns["__key"].append(key)
        columns["__pos"].append(index)
        for name, value in zip(_ENTRY_KEYS, values, strict=True):
            columns[name].append(value)
        columns["__plain"].append(plain)
    types = {"__pos": pa.int64(), "__plain": pa.bool_()}
    return pa.table({name: pa.array(values, type=types.get(name, pa.string()))
                     for name, values in columns.items()})


def check_jsonl(con: Any, policy: Policy, source: JsonlFile, as_of: date | None,
                default_as_of: date | None, history: FollowUpTable | None = None
                ) -> CheckedInput | None:
    """Check the JSONL file on ``con``; register the ``loans`` and ``follow_ups`` tables
    the plan reads. None, having read nothing record by record, when the file is one
    this path does not read (not decodable as a whole, an encoding it does not split).

    ``history``: a separate follow-ups table, its rows added to the history of the loan
    they name, after the loan's own entries (``tables.with_history``)."""
    checks = _loan_sql(policy, as_of, default_as_of)
    if checks is None:
        return None
    lines = _read_lines(source)
    if lines is None:
        return None
    pa = require("pyarrow")
    con.register(_LINES, pa.table({
        "__row": pa.array(range(lines.count), type=pa.int64()),
        "__line": pa.chunked_array(lines.rows, type=pa.int64()),
        "text": pa.chunked_array(lines.texts, type=pa.string()),
    }))
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {_ROWS} AS {_rows_sql(policy, checks)}")
    entries = _entries_sql()
    if history is not None:
        con.register(_TABLE, _table_rows(history))
        entries += f" UNION ALL {_table_sql()}"
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {_ENTRIES} AS {entries}")
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {_FAST} AS SELECT __row FROM {_ROWS}"
                f" WHERE __ok AND __row NOT IN (SELECT __row FROM {_ENTRIES} GROUP BY __row"
                f" HAVING NOT bool_and(__ok) OR count(*) > {MAX_FOLLOW_UPS})")
    slow = _slow_records(con, source, lines)
    if history is not None:
        history.reach(row[0] for row in con.execute(
            f"SELECT DISTINCT r.loan_id FROM {_ROWS} r SEMI JOIN {_FAST} USING (__row)"
            f" SEMI JOIN {_TABLE} t ON t.__key = r.loan_id").fetchall())
        slow = with_history(slow, history)
    checked = check_records(policy, slow, as_of, default_as_of)
    checked.count = lines.count
    if history is not None:
        checked.unmatched_follow_ups = history.unmatched()
    register_checked(con, checked, "SELECT * EXCLUDE (__ok, __entries, __entry_keys)"
                     f" FROM {_ROWS} SEMI JOIN {_FAST} USING (__row)", _ENTRIES, _FAST)
    con.unregister(_LINES)
    return checked


def _slow_records(con: Any, source: JsonlFile, lines: _Lines
                  ) -> Iterator[Record | Unreadable]:
    """The lines that did not pass, read by the record path's own parser."""
    parse: Callable[[int, int, str], Record | Unreadable] = source.parse
    relation = con.sql(f"SELECT l.__row, l.__line, l.text FROM {_LINES} l"
                       f" ANTI JOIN {_FAST} USING (__row) ORDER BY l.__row")
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    for batch in fetch().to_batches():
        rows = batch.column(0).to_pylist()
        numbers = batch.column(1).to_pylist()
        texts = batch.column(2).to_pylist()
        for index, number, text in zip(rows, numbers, texts, strict=True):
            yield parse(index, number, lines.unsafe.get(index, text))
