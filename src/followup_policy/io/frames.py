"""pandas and polars DataFrames as snapshot rows, without importing either library.

A frame is recognised by its type's module, so a user who never installs pandas
never pays for it. Every cell goes through :func:`~.values.plain_value`:
``NaN``/``None``/``NaT`` are missing, a timestamp at midnight is a date.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .values import plain_value

__all__ = ["frame_header", "frame_rows", "is_frame"]


def _library(obj: Any) -> str | None:
    module = type(obj).__module__.split(".", 1)[0]
    if module == "pandas" and hasattr(obj, "itertuples"):
        return "pandas"
    if module == "polars" and hasattr(obj, "iter_rows"):
        return "polars"
    return None


def is_frame(obj: Any) -> bool:
    """Whether ``obj`` is a pandas or polars DataFrame."""
    return _library(obj) is not None


def frame_header(frame: Any) -> list[str]:
    """The column names, as text."""
    return [str(name) for name in frame.columns]


def frame_rows(frame: Any) -> Iterator[dict[str, Any]]:
    """One plain dict per row, lazily, in frame order."""
    header = frame_header(frame)
    if _library(frame) == "pandas":
        for values in frame.itertuples(index=False, name=None):
            yield {name: plain_value(value) for name, value in zip(header, values, strict=True)}
    else:
        for row in frame.iter_rows(named=True):
            yield {str(name): plain_value(value) for name, value in row.items()}
