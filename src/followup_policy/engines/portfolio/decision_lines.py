"""Decisions as JSON lines, made by DuckDB from the result tables: no Decision in Python.

The command line's default output is one ``Decision.model_dump_json()`` per line. Made
in Python from a portfolio's tables that costs a ``Decision`` object and a pydantic
serialisation per loan, more than the SQL itself on a large book. Here DuckDB makes the
same bytes: each decision is cut into pieces, each piece JSON text made by ``to_json``
(which writes keys in struct order, ``null``, numbers, ISO dates and strings as pydantic
does), and the pieces sorted so that, joined end to end, they are the lines:

    {"loan_id":…,"policy_digest":"…","actions":[   one per decision (the head)
    {"id":…}  ,{"id":…}                             one per action, by deadline then id
    ],"findings":[…]}\\n                            one per decision (the tail)

No aggregation of text per loan (``string_agg``/``list`` of 1 KB actions measured 3 to
5 times slower than sorting the pieces), so the output is the sorted pieces' bytes as
they come out of DuckDB in Arrow batches, written without being decoded.

One difference from pydantic is mended: DuckDB's JSON writer spells the hex digits of a
``\\u00XX`` escape (control characters other than ``\\b\\t\\n\\f\\r``) in upper case,
pydantic (serde_json) in lower case. Both leave ``/``, DEL, U+2028/U+2029 and all other
Unicode as they are, and escape ``"`` and ``\\`` alike (tests/test_decision_lines.py
holds the two to the same bytes on random text).
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ...atomic import atomic_bytes
from ...decisions import Action, Decision, Finding

__all__ = ["DECISION_HEAD", "json_text", "lines_query", "refuse_non_utf8", "utf8_stream",
           "write_lines"]

DECISION_HEAD = Decision._fields[:-2]
"""The decision's fields before ``actions`` and ``findings``, in ``Decision`` order (the
result types' own field lists: a field added there is a column the tables must have)."""
assert Decision._fields[-2:] == ("actions", "findings")

_ACTION_FIELDS = Action._fields
_FINDING_FIELDS = Finding._fields
_LISTS = frozenset({"checklist", "reasons", "fields"})  # NULL means none: written []

_BATCH_ROWS = 20_000
"""Pieces per Arrow batch: about 20 MB of head-office JSON at most (100,000 measured no
faster)."""


def _object(fields: tuple[str, ...], prefix: str = "") -> str:
    """A struct of ``fields`` named as the JSON keys, for ``to_json`` (an empty list for
    a NULL list)."""
    shown = (f"coalesce({prefix}{name}, [])" if name in _LISTS else f"{prefix}{name}"
             for name in fields)
    return "{" + ", ".join(f"'{name}': {value}" for name, value in zip(fields, shown,
                                                                        strict=True)) + "}"


def json_text(expr: str) -> str:
    """An expression's JSON text (a list column as one CSV cell, a decision's pieces)."""
    return f"CAST(to_json({expr}) AS VARCHAR)"


def _lower_hex(text: str) -> str:
    """``text`` (JSON) with its ``\\u00XX`` escapes in lower-case hex, as pydantic writes.

    Every backslash of JSON text starts an escape, so replacing ``\\\\`` pairs from the
    left (by a control character, which JSON text never holds raw) leaves exactly the
    other escapes; the upper-case ones are the control characters 0x0B, 0x0E, 0x0F and
    0x1A-0x1F. Only text holding a ``\\u00`` goes this way.
    """
    fixed = f"replace({text}, '\\\\', chr(1))"
    for code in (0x0B, 0x0E, 0x0F, *range(0x1A, 0x20)):
        fixed = f"replace({fixed}, '\\u{code:04X}', '\\u{code:04x}')"
    fixed = f"replace({fixed}, chr(1), '\\\\')"
    return f"CASE WHEN contains({text}, '\\u00') THEN {fixed} ELSE {text} END"


def lines_query(decisions: str, actions: str, findings: str) -> str:
    """The query whose ``text`` column, joined in order, is the decisions' JSON lines.

    ``decisions``, ``actions`` and ``findings`` are relations (table names or
    parenthesised queries) with the result tables' columns and ``__row``, the input
    position; findings carry ``seq``, their order within a loan. Lines come in ``__row``
    order, actions by deadline then id (``ACTION_ORDER``), findings by ``seq``.
    """
    head = json_text(_object(DECISION_HEAD))
    action = json_text(_object(_ACTION_FIELDS, "a."))
    first = "{'d': a.deadline, 'i': a.id}"
    finding = _object(_FINDING_FIELDS)
    pieces = (
        f"SELECT __row, 0 AS part, NULL::DATE AS deadline, NULL::VARCHAR AS id,"
        f" rtrim({head}, '}}') || ',\"actions\":[' AS text FROM {decisions} d"
        f" UNION ALL"
        f" SELECT a.__row, 1, a.deadline, a.id,"
        f" CASE WHEN {first} = f.first THEN '' ELSE ',' END || {action}"
        f" FROM {actions} a JOIN (SELECT __row, min({{'d': deadline, 'i': id}}) AS first"
        f" FROM {actions} x GROUP BY __row) f ON a.__row = f.__row"
        f" UNION ALL"
        f" SELECT d.__row, 2, NULL, NULL,"
        f" '],\"findings\":' || coalesce(f.list, '[]') || '}}' || chr(10)"
        f" FROM {decisions} d LEFT JOIN (SELECT __row,"
        f" {json_text(f'list({finding} ORDER BY seq)')} AS list FROM {findings} x"
        f" GROUP BY __row) f ON d.__row = f.__row")
    return (f"SELECT {_lower_hex('text')} AS text FROM ({pieces}) p"
            " ORDER BY __row, part, deadline, id")


def utf8_stream(stream: IO[str]) -> bool:
    """Whether ``stream`` takes the lines as they are: UTF-8 text, or text in memory."""
    encoding = getattr(stream, "encoding", None)
    return encoding is None or codecs.lookup(encoding).name == "utf-8"


def refuse_non_utf8(stream: IO[str]) -> None:
    """A ValueError for a stream in another encoding: the lines are UTF-8 bytes."""
    if not utf8_stream(stream):
        raise ValueError(f"the decisions' JSON lines are UTF-8; this stream's encoding is"
                         f" {getattr(stream, 'encoding', None)}")


def write_lines(con: Any, query: str, target: str | Path | IO[str]) -> None:
    """The lines of ``query`` (see :func:`lines_query`) to a file path (replaced when
    whole) or a UTF-8 text stream, in Arrow batches: memory bounded by a batch."""
    if isinstance(target, (str, Path)):
        with atomic_bytes(target) as raw:
            for chunk in _chunks(con, query):
                raw.write(chunk)
        return
    from ...blocks import output_encoding

    refuse_non_utf8(target)
    if output_encoding(target) is not None:  # a real UTF-8 file or stdout: its bytes
        target.flush()
        buffer: IO[bytes] = target.buffer  # type: ignore[attr-defined]
        for chunk in _chunks(con, query):
            buffer.write(chunk)
        buffer.flush()
        return
    for chunk in _chunks(con, query):
        target.write(bytes(chunk).decode("utf-8"))
    target.flush()


def _chunks(con: Any, query: str) -> Iterator[memoryview]:
    """The bytes of each batch's ``text`` column, as DuckDB made them (no decoding)."""
    from ._require import require

    pa = require("pyarrow")
    relation = con.sql(query)
    stream = getattr(relation, "to_arrow_reader", None)  # DuckDB 2.x
    reader = (stream(_BATCH_ROWS) if stream is not None  # DuckDB 1.x below
              else con.execute(query).fetch_record_batch(_BATCH_ROWS))
    for batch in reader:
        text = batch.column(0)
        if len(text) == 0:
            continue
        if text.type not in (pa.string(), pa.large_string()):  # e.g. a string view
            text = text.cast(pa.large_string())
        yield _values(text, "<q" if text.type == pa.large_string() else "<i")


def _values(text: Any, offset_format: str) -> memoryview:
    """The concatenated values of a string array: one slice of its data buffer."""
    _, offsets, data = text.buffers()
    size = struct.calcsize(offset_format)
    start = struct.unpack_from(offset_format, offsets, text.offset * size)[0]
    end = struct.unpack_from(offset_format, offsets, (text.offset + len(text)) * size)[0]
    return memoryview(data)[start:end]
