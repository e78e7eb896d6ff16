"""The one error of the input layer."""

from __future__ import annotations

from ..errors import PolicyError

__all__ = ["InputError"]


class InputError(PolicyError):
    """An input file or frame the tool cannot read at all (exit 2, one line).

    Per-record problems are not this: they are rejects (``RecordError`` /
    ``Unreadable``), and every other record is still evaluated.
    """
