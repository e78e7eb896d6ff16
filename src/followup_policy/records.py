"""Batch input as numbered records, and how one JSON record is parsed.

A record that cannot even be parsed (a bad JSON line, invalid UTF-8, a JSON
integer of thousands of digits, nesting deeper than Python can parse, a CSV cell
over the ``csv`` module's size limit) is yielded as an :class:`Unreadable` so the
caller can reject it without losing its place: every input record ends up in the
output or in the rejects. The files themselves are read by
:mod:`followup_policy.io.formats` (encoding detected, GBK included), the one reader
behind the command line and the API.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, Literal

__all__ = [
    "InputFormat",
    "Record",
    "Unreadable",
    "codec_label",
    "csv_message",
    "encoding_label",
    "escape_undecodable",
    "json_document",
    "json_problem",
    "parse_jsonl_line",
    "read_records",
    "undecodable",
]

InputFormat = Literal["jsonl", "csv", "json"]


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


def read_records(stream: IO[str], fmt: InputFormat) -> Iterator[Record | Unreadable]:
    """The records of ``stream`` (JSON arrays are read whole), read exactly as the command
    line reads a file of that format: :mod:`followup_policy.io.formats` holds the one
    reader, so an API caller and ``followup-policy evaluate`` reject the same records."""
    from .io.formats import text_records

    return text_records(stream, fmt)


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


def parse_jsonl_line(index: int, number: int, line: str,
                     encoding: str = "UTF-8") -> Record | Unreadable:
    """One non-blank JSONL line (``number`` is 1-based) as a record, or why it is unreadable."""
    value, problem, _ = json_problem(line.rstrip("\r\n"), encoding)
    if problem is None:
        return Record(index, number, value)
    return Unreadable(index, number, problem)


def csv_message(exc: csv.Error) -> str:
    """Why a CSV row could not be read, naming Python's cell limit when that was it."""
    text = str(exc)
    if "field larger than field limit" in text:
        return (f"not readable: a cell is longer than {csv.field_size_limit():,} characters"
                " (Python's csv.field_size_limit)")
    return f"not valid CSV: {text}"


def json_document(text: str, encoding: str = "UTF-8") -> Iterator[Record | Unreadable]:
    """The records of one JSON document: an array of snapshots, or a single one."""
    data, problem, line = json_problem(text, encoding)
    if problem is not None:
        yield Unreadable(0, line, problem)
        return
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        yield Record(index, None, item)
