"""Reading batch input (JSONL, CSV, JSON) as a stream of numbered records.

A record that cannot even be parsed (a bad JSON line, invalid UTF-8, a JSON
integer of thousands of digits, nesting deeper than Python can parse, a CSV cell
over the ``csv`` module's size limit) is yielded as an :class:`Unreadable` so the
caller can reject it without losing its place: every input record ends up in the
output or in the rejects. Open files with ``errors="surrogateescape"`` (as
:func:`open_input` does) so one line of invalid UTF-8 is a reject, not the end of
the run.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, Literal

from .errors import PolicyError

__all__ = [
    "InputFormat",
    "Record",
    "Unreadable",
    "UnreadableInput",
    "codec_label",
    "csv_message",
    "encoding_label",
    "escape_undecodable",
    "guess_format",
    "json_document",
    "json_problem",
    "open_input",
    "parse_jsonl_line",
    "read_records",
    "text_input",
    "undecodable",
]

InputFormat = Literal["jsonl", "csv", "json"]


class UnreadableInput(PolicyError):
    """The input as a whole cannot be read (e.g. its CSV header row is broken)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One parsed input record; ``line`` is where it starts (1-based), if known."""

    index: int
    line: int | None
    data: Any


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An input record that could not be parsed at all."""

    index: int
    line: int
    message: str


def guess_format(name: str) -> InputFormat:
    """The input format from a file name; stdin and unknown endings are JSONL."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(".json"):
        return "json"
    return "jsonl"


def read_records(stream: IO[str], fmt: InputFormat) -> Iterator[Record | Unreadable]:
    """Yield the records of ``stream`` lazily (JSON arrays are read whole)."""
    if fmt == "jsonl":
        return _jsonl(stream)
    if fmt == "csv":
        return _csv(stream)
    return _json(stream)


def open_input(path: str) -> IO[str]:
    """Open an input file as UTF-8 (a BOM skipped); invalid bytes survive to be rejected."""
    return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")


def text_input(stream: IO[str]) -> IO[str]:
    """``stream`` (e.g. ``sys.stdin``) decoded like :func:`open_input`, if it has bytes under it."""
    raw = getattr(stream, "buffer", None)
    if raw is None:
        return stream
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")


# What surrogateescape decoding turns undecodable bytes into.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def encoding_label(stream: IO[str]) -> str:
    """How messages name the encoding ``stream`` was decoded with (``UTF-8``, ``GB18030``)."""
    return codec_label(getattr(stream, "encoding", None) or "utf-8")


def codec_label(name: str) -> str:
    """How messages name the encoding ``name`` (``UTF-8``, ``GB18030``)."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return str(name)
    return "UTF-8" if codec in ("utf-8", "utf-8-sig") else codec.upper()


def undecodable(text: str, encoding: str = "UTF-8") -> tuple[str, int] | None:
    """Why ``text`` is not valid in ``encoding``, and the offset of the first bad byte; or None."""
    found = _UNDECODABLE.search(text)
    if found is None:
        return None
    return f"not valid {encoding} (byte 0x{ord(found.group()) - 0xDC00:02X})", found.start()


def escape_undecodable(value: Any) -> Any:
    """``value``, with bytes the input's encoding could not decode (kept by
    ``surrogateescape`` as lone surrogates) shown as ``\\xff``: for raw values copied
    to an output unvalidated (a branch column), so that writing them cannot fail."""
    if isinstance(value, str) and not value.isascii():
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return value


_DECODER = json.JSONDecoder(parse_float=Decimal)


def _loads(text: str) -> Any:
    """``json.loads(text, parse_float=Decimal)`` without building a decoder per call."""
    if text.startswith("\ufeff"):  # json.loads refuses it with its own message
        return json.loads(text, parse_float=Decimal)
    return _DECODER.decode(text)


def _json_where(exc: json.JSONDecodeError) -> str:
    """``Expecting value at column 3``; json's own "starting at" messages get no second "at"
    (``Unterminated string starting at column 3``, not "at at column")."""
    joiner = " " if exc.msg.endswith(" at") else " at "
    return f"{exc.msg}{joiner}column {exc.colno}"


def json_problem(text: str, encoding: str = "UTF-8") -> tuple[Any, str | None, int]:
    """Parse one JSON text: (value, None, 0) or (None, why not, line of the problem).

    ``encoding`` names the file's encoding in the message about a byte it could not decode.
    """
    bad = undecodable(text, encoding)
    if bad is not None:
        message, offset = bad
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return None, f"{message[:-1]} at column {column})", line
    try:
        return _loads(text), None, 0
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {_json_where(exc)}", exc.lineno
    except RecursionError:
        return None, "not readable: JSON nested too deeply", 1
    except ValueError as exc:  # e.g. an integer over Python's 4,300-digit conversion limit
        return None, f"not readable: {_first_sentence(exc)}", 1


def _first_sentence(exc: Exception) -> str:
    text = str(exc)
    if "integer string conversion" in text:
        return "a JSON integer with too many digits (over 4,300)"
    return text.split(";")[0][:200]


def _jsonl(stream: IO[str]) -> Iterator[Record | Unreadable]:
    index = 0
    encoding = encoding_label(stream)
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        yield parse_jsonl_line(index, number, line, encoding)
        index += 1


def parse_jsonl_line(index: int, number: int, line: str,
                     encoding: str = "UTF-8") -> Record | Unreadable:
    """One non-blank JSONL line (``number`` is 1-based) as a record, or why it is unreadable."""
    value, problem, _ = json_problem(line.rstrip("\r\n"), encoding)
    if problem is None:
        return Record(index, number, value)
    return Unreadable(index, number, problem)


def _csv(stream: IO[str]) -> Iterator[Record | Unreadable]:
    """Like ``csv.DictReader``, but a bad row is an :class:`Unreadable`, not the end."""
    reader = csv.reader(stream)
    encoding = encoding_label(stream)
    header: list[str] | None = None
    index = 0
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problem: str | None = csv_message(exc)
            row = None
        else:
            bad = undecodable("\x1f".join(row), encoding) if row else None
            problem = None if bad is None else bad[0]
        if header is None:  # the header row: without it no row can be read
            if problem is not None:
                raise UnreadableInput(f"line {line}: the CSV header row is {problem}")
            if row:
                header = row
            continue
        if row == []:  # a blank line, as DictReader skips it
            continue
        if problem is None and row is not None and len(row) > len(header):
            problem = "row has more cells than the header has columns"
        if problem is not None or row is None:
            yield Unreadable(index, line, problem or "not valid CSV")
        else:
            yield Record(index, line, _row_dict(header, row))
        index += 1


def _row_dict(header: list[str], row: list[str]) -> dict[str, str | None]:
    values: dict[str, str | None] = dict(zip(header, row, strict=False))
    for name in header[len(row):]:
        values.setdefault(name, None)
    return values


def csv_message(exc: csv.Error) -> str:
    """Why a CSV row could not be read, naming Python's cell limit when that was it."""
    text = str(exc)
    if "field larger than field limit" in text:
        return (f"not readable: a cell is longer than {csv.field_size_limit():,} characters"
                " (Python's csv.field_size_limit)")
    return f"not valid CSV: {text}"


def _json(stream: IO[str]) -> Iterator[Record | Unreadable]:
    yield from json_document(stream.read(), encoding_label(stream))


def json_document(text: str, encoding: str = "UTF-8") -> Iterator[Record | Unreadable]:
    """The records of one JSON document: an array of snapshots, or a single one."""
    data, problem, line = json_problem(text, encoding)
    if problem is not None:
        yield Unreadable(0, line, problem)
        return
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        yield Record(index, None, item)
