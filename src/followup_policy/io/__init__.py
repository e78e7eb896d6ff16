"""Data in: bank exports (CSV in any common encoding, Excel, Parquet, DataFrames).

>>> import followup_policy as fp
>>> policy = fp.load_policy("head_office.yaml")                       # doctest: +SKIP
>>> rows = fp.read_snapshots("导出.csv", mapping="mapping.yaml", policy=policy)  # doctest: +SKIP
>>> for decision in policy.evaluate_many(rows): ...                   # doctest: +SKIP

The command line reads through the same functions (``--encoding``, ``--mapping``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..records import Record, Unreadable
from .encodings import detect_encoding
from .errors import InputError
from .formats import INPUT_FORMATS, InputFormat, guess_format, open_records
from .frames import frame_header, frame_rows, is_frame
from .mapping import ColumnMapping, ColumnRule, HistoryColumns, load_mapping
from .values import is_missing, plain_value

if TYPE_CHECKING:
    from ..policy import Policy

__all__ = [
    "INPUT_FORMATS",
    "ColumnMapping",
    "ColumnRule",
    "HistoryColumns",
    "InputError",
    "InputFormat",
    "Record",
    "Unreadable",
    "as_mapping",
    "detect_encoding",
    "frame_rows",
    "guess_format",
    "is_frame",
    "is_missing",
    "load_mapping",
    "open_records",
    "plain_value",
    "read_snapshots",
]

MappingSource = ColumnMapping | str | os.PathLike[str] | Mapping[str, Any]


def as_mapping(mapping: MappingSource, policy: Policy | None = None) -> ColumnMapping:
    """A :class:`ColumnMapping` from itself, a YAML file path or a dict."""
    if isinstance(mapping, ColumnMapping):
        result = mapping
    elif isinstance(mapping, str | os.PathLike):
        result = load_mapping(mapping)
    else:
        result = ColumnMapping.from_dict(mapping)
    return result.for_policy(policy) if policy is not None else result


def read_snapshots(source: Any, *, mapping: MappingSource | None = None,
                   encoding: str | None = None, format: InputFormat | None = None,
                   policy: Policy | None = None) -> Iterator[Any]:
    """Snapshot dicts from a file path or a pandas/polars DataFrame, lazily.

    A record that cannot be parsed (a bad JSON line) is yielded as an
    :class:`Unreadable`; :meth:`Policy.evaluate_many` turns it into a
    ``RecordError`` so it is reported, not dropped. ``policy`` lets the mapping's
    ``date_formats`` apply to the policy's date fields.

    Raises:
        InputError: (when iteration starts) the file cannot be read at all.
    """
    bound = as_mapping(mapping, policy) if mapping is not None else None
    if is_frame(source):
        if bound is not None:
            bound.check_header(frame_header(source), "the DataFrame")
            return (bound.apply(row) for row in frame_rows(source))
        return frame_rows(source)
    return _file_snapshots(os.fspath(source), bound, encoding, format)


def _file_snapshots(name: str, mapping: ColumnMapping | None, encoding: str | None,
                    fmt: InputFormat | None) -> Iterator[Any]:
    with open_records(name, fmt=fmt, encoding=encoding, mapping=mapping) as records:
        for item in records:
            yield item.data if isinstance(item, Record) else item
