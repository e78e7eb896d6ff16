"""What evaluation returns: a ``Decision`` of required ``Action`` s and ``Finding`` s.

Evaluation makes one ``Decision`` per loan, millions a night, so the result types are
immutable value objects that cost a tuple to create: each is a ``tuple`` of its
fields in declaration order, read through named properties. An action's reasons may
be handed over as a recipe (a function and its arguments) and are formatted only
when read, so a batch that never shows them never pays for them.

Pydantic stays at the JSON edge: ``model_dump(mode="json")`` gives the stable JSON
the CLI prints (unchanged from when these were pydantic models), ``model_validate``
and ``model_json_schema`` go through the pydantic mirror models below, and a result
can be a field of a pydantic model (``Explanation.decision``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema, to_json

from . import decision_schema as mirror
from .decision_schema import ActionSource, ActionStatus, FrozenModel

__all__ = [
    "ACTION_ORDER",
    "Action",
    "ActionSource",
    "ActionStatus",
    "ChecklistEntry",
    "Decision",
    "Finding",
    "Reasons",
    "RecordError",
]

Reasons = tuple[Any, ...]
"""An action's reasons as given: the texts, or a recipe ``(function, *arguments)``
whose call returns them (the generated engine defers formatting this way)."""

_V = TypeVar("_V", bound="_Value")
_new_tuple = tuple.__new__


class _Value(tuple):  # type: ignore[type-arg]
    """An immutable result: a tuple of its fields, compared, hashed, pickled and dumped
    by their values (an action's reasons as their text, however they were given)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]]
    _model: ClassVar[type[BaseModel]]

    def _values(self) -> tuple[Any, ...]:
        """The field values, as they read (reasons formatted)."""
        return tuple(self)

    def _items(self) -> zip[tuple[str, Any]]:
        return zip(self._fields, self._values(), strict=True)

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__ and self._values() == other._values()

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self.__class__.__name__, self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self._items())
        return f"{self.__class__.__name__}({shown})"

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickle and copy: plain values only
        return self._values()

    def model_dump(self, *, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The fields as a dict; ``mode="json"``: JSON-ready (ISO dates, lists)."""
        if mode == "json":
            return self._json()
        return {name: _python_value(value) for name, value in self._items()}

    def _json(self) -> dict[str, Any]:
        raise NotImplementedError

    def model_dump_json(self) -> str:
        """Compact JSON of ``model_dump(mode="json")``, UTF-8 text kept as it is."""
        return to_json(self._json()).decode()

    def model_dump_json_bytes(self) -> bytes:
        """``model_dump_json()`` as the UTF-8 bytes the encoder makes (for a UTF-8 file)."""
        return to_json(self._json())

    @classmethod
    def model_validate(cls: type[_V], data: Any) -> _V:
        """A result from its ``model_dump`` form (checked by the pydantic mirror model)."""
        if isinstance(data, cls):
            return data
        return cls._from_model(cls._model.model_validate(data))

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        return cls._model.model_json_schema()

    @classmethod
    def _from_model(cls: type[_V], model: BaseModel) -> _V:
        return cls(**{name: _from_mirror(getattr(model, name)) for name in cls._fields})

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler
                                     ) -> CoreSchema:
        from_data = core_schema.no_info_after_validator_function(
            cls._from_model, handler.generate_schema(cls._model))
        return core_schema.json_or_python_schema(
            json_schema=from_data,
            python_schema=core_schema.union_schema(
                [core_schema.is_instance_schema(cls), from_data]),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize, info_arg=True),
        )


def _serialize(value: _Value, info: Any) -> dict[str, Any]:
    return value.model_dump(mode="json" if info.mode_is_json() else "python")


def _python_value(value: Any) -> Any:
    if isinstance(value, _Value):
        return value.model_dump()
    if isinstance(value, tuple):
        return tuple(_python_value(item) for item in value)
    return value


def _from_mirror(value: Any) -> Any:
    if isinstance(value, BaseModel):
        result: Any = _MIRRORED[type(value)]._from_model(value)
        return result
    if isinstance(value, tuple):
        return tuple(_from_mirror(item) for item in value)
    return value


def _install_fields(cls: type[_Value]) -> None:
    """Install a read-only property per field, in declaration order."""
    for index, name in enumerate(cls._fields):
        if name not in cls.__dict__:  # a property of the class's own wins
            setattr(cls, name, property(itemgetter(index), doc=f"field {name!r}"))


# -- the results --------------------------------------------------------------------------


class ChecklistEntry(_Value):
    """One checklist item that applies to this loan."""

    __slots__ = ()
    _fields = ("id", "text")
    if TYPE_CHECKING:
        id: str
        text: str

    def __new__(cls, id: str, text: str) -> ChecklistEntry:
        return _new_tuple(cls, (id, text))

    def _json(self) -> dict[str, Any]:
        id, text = self
        return {"id": id, "text": text}


class Action(_Value):
    """A follow-up the policy requires for a loan, with its dates and reasons.

    ``attempts``: failed attempts (entries with a failed outcome) since the anchor or
    last completion; ``last_attempt``: the date of the latest of them.
    """

    __slots__ = ()
    _fields = ("id", "source", "kind", "title", "status", "due_date", "deadline", "channel",
               "severity", "category", "reference", "checklist_id", "checklist", "reasons",
               "attempts", "last_attempt")
    if TYPE_CHECKING:
        id: str
        source: ActionSource
        kind: str
        title: str
        status: ActionStatus
        due_date: date
        deadline: date
        channel: str | None
        severity: str
        category: str | None
        reference: str | None
        checklist_id: str | None
        checklist: tuple[ChecklistEntry, ...]
        attempts: int
        last_attempt: date | None

    def __new__(cls, id: str, source: ActionSource, kind: str, title: str,
                status: ActionStatus, due_date: date, deadline: date, channel: str | None,
                severity: str, category: str | None = None, reference: str | None = None,
                checklist_id: str | None = None, checklist: tuple[ChecklistEntry, ...] = (),
                reasons: Reasons = (), attempts: int = 0, last_attempt: date | None = None,
                ) -> Action:
        return _new_tuple(cls, (id, source, kind, title, status, due_date, deadline, channel,
                                severity, category, reference, checklist_id, checklist,
                                reasons, attempts, last_attempt))

    @property
    def reasons(self) -> tuple[str, ...]:
        """Human-readable reasons (condition and values seen, dates)."""
        return _texts(tuple.__getitem__(self, 13))

    def _json(self) -> dict[str, Any]:
        (id, source, kind, title, status, due_date, deadline, channel, severity, category,
         reference, checklist_id, checklist, reasons, attempts, last_attempt) = self
        return {"id": id, "source": source, "kind": kind, "title": title, "status": status,
                "due_date": due_date.isoformat(), "deadline": deadline.isoformat(),
                "channel": channel, "severity": severity, "category": category,
                "reference": reference, "checklist_id": checklist_id,
                "checklist": [item._json() for item in checklist],
                "reasons": list(_texts(reasons)), "attempts": attempts,
                "last_attempt": None if last_attempt is None else last_attempt.isoformat()}

    def _values(self) -> tuple[Any, ...]:
        values = tuple(self)
        return (*values[:13], self.reasons, *values[14:])


def _texts(reasons: Reasons) -> tuple[str, ...]:
    if not reasons or reasons[0].__class__ is str:
        return reasons
    recipe: Callable[..., tuple[str, ...]] = reasons[0]
    return recipe(*reasons[1:])


ACTION_ORDER: Callable[[Action], tuple[date, str]] = itemgetter(
    Action._fields.index("deadline"), Action._fields.index("id"))
"""The order of a decision's actions: by deadline, then id (a sort key read in C)."""


class Finding(_Value):
    """Something the evaluation could not decide, e.g. a check that lacked data."""

    __slots__ = ()
    _fields = ("rule", "kind", "fields", "message")
    if TYPE_CHECKING:
        rule: str
        kind: str
        fields: tuple[str, ...]
        message: str

    def __new__(cls, rule: str, kind: str, fields: tuple[str, ...] = (),
                message: str | None = None) -> Finding:
        if message is None:
            raise TypeError("Finding needs a message")
        return _new_tuple(cls, (rule, kind, fields, message))

    def _json(self) -> dict[str, Any]:
        rule, kind, fields, message = self
        return {"rule": rule, "kind": kind, "fields": list(fields), "message": message}


class Decision(_Value):
    """Everything a policy requires for one loan on one date."""

    __slots__ = ()
    _fields = ("loan_id", "as_of", "tier", "policy_id", "policy_version", "policy_digest",
               "actions", "findings")
    if TYPE_CHECKING:
        loan_id: str
        as_of: date
        tier: str | None
        policy_id: str
        policy_version: str
        policy_digest: str
        actions: tuple[Action, ...]
        findings: tuple[Finding, ...]

    def __new__(cls, loan_id: str, as_of: date, tier: str | None, policy_id: str,
                policy_version: str, policy_digest: str, actions: tuple[Action, ...] = (),
                findings: tuple[Finding, ...] = ()) -> Decision:
        return _new_tuple(cls, (loan_id, as_of, tier, policy_id, policy_version,
                                policy_digest, actions, findings))

    def _json(self) -> dict[str, Any]:
        loan_id, as_of, tier, policy_id, policy_version, policy_digest, actions, findings = self
        return {"loan_id": loan_id, "as_of": as_of.isoformat(), "tier": tier,
                "policy_id": policy_id, "policy_version": policy_version,
                "policy_digest": policy_digest,
                "actions": [action._json() for action in actions],
                "findings": [finding._json() for finding in findings]}

    def action(self, action_id: str) -> Action | None:
        """The action with this id, if required."""
        return next((a for a in self.actions if a.id == action_id), None)


class RecordError(FrozenModel):
    """A batch input record that could not be evaluated; it is reported, never dropped."""

    index: int
    loan_id: str | None = None
    field: str | None = None
    message: str


_MIRRORED: dict[type[BaseModel], type[_Value]] = {
    mirror.ChecklistEntry: ChecklistEntry, mirror.Action: Action, mirror.Finding: Finding,
    mirror.Decision: Decision,
}
for _model, _result in _MIRRORED.items():
    assert tuple(_model.model_fields) == _result._fields, _result  # one field list, in order
    _result._model = _model
    _install_fields(_result)
