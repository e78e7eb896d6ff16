"""Prepared objects the generated code runs against (its ``global_state``).

The result builders install a finished ``__dict__`` into the output models instead
of going through ``model_construct``: the values are already checked, and the
objects are equal, hash equally, pickle and serialise exactly like the ones the
interpreter builds (a test holds the two together).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel

from ...decisions import Action, Decision, Finding
from ...errors import SnapshotError

__all__ = ["make_builder", "no_evaluation_date", "show"]

_new = object.__new__
_set = object.__setattr__


def make_builder(model: type[BaseModel]) -> Callable[..., Any]:
    """A positional constructor for ``model`` taking every field, in declaration order."""
    names = tuple(model.model_fields)
    fields_set = frozenset(names)
    # Built with exec only from the model's own field names, which are identifiers.
    assert all(name.isidentifier() for name in names)
    arguments = ", ".join(names)
    entries = ", ".join(f"{name!r}: {name}" for name in names)
    source = (
        f"def build({arguments}):\n"
        f"    item = _new(_model)\n"
        f"    _set(item, '__dict__', {{{entries}}})\n"
        f"    _set(item, '__pydantic_fields_set__', _fields_set)\n"
        f"    _set(item, '__pydantic_extra__', None)\n"
        f"    _set(item, '__pydantic_private__', None)\n"
        f"    return item\n"
    )
    namespace: dict[str, Any] = {"_new": _new, "_set": _set, "_model": model,
                                 "_fields_set": fields_set}
    exec(compile(source, f"<build {model.__name__}>", "exec"), namespace)
    builder: Callable[..., Any] = namespace["build"]
    return builder


ACTION_FIELDS = tuple(Action.model_fields)
FINDING_FIELDS = tuple(Finding.model_fields)
DECISION_FIELDS = tuple(Decision.model_fields)


def no_evaluation_date(loan_id: str) -> SnapshotError:
    return SnapshotError(
        "no evaluation date: pass as_of or include 'as_of' in the snapshot",
        loan_id=loan_id, field="as_of",
    )


def show(value: Any) -> str:
    """A value as a reason shows it (``null``, ISO dates, ``str`` otherwise)."""
    if value is None:
        return "null"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
