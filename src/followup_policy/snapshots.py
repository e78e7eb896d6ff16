"""Borrower snapshots: checking and coercing one loan's data against ``fields``.

A snapshot arrives as a dict, a JSON object, a CSV row (all strings) or a
pydantic model. The policy compiles one coercer per field at load time, so a
snapshot is checked by a loop over small functions. Numbers become exact
decimals whatever form they arrive in (``0.3`` as a JSON float equals ``0.3`` in
YAML); dates arrive as ``date`` objects or ISO strings.
"""

from __future__ import annotations

import contextlib
import json
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from pydantic import BaseModel

from .errors import SnapshotError, did_you_mean
from .io.values import is_missing, plain_value
from .schema import FieldSpec

__all__ = [
    "BUILTIN_KEYS",
    "MAX_DATE",
    "MAX_FOLLOW_UPS",
    "MAX_NUMBER_DIGITS",
    "MAX_NUMBER_EXPONENT",
    "MAX_TEXT_LENGTH",
    "MIN_DATE",
    "FieldCoercer",
    "FollowUp",
    "SnapshotReader",
    "check_as_of",
    "coerce_date",
    "loan_id_of",
    "text_problem",
]

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
BUILTIN_KEYS = frozenset({"loan_id", "disbursement_date", "as_of", "follow_ups"})

Coerce = Callable[[Any], Any]

# --- Value limits, checked when a snapshot is read -------------------------------------
# Snapshots are untrusted input (docs/security.md). These bounds keep every later step
# (calendar arithmetic, decimal arithmetic in conditions, int conversion, error messages)
# fast and exception-free; the generated coercer mirrors them. To raise one, change it
# here: they are module constants, not configuration, so every engine agrees.

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
"""Dates a snapshot may carry: the longest duration a policy may write (100 years, see
``durations``) added to or subtracted from them stays far inside ``date.min..date.max``."""

MAX_NUMBER_DIGITS = 100
"""Significant digits of a number (a whole number has at most this many digits)."""

MAX_NUMBER_EXPONENT = 100
"""A number's magnitude: its adjusted exponent lies in ``-100..100`` (1e-100 to 9.9e100)."""

MAX_TEXT_LENGTH = 10_000
"""Characters in one text value (loan id, enum value, a number or date written as text)."""

MAX_FOLLOW_UPS = 10_000
"""Entries in one loan's follow-up history."""

MAX_FOLLOW_UPS_TEXT = 2_000_000
"""Characters of a follow-up history given as JSON text (a CSV cell)."""

_INT_BOUND = 10**MAX_NUMBER_DIGITS
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHOW = reprlib.Repr()
_SHOW.maxstring = _SHOW.maxother = 60
_SHOW.maxlevel = 2


class _Bad(ValueError):
    """Raised by coercers; the reader adds loan and field."""


class FollowUp(NamedTuple):
    """One entry of a loan's follow-up history (a tuple: a loan's history is read on every
    evaluation, and a frozen dataclass costs several times as much to create)."""

    action: str
    date: date
    channel: str | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class FieldCoercer:
    """Checks one declared field and applies its default."""

    name: str
    coerce: Coerce
    default: Any
    required: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A checked snapshot: values for every declared field, plus history."""

    loan_id: str
    disbursement_date: date
    as_of: date | None
    values: dict[str, Any]
    follow_ups: tuple[FollowUp, ...]


class SnapshotReader:
    """Turns raw snapshot mappings into checked :class:`Snapshot` s for one policy."""

    def __init__(self, coercers: tuple[FieldCoercer, ...]) -> None:
        self._coercers = coercers

    @classmethod
    def for_fields(cls, fields: Mapping[str, FieldSpec]) -> SnapshotReader:
        return cls(tuple(_field_coercer(name, spec) for name, spec in fields.items()))

    def read(self, raw: Any) -> Snapshot:
        """Check ``raw``; raise :class:`SnapshotError` naming loan, field and value."""
        data = _as_mapping(raw)
        loan_id = _loan_id(data)
        disbursement = _required_date(data, "disbursement_date", loan_id)
        as_of_raw = data.get("as_of")
        as_of = None if _is_blank(as_of_raw) else _checked(loan_id, "as_of", as_of_raw, coerce_date)
        values: dict[str, Any] = {}
        for field in self._coercers:
            value = data.get(field.name)
            if _is_blank(value):
                if field.required and field.default is None:
                    raise SnapshotError(
                        f"required field '{field.name}' is missing",
                        loan_id=loan_id, field=field.name, value=None,
                    )
                values[field.name] = field.default
            else:
                values[field.name] = _checked(loan_id, field.name, value, field.coerce)
        values["loan_id"] = loan_id
        values["disbursement_date"] = disbursement
        follow_ups = _follow_ups(data.get("follow_ups"), loan_id)
        return Snapshot(loan_id, disbursement, as_of, values, follow_ups)


def _as_mapping(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, BaseModel):
        return raw.model_dump()
    raise SnapshotError(f"a snapshot must be a mapping, got {type(raw).__name__}")


def loan_id_of(raw: Any) -> str | None:
    """The loan id of a raw record, if it has a usable one (for reporting a bad record)."""
    if isinstance(raw, Mapping):
        value = raw.get("loan_id")
        if isinstance(value, str) and text_problem(value) is None:
            return value
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < _INT_BOUND:
            return str(value)
    return None


def show_value(value: Any) -> str:
    """A short, safe ``repr`` of an untrusted value for an error message."""
    if isinstance(value, int) and abs(value) >= _INT_BOUND:
        return f"a whole number of {value.bit_length()} bits"
    try:
        return _SHOW.repr(value)
    except Exception:  # a value whose repr fails or explodes
        return f"a {type(value).__name__}"


def text_problem(value: str) -> str | None:
    """Why a text value cannot be used, or None: too long, or not valid Unicode."""
    if value.isascii() and len(value) <= MAX_TEXT_LENGTH:  # the common case, no regex
        return None
    if len(value) > MAX_TEXT_LENGTH:
        return f"text longer than {MAX_TEXT_LENGTH:,} characters ({len(value):,})"
    found = _SURROGATE.search(value)
    if found is None:
        return None
    code = ord(found.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte of the input file its encoding could not decode
        return (f"text with a byte the file's encoding cannot decode (byte 0x{code - 0xDC00:02X}"
                f" at position {found.start() + 1}; check the file's encoding, e.g. --encoding)")
    return "text that is not valid Unicode (a lone surrogate)"


def _checked_text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise _Bad(f"expected text, got {problem}")
    return value


def check_as_of(as_of: date | None) -> date | None:
    """The ``as_of`` a caller passed, refused (``ValueError``) if the calendar arithmetic
    cannot reach it."""
    if as_of is not None and not MIN_DATE <= as_of <= MAX_DATE:
        raise ValueError(f"as_of {as_of.isoformat()} is outside the supported dates"
                         f" {MIN_DATE.isoformat()}..{MAX_DATE.isoformat()}")
    return as_of


def _is_blank(value: Any) -> bool:
    """Missing, null, an empty CSV cell, or a DataFrame's NaN/NaT/NA."""
    if isinstance(value, str):
        return value.strip() == ""
    return is_missing(value)


def _loan_id(data: Mapping[str, Any]) -> str:
    value = data.get("loan_id")
    if _is_blank(value):
        raise SnapshotError("required field 'loan_id' is missing" + _header_hint(data),
                            field="loan_id")
    if not isinstance(value, str | int):
        value = plain_value(value)  # e.g. a numpy int64 from a DataFrame
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SnapshotError(f"loan_id must be text or a whole number, got {show_value(value)}",
                            field="loan_id", value=value)
    try:
        return _checked_text(value) if isinstance(value, str) else str(_checked_int(value))
    except _Bad as exc:
        raise SnapshotError(f"loan_id: {exc}", field="loan_id", value=value) from None


def _header_hint(data: Mapping[str, Any]) -> str:
    """When the record has no ``loan_id`` key at all, its keys are someone else's names."""
    if "loan_id" in data or not data:
        return ""
    names = ", ".join(str(key) for key in list(data)[:4])
    more = ", ..." if len(data) > 4 else ""
    return (f"; the record has columns {names}{more}: map them onto the policy's fields"
            " with a column mapping (--mapping FILE, or mapping= in read_snapshots)")


def _required_date(data: Mapping[str, Any], name: str, loan_id: str) -> date:
    value = data.get(name)
    if _is_blank(value):
        raise SnapshotError(
            f"required field '{name}' is missing", loan_id=loan_id, field=name, value=None
        )
    result: date = _checked(loan_id, name, value, coerce_date)
    return result


def _checked(loan_id: str, name: str, value: Any, coerce: Coerce) -> Any:
    try:
        return coerce(value)
    except _Bad as exc:
        plain = plain_value(value)  # a numpy number or a pandas Timestamp at midnight
        if plain is not value and plain is not None:
            with contextlib.suppress(_Bad):
                return coerce(plain)
        raise SnapshotError(
            f"field '{name}': {exc} (got {show_value(value)})", loan_id=loan_id, field=name,
            value=value,
        ) from None


def coerce_date(value: Any) -> date:
    """A ``date`` or an ISO ``YYYY-MM-DD`` string; datetimes are refused as ambiguous."""
    if isinstance(value, datetime):
        raise _Bad("expected a date, not a date and time")
    if isinstance(value, date):
        return _checked_date(value)
    if isinstance(value, str) and len(value) <= MAX_TEXT_LENGTH:
        text = value.strip()
        parsed: date | None = None
        if _ISO_DATE.match(text):  # fromisoformat takes more forms on 3.11+; be strict
            with contextlib.suppress(ValueError):
                parsed = date.fromisoformat(text)
        if parsed is not None:
            return _checked_date(parsed)
    raise _Bad("expected a date as YYYY-MM-DD")


def _checked_date(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise _Bad(f"expected a date from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}")
    return value


def _checked_int(value: int) -> int:
    if abs(value) >= _INT_BOUND:
        raise _Bad(f"expected a number of at most {MAX_NUMBER_DIGITS} digits")
    return value


def _checked_number(value: Decimal) -> Decimal:
    """Finite, at most MAX_NUMBER_DIGITS digits, magnitude within 1e±MAX_NUMBER_EXPONENT."""
    if not value.is_finite():
        raise _Bad("expected a finite number")
    digits = value.as_tuple().digits
    if len(digits) > MAX_NUMBER_DIGITS:
        raise _Bad(f"expected a number of at most {MAX_NUMBER_DIGITS} significant digits")
    if abs(value.adjusted()) > MAX_NUMBER_EXPONENT:
        raise _Bad(f"expected a number between 1e-{MAX_NUMBER_EXPONENT} and"
                   f" 1e{MAX_NUMBER_EXPONENT} in size")
    return value


def _coerce_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _Bad("expected a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(_checked_int(value))
    elif isinstance(value, float):
        result = Decimal(repr(value))  # the shortest text that round-trips: 0.3 -> 0.3
    elif isinstance(value, str) and len(value) <= MAX_TEXT_LENGTH:
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise _Bad("expected a number") from None
    else:
        raise _Bad("expected a number")
    return _checked_number(result)


def _coerce_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return _checked_int(value)
    number = _coerce_decimal(value)
    if number != number.to_integral_value():
        raise _Bad("expected a whole number")
    return int(number)


def _coerce_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _Bad("expected true or false")


def _coerce_string(value: Any) -> str:
    if isinstance(value, str):
        return _checked_text(value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise _Bad("expected text")


def _field_coercer(name: str, spec: FieldSpec) -> FieldCoercer:
    base: Coerce = {
        "int": _coerce_int,
        "decimal": _coerce_decimal,
        "string": _coerce_string,
        "bool": _coerce_bool,
        "date": coerce_date,
        "enum": _coerce_string,
    }[spec.type]
    coerce = base
    if spec.type == "enum":
        coerce = _enum_check(base, tuple(spec.values or ()))
    elif spec.min is not None or spec.max is not None:
        coerce = _bounds_check(base, spec.min, spec.max)
    default = None if spec.default is None else _field_default(spec, coerce)
    return FieldCoercer(name, coerce, default, spec.required)


def _field_default(spec: FieldSpec, coerce: Coerce) -> Any:
    try:
        return coerce(spec.default)
    except _Bad as exc:
        raise ValueError(f"default {spec.default!r} does not fit the field: {exc}") from None


def _enum_check(base: Coerce, allowed: tuple[str, ...]) -> Coerce:
    allowed_set = frozenset(allowed)

    def coerce(value: Any) -> Any:
        text = base(value)
        if text not in allowed_set:
            hint = did_you_mean(text, allowed)
            extra = f"; did you mean '{hint}'?" if hint else ""
            raise _Bad(f"must be one of {', '.join(allowed)}{extra}")
        return text

    return coerce


def _bounds_check(base: Coerce, low: Decimal | None, high: Decimal | None) -> Coerce:
    def coerce(value: Any) -> Any:
        number = base(value)
        if low is not None and number < low:
            raise _Bad(f"must be at least {low}")
        if high is not None and number > high:
            raise _Bad(f"must be at most {high}")
        return number

    return coerce


def follow_ups_value(raw: Any) -> Any:
    """A snapshot's ``follow_ups`` as given, with the JSON text a CSV cell carries parsed
    (``()`` when blank); whether it is a list is for the caller to judge. Raises
    ``ValueError`` for text that is not readable JSON (bad JSON, too long, huge integers,
    deep nesting)."""
    if _is_blank(raw):
        return ()
    if not isinstance(raw, str):
        return raw
    if len(raw) > MAX_FOLLOW_UPS_TEXT:
        raise ValueError("too long")
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _follow_ups(raw: Any, loan_id: str) -> tuple[FollowUp, ...]:
    if _is_blank(raw):
        return ()
    try:
        raw = follow_ups_value(raw)
    except ValueError:
        raise SnapshotError(
            "field 'follow_ups': expected a JSON list of {action, date} entries",
            loan_id=loan_id, field="follow_ups", value=raw,
        ) from None
    if not isinstance(raw, list | tuple):
        raise SnapshotError(
            "field 'follow_ups': expected a list of {action, date} entries",
            loan_id=loan_id, field="follow_ups", value=raw,
        )
    if len(raw) > MAX_FOLLOW_UPS:
        raise SnapshotError(
            f"field 'follow_ups': more than {MAX_FOLLOW_UPS:,} entries ({len(raw):,})",
            loan_id=loan_id, field="follow_ups", value=None,
        )
    common = _common_follow_up
    entries = []
    for index, entry in enumerate(raw):
        read = common(entry) if entry.__class__ is dict else None
        entries.append(read if read is not None else _follow_up(entry, index, loan_id))
    return tuple(entries)


def _follow_up(entry: Any, index: int, loan_id: str) -> FollowUp:
    where = f"follow_ups[{index}]"
    if isinstance(entry, FollowUp):
        return entry
    if isinstance(entry, BaseModel):
        entry = entry.model_dump()
    if not isinstance(entry, Mapping):
        raise SnapshotError(
            f"field '{where}': expected an object with 'action' and 'date'",
            loan_id=loan_id, field=where, value=entry,
        )
    action = entry.get("action")
    if _is_blank(action) or not isinstance(action, str) or text_problem(action):
        raise SnapshotError(
            f"field '{where}.action': expected the id of a node or rule",
            loan_id=loan_id, field=f"{where}.action", value=action,
        )
    when = _checked(loan_id, f"{where}.date", entry.get("date"), coerce_date)
    channel = entry.get("channel")
    outcome = entry.get("outcome")
    return FollowUp(
        action,
        when,
        None if channel is None else _checked(loan_id, f"{where}.channel", channel, _loose_text),
        None if outcome is None else _checked(loan_id, f"{where}.outcome", outcome, _loose_text),
    )


@lru_cache(maxsize=4096)
def cached_date(text: str) -> date:
    """:func:`coerce_date` of a string, remembering recent ones: a book repeats its dates."""
    return coerce_date(text)


def _common_follow_up(entry: dict[str, Any]) -> FollowUp | None:
    """The usual history entry (ASCII action, channel and outcome, an ISO date string)
    read without the checks it cannot fail; None sends anything else, and every entry
    with a problem, to the full reader for its message."""
    get = entry.get
    action: Any = get("action")
    when: Any = get("date")
    channel: Any = get("channel")
    outcome: Any = get("outcome")
    # short ASCII text: nothing to check, kept as it is by every reader (inlined: this
    # runs for every entry of every loan)
    if not (action.__class__ is str and action.isascii() and len(action) <= MAX_TEXT_LENGTH
            and action.strip() and when.__class__ is str
            and (channel is None or (channel.__class__ is str and channel.isascii()
                                     and len(channel) <= MAX_TEXT_LENGTH))
            and (outcome is None or (outcome.__class__ is str and outcome.isascii()
                                     and len(outcome) <= MAX_TEXT_LENGTH))):
        return None
    try:
        return FollowUp(action, cached_date(when), channel, outcome)
    except _Bad:
        return None


def _loose_text(value: Any) -> str:
    """Text, or a scalar written as text (``True``, ``3``), as the history has always taken."""
    if isinstance(value, str):
        return _checked_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(_checked_int(value))
    if isinstance(value, bool | float | Decimal):
        return _checked_text(str(value))
    raise _Bad("expected text")
