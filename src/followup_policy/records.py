"""Reading batch input (JSONL, CSV, JSON) as a stream of numbered records.

A record that cannot even be parsed (a bad JSON line) is yielded as a
:class:`Unreadable` so the caller can reject it without losing its place:
every input record ends up in the output or in the rejects.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, Literal

__all__ = ["InputFormat", "Record", "Unreadable", "guess_format", "parse_jsonl_line",
           "read_records"]

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


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def _jsonl(stream: IO[str]) -> Iterator[Record | Unreadable]:
    index = 0
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        yield parse_jsonl_line(index, number, line)
        index += 1


def parse_jsonl_line(index: int, number: int, line: str) -> Record | Unreadable:
    """One non-blank JSONL line (``number`` is 1-based) as a record, or why it is unreadable."""
    try:
        return Record(index, number, _loads(line.rstrip("\r\n")))
    except json.JSONDecodeError as exc:
        return Unreadable(index, number, f"not valid JSON: {exc.msg} at column {exc.colno}")


def _csv(stream: IO[str]) -> Iterator[Record | Unreadable]:
    reader = csv.DictReader(stream)
    line = reader.line_num + 1
    for index, row in enumerate(reader):
        if None in row:  # more cells than header columns
            yield Unreadable(index, line, "row has more cells than the header has columns")
        else:
            yield Record(index, line, row)
        line = reader.line_num + 1


def _json(stream: IO[str]) -> Iterator[Record | Unreadable]:
    try:
        data = _loads(stream.read())
    except json.JSONDecodeError as exc:
        yield Unreadable(0, exc.lineno, f"not valid JSON: {exc.msg} at column {exc.colno}")
        return
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        yield Record(index, None, item)
