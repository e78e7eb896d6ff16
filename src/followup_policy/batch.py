"""The batch contract: every input record yields exactly one decision or one reject.

:func:`evaluate_record` is the one place that turns whatever happens while
reading and evaluating a record into a result: a :class:`Decision`, or a
:class:`RecordError` with the reason. A snapshot that does not fit the policy is
a :class:`SnapshotError`; anything else (a bug, an exotic value no check
foresaw) is reported as an internal error *for that record*, and the batch goes
on. ``Policy.evaluate_many`` and the CLI both go through here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from .decimals import library_decimals
from .decisions import Decision, RecordError
from .errors import SnapshotError
from .snapshots import loan_id_of

__all__ = ["describe_internal_error", "evaluate_record", "record_error"]

_MAX_DETAIL = 300


def evaluate_record(evaluate: Callable[[Any, date | None], Decision], raw: Any,
                    as_of: date | None, index: int) -> Decision | RecordError:
    """``evaluate(raw, as_of)`` (e.g. ``policy.evaluate``) in the library's decimal context,
    or the reject for it; never raises an ``Exception``."""
    try:
        with library_decimals():
            return evaluate(raw, as_of)
    except Exception as exc:  # the contract: no record stops the batch
        return record_error(index, raw, exc)


def record_error(index: int, raw: Any, exc: Exception) -> RecordError:
    """The reject for a record whose reading, evaluation or writing raised ``exc``."""
    if isinstance(exc, SnapshotError):
        loan_id = exc.loan_id if exc.loan_id is not None else loan_id_of(raw)
        return RecordError(index=index, loan_id=loan_id, field=exc.field, message=str(exc))
    return RecordError(index=index, loan_id=loan_id_of(raw),
                       message=f"could not be evaluated: {describe_internal_error(exc)}")


def unwritable(exc: Exception) -> str:
    """Why a decision could not be written: an output encoding that cannot hold a
    character is named as such (it is the output's limit, not a bug), anything else is
    reported as an internal error."""
    if isinstance(exc, UnicodeEncodeError):
        held = exc.object[exc.start:exc.end][:10]
        return (f"decision could not be written: the output's encoding ({exc.encoding})"
                f" cannot hold {held!r}; write to a file (-o, UTF-8) or set"
                " PYTHONIOENCODING=utf-8")
    return f"decision could not be written: {describe_internal_error(exc)}"


def describe_internal_error(exc: BaseException) -> str:
    """One bounded line naming an unexpected exception, with a hint to report it."""
    try:
        detail = str(exc)
    except Exception:  # an exception whose __str__ fails still gets reported
        detail = ""
    detail = " ".join(detail.split()).encode("utf-8", "backslashreplace").decode("utf-8")
    if len(detail) > _MAX_DETAIL:
        detail = detail[:_MAX_DETAIL] + "..."
    name = type(exc).__name__
    text = f"{name}: {detail}" if detail else name
    return (f"internal error ({text}); this is a bug in followup-policy, please report it"
            " with the policy and the input that caused it")
