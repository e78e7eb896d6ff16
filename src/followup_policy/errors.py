"""The library's exceptions and the located ``Issue`` they carry.

Every error a caller can see is a :class:`PolicyError`; foreign errors (PyYAML,
pydantic) are wrapped at the boundary so callers never catch them directly.
Locations are kept apart from messages and rendered late (``file:line:col: msg``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConditionError",
    "Issue",
    "Location",
    "PolicyError",
    "PolicyLoadError",
    "SnapshotError",
    "did_you_mean",
]


@dataclass(frozen=True, order=True)
class Location:
    """A position in a source file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Issue:
    """One located problem of a policy load.

    ``related`` points at a second place the problem involves, e.g. the
    head-office item a branch tried to loosen. ``message_zh`` is the Chinese text
    where the message was written in both languages at its source; otherwise
    :func:`followup_policy.messages.translate` finds it from the English one.
    """

    file: str
    line: int
    column: int
    message: str
    suggestion: str | None = None
    related: Location | None = None
    message_zh: str | None = None

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.column)

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.suggestion is not None:
            text += f" (did you mean '{self.suggestion}'?)"
        if self.related is not None:
            text += f" [see {self.related}]"
        return text


class PolicyError(Exception):
    """Root of every error this library raises."""


class PolicyLoadError(PolicyError):
    """A policy could not be loaded; ``issues`` lists every problem found at once."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(sorted(issues, key=_issue_order))
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by the issues (not the message text), so the error crosses a process
        pool intact: a failing worker's error reaches the parent as the same error."""
        return (type(self), (list(self.issues),), self.__dict__)


def _issue_order(issue: Issue) -> tuple[str, int, int, str]:
    return (issue.file, issue.line, issue.column, issue.message)


class ConditionError(PolicyError):
    """A ``when:`` expression is malformed or ill-typed.

    ``offset`` and ``length`` index into the expression text so the loader can
    translate them into a file line and column of the offending token.
    """

    def __init__(
        self, message: str, offset: int = 0, length: int = 1, suggestion: str | None = None
    ) -> None:
        self.message = message
        self.offset = offset
        self.length = length
        self.suggestion = suggestion
        text = message if suggestion is None else f"{message} (did you mean '{suggestion}'?)"
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.offset, self.length, self.suggestion),
                self.__dict__)


class SnapshotError(PolicyError):
    """A borrower snapshot does not fit the policy's ``fields``."""

    def __init__(
        self, message: str, *, loan_id: str | None = None, field: str | None = None,
        value: Any = None,
    ) -> None:
        self.loan_id = loan_id
        self.field = field
        self.value = value
        self.message = message
        prefix = f"loan {loan_id!r}: " if loan_id is not None else ""
        super().__init__(prefix + message)

    def __reduce__(self) -> tuple[Any, ...]:
        """Keyword-only arguments are not in ``args``: rebuild from the parts."""
        return (_snapshot_error, (type(self), self.message, self.loan_id, self.field,
                                  self.value), self.__dict__)


def _snapshot_error(cls: type[SnapshotError], message: str, loan_id: str | None,
                    field: str | None, value: Any) -> SnapshotError:
    return cls(message, loan_id=loan_id, field=field, value=value)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt ``name``, if one is close enough."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None
