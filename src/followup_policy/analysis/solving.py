"""Asking the solver, and turning its answers into proofs or checked example loans.

The rule that keeps the analysis honest: *unsatisfiable* is a proof (the encoding
only ever over-approximates what loans can do); *satisfiable* is a claim that is
reported only with an example loan that the interpreter itself confirms; anything
else, a timeout included, is *unknown*.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from ..durations import add_months, months_between
from .translate import Loan, PolicyEncoding, Untranslatable

__all__ = ["Outcome", "Prover"]

Status = Literal["proved", "possible", "example", "unknown"]
Snapshot = dict[str, Any]
_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]+)\}")
_ROUNDS = 12
_SCALE = 10**6
_PLEASANT_DAYS = (date(2020, 1, 1).toordinal(), date(2030, 12, 31).toordinal())


@dataclass(frozen=True)
class Outcome:
    """``proved``: no loan satisfies the goal; ``example``: this checked loan does;
    ``possible``: the solver found one, not built nor checked (nothing is claimed)."""

    status: Status
    example: Snapshot | None = None
    reason: str = ""


class Prover:
    """One solver per analysed loan; each question is pushed and popped."""

    def __init__(self, loan: Loan, encodings: list[PolicyEncoding], timeout_ms: int) -> None:
        self.loan = loan
        self.z3 = loan.z3
        self.encodings = encodings
        self.solver = self.z3.Solver()
        self.solver.set(timeout=timeout_ms)
        self._added = 0
        self._added_by: dict[int, int] = {}

    def _sync(self) -> None:
        """Add constraints created since the last question (new fields, month terms)."""
        constraints = self.loan.constraints
        self.solver.add(*constraints[self._added:])
        self._added = len(constraints)
        for encoding in self.encodings:
            done = self._added_by.get(id(encoding), 0)
            self.solver.add(*encoding.constraints[done:])
            self._added_by[id(encoding)] = len(encoding.constraints)

    def search(self, goal: Callable[[], Any],
               verify: Callable[[Snapshot], bool] | None = None) -> Outcome:
        """Is there a loan for ``goal``? A proof that there is none, a checked loan, or unknown.

        Without ``verify`` no example is built: a satisfiable goal is only ``possible``.
        """
        z3 = self.z3
        try:
            formula = goal()
        except Untranslatable as exc:
            return Outcome("unknown", reason=f"not translated: {exc}")
        self._sync()
        solver = self.solver
        solver.push()
        try:
            solver.add(formula)
            restricted = False
            for _ in range(_ROUNDS):
                answer = solver.check()
                if answer == z3.unsat:
                    if restricted:
                        return Outcome("unknown", reason="no example with short decimals")
                    return Outcome("proved")
                if answer != z3.sat:
                    return Outcome("unknown", reason=f"solver: {solver.reason_unknown()}")
                if verify is None:
                    return Outcome("possible")
                model = self._pleasant_model(solver)
                lemmas = self._month_lemmas(model)
                snapshot, inexact = self._snapshot(model)
                if lemmas:
                    solver.add(*lemmas)  # true facts: a later unsat is still a proof
                    continue
                if inexact:
                    solver.add(*self._short_decimals(inexact))
                    restricted = True
                    continue
                if snapshot is not None and _verified(verify, snapshot):
                    return Outcome("example", snapshot)
                return Outcome("unknown", reason="the solver's loan did not check out")
            return Outcome("unknown", reason="no checked example loan found")
        finally:
            solver.pop()

    def _pleasant_model(self, solver: Any) -> Any:
        """A model with everyday values (recent dates, a readable loan id) if one exists."""
        z3 = self.z3
        model = solver.model()
        loan = self.loan
        low, high = _PLEASANT_DAYS
        wishes = [loan.loan_id == z3.StringVal("EXAMPLE-1"),
                  loan.disbursement_date >= low, loan.disbursement_date <= loan.as_of,
                  loan.as_of <= high]
        for raw in loan.fields.values():
            if raw.kind == "date":
                wishes.append(z3.Implies(raw.is_set, z3.And(raw.value >= low,
                                                            raw.value <= high)))
        solver.push()
        try:
            solver.add(*wishes)
            if solver.check() == z3.sat:
                model = solver.model()
        finally:
            solver.pop()
        return model

    def _month_lemmas(self, model: Any) -> list[Any]:
        z3 = self.z3
        lemmas = []
        for term in self.loan.months:
            if not z3.is_true(model.eval(term.known, model_completion=True)):
                continue
            start = model.eval(term.start, model_completion=True).as_long()
            end = model.eval(term.end, model_completion=True).as_long()
            try:
                truth = months_between(date.fromordinal(start), date.fromordinal(end))
            except (ValueError, OverflowError):
                continue
            if model.eval(term.months, model_completion=True).as_long() == truth:
                continue
            lemmas.append(z3.Implies(z3.And(term.start == start, term.end == end),
                                     term.months == truth))
            if end >= start:  # every end date in the months around it, for this start
                first = date.fromordinal(start)
                for months in range(max(truth - 3, 0), truth + 4):
                    try:
                        low = add_months(first, months).toordinal()
                        high = add_months(first, months + 1).toordinal()
                    except (ValueError, OverflowError):
                        continue
                    lemmas.append(z3.Implies(
                        z3.And(term.start == start, term.end >= low, term.end < high),
                        term.months == months))
        return lemmas

    def _short_decimals(self, names: list[str]) -> list[Any]:
        z3 = self.z3
        found = []
        for name in names:
            raw = self.loan.fields[name]
            scaled = z3.Int(f"{name}#scaled")
            found.append(raw.value * _SCALE == z3.ToReal(scaled))
        return found

    def _snapshot(self, model: Any) -> tuple[Snapshot | None, list[str]]:
        """The model as a snapshot dict, and the decimal fields it cannot write exactly."""
        z3 = self.z3
        loan = self.loan

        def value(term: Any) -> Any:
            return model.eval(term, model_completion=True)

        snapshot: Snapshot = {
            "loan_id": _text(value(loan.loan_id)),
            "disbursement_date": _day(value(loan.disbursement_date)),
            "as_of": _day(value(loan.as_of)),
        }
        inexact: list[str] = []
        for name, raw in loan.fields.items():
            if not z3.is_true(value(raw.is_set)):
                continue
            found = value(raw.value)
            if raw.kind == "int":
                snapshot[name] = found.as_long()
            elif raw.kind == "real":
                number = _decimal(z3, found)
                if number is None:
                    inexact.append(name)
                else:
                    snapshot[name] = number
            elif raw.kind == "bool":
                snapshot[name] = z3.is_true(found)
            elif raw.kind == "date":
                snapshot[name] = _day(found)
            else:
                snapshot[name] = _text(found)
        if any(v is None for v in snapshot.values()):
            return None, inexact
        return snapshot, inexact


def _verified(verify: Callable[[Snapshot], bool], snapshot: Snapshot) -> bool:
    from ..errors import PolicyError

    try:
        return verify(snapshot)
    except PolicyError:
        return False


def _day(term: Any) -> date | None:
    try:
        return date.fromordinal(term.as_long())
    except (ValueError, OverflowError, AttributeError):
        return None


def _text(term: Any) -> str | None:
    try:
        raw = term.as_string()
    except AttributeError:
        return None
    return str(_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw))


def _decimal(z3: Any, term: Any) -> Decimal | None:
    """The exact decimal of a rational model value; None if it has no finite decimal."""
    if not z3.is_rational_value(term):
        return None
    fraction = Fraction(term.numerator_as_long(), term.denominator_as_long())
    denominator, scale = fraction.denominator, 0
    while denominator % 10 == 0:
        denominator //= 10
        scale += 1
    while denominator % 2 == 0:
        denominator //= 2
        scale += 1
    while denominator % 5 == 0:
        denominator //= 5
        scale += 1
    if denominator != 1 or scale > 30:
        return None
    return Decimal(f"{fraction.numerator * 10**scale // fraction.denominator}e-{scale}")
