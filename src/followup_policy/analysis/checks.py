"""The checks: tiers, conditions that never or always hold, redundant rules, branches.

Each check asks the solver one question per element. The answer becomes a
finding with the element's ``file:line:col`` and, where a loan shows the problem,
that loan, confirmed by evaluating it with the policy itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..expressions import Condition
from ..layering import origin_of
from ..policy import CompiledRule, Policy
from .findings import AnalysisFinding, FindingKind, Verdict
from .solving import Outcome, Prover, Snapshot
from .translate import Loan, PolicyEncoding, when_unknown_of

__all__ = ["Element", "branch_checks", "elements", "fires_for", "policy_checks"]


@dataclass(frozen=True)
class Element:
    """A policy element with a condition: a tier, timing node, rule or checklist item.

    ``kind`` and ``id`` are the ones :meth:`Policy.explain` uses.
    """

    kind: str
    id: str
    condition: Condition | None
    when_unknown: str
    path: tuple[str, ...]

    @property
    def label(self) -> str:
        names = {"risk_tier": "tier", "timing_node": "timing node", "rule": "rule",
                 "checklist_item": "checklist item"}
        return f"{names[self.kind]} {self.id}"

    @property
    def kept_when_unknown(self) -> bool:
        """A checklist item is dropped only when its condition is false."""
        return self.kind == "checklist_item" or self.when_unknown == "apply"


def elements(policy: Policy) -> list[Element]:
    """Every element of ``policy`` that has (or could have) a ``when``."""
    parts = policy.parts
    found = [Element("risk_tier", t.tier, t.when, when_unknown_of(t),
                     ("risk_tiers", t.tier)) for t in parts.tiers or ()]
    found += [Element("timing_node", n.id, n.when, when_unknown_of(n), ("timing_nodes", n.id))
              for n in parts.nodes]
    found += [Element("rule", r.id, r.when, when_unknown_of(r), ("rules", r.id))
              for r in parts.rules]
    for checklist in parts.checklists.values():
        found += [Element("checklist_item", f"{checklist.id}.{i.id}", i.when, "apply",
                          ("checklists", checklist.id, "items", i.id))
                  for i in checklist.items]
    return found


def fires_for(policy: Policy, element: Element, snapshot: Snapshot) -> bool:
    """Whether ``element`` acts for ``snapshot``, computed by the interpreter."""
    decision = policy.evaluate(snapshot)
    if element.kind == "risk_tier" and policy.parts.tiers is not None:
        return decision.tier == element.id
    if element.condition is None:
        return True
    values = dict(policy._reader.read(snapshot).values)
    values["as_of"] = decision.as_of
    values["tier"] = decision.tier
    result = element.condition(values)
    return result is not False if element.kept_when_unknown else result is True


def _condition_truth(policy: Policy, condition: Condition, snapshot: Snapshot) -> bool | None:
    decision = policy.evaluate(snapshot)
    values = dict(policy._reader.read(snapshot).values)
    values["as_of"] = decision.as_of
    values["tier"] = decision.tier
    return condition(values)


class _Reporter:
    """Builds located findings for one policy."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.findings: list[AnalysisFinding] = []

    def where(self, path: tuple[str, ...]) -> tuple[str | None, int | None, int | None]:
        tree = self.policy.tree
        if tree is None:
            return None, None, None
        location = origin_of(tree, (*path, "when")) or origin_of(tree, path)
        if location is None:
            return None, None, None
        return location.file, location.line, location.column

    def related(self, path: tuple[str, ...], policy: Policy | None = None) -> str | None:
        tree = (policy or self.policy).tree
        if tree is None:
            return None
        location = origin_of(tree, (*path, "when")) or origin_of(tree, path)
        return None if location is None else str(location)

    def add(self, kind: FindingKind, verdict: Verdict, element: Element, message: str,
            example: Snapshot | None = None, related: str | None = None) -> None:
        file, line, column = self.where(element.path)
        self.findings.append(AnalysisFinding(
            kind=kind, verdict=verdict, element=element.label, message=message, file=file,
            line=line, column=column, related=related, example=example))

    def undecided(self, kind: FindingKind, element: Element, question: str,
                  outcome: Outcome) -> None:
        self.add(kind, "unknown", element, f"could not decide whether {question}"
                 f" ({outcome.reason})")


def _text(element: Element) -> str:
    return "(no condition)" if element.condition is None else f"'{element.condition.text}'"


def policy_checks(policy: Policy, timeout_ms: int) -> list[AnalysisFinding]:
    """Tiers, never/always-holding conditions and redundant rules of one policy."""
    loan = Loan()
    encoding = PolicyEncoding(policy, loan)
    prover = Prover(loan, [encoding], timeout_ms)
    report = _Reporter(policy)
    everything = elements(policy)
    _tier_checks(policy, encoding, prover, report, everything)
    never: set[str] = set()
    for element in everything:
        if element.kind == "risk_tier" or element.condition is None:
            continue
        _condition_checks(policy, encoding, prover, report, element, never)
    _redundancy_checks(policy, encoding, prover, report, never)
    return report.findings


def _tier_checks(policy: Policy, encoding: PolicyEncoding, prover: Prover,
                 report: _Reporter, everything: list[Element]) -> None:
    tiers = [e for e in everything if e.kind == "risk_tier"]
    if not tiers:
        return
    z3 = encoding.z3

    def fires(element: Element) -> Any:
        return encoding.fires(element.condition, element.when_unknown)

    for index, tier in enumerate(tiers):
        earlier = tiers[:index]

        def reach(tier: Element = tier, earlier: list[Element] = earlier) -> Any:
            return z3.And(*[z3.Not(fires(e)) for e in earlier], fires(tier))

        outcome = prover.search(reach)
        if outcome.status == "proved":
            why = (f"every loan it could match is taken by an earlier tier"
                   f" ({', '.join(e.id for e in earlier)})" if earlier and
                   tier.condition is not None else f"its condition {_text(tier)} can never"
                   " hold")
            if tier.condition is None and earlier:
                why = (f"the tiers before it ({', '.join(e.id for e in earlier)}) match"
                       " every loan")
            report.add("tier_unreachable", "problem", tier, f"tier {tier.id} is never"
                       f" reached: {why}")
        elif outcome.status == "unknown":
            report.undecided("tier_unreachable", tier, f"tier {tier.id} can be reached", outcome)
        condition = tier.condition
        if condition is None or tier.when_unknown == "apply":
            continue

        def through_missing(tier: Element = tier, earlier: list[Element] = earlier,
                            condition: Condition = condition) -> Any:
            return z3.And(*[z3.Not(fires(e)) for e in earlier], encoding.unknown(condition))

        def verify_missing(snapshot: Snapshot, condition: Condition = condition,
                           tier: Element = tier) -> bool:
            decision = policy.evaluate(snapshot)
            position = [t.id for t in tiers]
            later = decision.tier is None or position.index(decision.tier) > position.index(
                tier.id)
            return later and _condition_truth(policy, condition, snapshot) is None

        outcome = prover.search(through_missing, verify_missing)
        if outcome.status == "example":
            report.add("tier_missing_data", "problem", tier,
                       f"when data is missing, {_text(tier)} is unknown, so the loan is not"
                       f" put in tier {tier.id} and falls through to a later tier (or none);"
                       " add `when_unknown: apply` or a default for the field if this tier"
                       " must apply", outcome.example)
        elif outcome.status == "unknown":
            report.undecided("tier_missing_data", tier, "missing data can skip this tier",
                             outcome)
    if tiers[-1].condition is not None and policy.parts.frequency:
        outcome = prover.search(lambda: z3.And(*[z3.Not(fires(e)) for e in tiers]),
                                lambda s: policy.evaluate(s).tier is None)
        if outcome.status == "example":
            report.add("no_tier", "problem", tiers[-1], "this loan matches no tier and the"
                       " policy has no default tier (a last tier without `when`)",
                       outcome.example)
        elif outcome.status == "unknown":
            report.undecided("no_tier", tiers[-1], "every loan reaches a tier", outcome)


def _condition_checks(policy: Policy, encoding: PolicyEncoding, prover: Prover,
                      report: _Reporter, element: Element, never: set[str]) -> None:
    condition = element.condition
    assert condition is not None
    z3 = encoding.z3
    what = {"timing_node": "the timing node never applies", "rule": "the rule never fires",
            "checklist_item": "the item is asked only when data is missing"}[element.kind]
    outcome = prover.search(lambda: encoding.true(condition))
    if outcome.status == "proved":
        never.add(element.id)
        report.add("never_holds", "problem", element,
                   f"{_text(element)} can never hold, so {what}")
    elif outcome.status == "unknown":
        report.undecided("never_holds", element, f"{_text(element)} can hold", outcome)
    outcome = prover.search(lambda: z3.Not(encoding.fires(condition, element.when_unknown)))
    if outcome.status == "proved":
        why = ("it is never false, so the item is asked for every loan"
               if element.kind == "checklist_item" else
               "it is never false and, unless the element applies when unknown, never lacks"
               " data")
        report.add("always_holds", "problem", element,
                   f"{_text(element)} holds for every loan ({why}), so the condition says"
                   " nothing; remove it or fix it")
    elif outcome.status == "unknown":
        report.undecided("always_holds", element, f"{_text(element)} can fail", outcome)


def _action_key(rule: CompiledRule) -> tuple[Any, ...]:
    return (rule.kind, rule.channel, rule.anchor,
            rule.checklist.id if rule.checklist is not None else None)


def _redundancy_checks(policy: Policy, encoding: PolicyEncoding, prover: Prover,
                       report: _Reporter, never: set[str]) -> None:
    rules = [r for r in policy.parts.rules if r.id not in never]
    for index, first in enumerate(rules):
        for second in rules[index + 1:]:
            if _action_key(first) != _action_key(second):
                continue
            one = encoding.fires(first.when, when_unknown_of(first))
            two = encoding.fires(second.when, when_unknown_of(second))
            outcome = prover.search(_differ(one, two))
            element = Element("rule", second.id, second.when, when_unknown_of(second),
                              ("rules", second.id))
            if outcome.status == "proved":
                report.add("redundant_rules", "problem", element,
                           f"rules {first.id} and {second.id} fire on exactly the same loans"
                           f" with the same action ({second.kind}"
                           f"{' via ' + second.channel if second.channel else ''}); keep one",
                           related=report.related(("rules", first.id)))
            elif outcome.status == "unknown":
                report.undecided("redundant_rules", element,
                                 f"rules {first.id} and {second.id} always fire together",
                                 outcome)


def _differ(one: Any, two: Any) -> Callable[[], Any]:
    def question() -> Any:
        return one != two

    return question


# -- branches ----------------------------------------------------------------------------


def _by_key(policy: Policy) -> dict[tuple[str, str], Element]:
    return {(e.kind, e.id): e for e in elements(policy)}


def _differs(parent: Policy, branch: Policy, old: Element, new: Element) -> bool:
    """Whether anything that decides the trigger may differ (else a proof is not news)."""
    if (old.condition is None) != (new.condition is None):
        return True
    if old.when_unknown != new.when_unknown:
        return True
    if old.condition is None or new.condition is None:
        return False
    if old.condition.text != new.condition.text:
        return True
    for name in old.condition.params | new.condition.params:
        if parent.parameters.type_of(name) is None or branch.parameters.type_of(name) is None:
            return True
        if parent.parameters.table(name) != branch.parameters.table(name):
            return True
    fields = old.condition.fields | new.condition.fields
    if "tier" in fields or old.kind == "risk_tier":
        return _tiers_differ(parent, branch)
    mine, theirs = branch.document.fields, parent.document.fields
    return any(mine.get(f) != theirs.get(f) for f in fields)


def _tiers_differ(parent: Policy, branch: Policy) -> bool:
    """Whether the two policies may assign tiers differently."""
    def shape(policy: Policy) -> list[tuple[str, str | None, str]]:
        return [(t.tier, t.when.text if t.when else None, when_unknown_of(t))
                for t in policy.parts.tiers or ()]

    if shape(parent) != shape(branch) or parent.parts.tier_field != branch.parts.tier_field:
        return True
    names = set().union(*[t.when.params | t.when.fields for t in parent.parts.tiers or ()
                          if t.when is not None])
    return any(
        (parent.parameters.type_of(n) is not None
         and parent.parameters.table(n) != branch.parameters.table(n))
        or parent.document.fields.get(n) != branch.document.fields.get(n)
        for n in names)


def compare_element(parent: Policy, branch: Policy, old: Element, new: Element,
                    timeout_ms: int) -> Outcome:
    """Is there a loan ``parent`` acts on through ``old`` and ``branch`` not through ``new``?"""
    loan = Loan()
    before = PolicyEncoding(parent, loan)
    after = PolicyEncoding(branch, loan)
    prover = Prover(loan, [before, after], timeout_ms)
    return prover.search(*narrowing_question(parent, branch, before, after, old, new))


def narrowing_question(parent: Policy, branch: Policy, before: PolicyEncoding,
                       after: PolicyEncoding, old: Element, new: Element
                       ) -> tuple[Callable[[], Any], Callable[[Snapshot], bool]]:
    if old.kind == "risk_tier":
        return _tier_question(parent, branch, before, after, old)
    z3 = before.z3

    def acts(encoding: PolicyEncoding, element: Element, policy: Policy) -> Any:
        if element.kind == "checklist_item":
            if element.condition is None:
                return z3.BoolVal(True)
            return z3.Not(encoding.false(element.condition))
        return encoding.fires(element.condition, element.when_unknown)

    def question() -> Any:
        return z3.And(acts(before, old, parent), z3.Not(acts(after, new, branch)))

    def verify(snapshot: Snapshot) -> bool:
        return fires_for(parent, old, snapshot) and not fires_for(branch, new, snapshot)

    return question, verify


def _tier_at_least(policy: Policy, tier: str | None, reference: str) -> bool:
    names = [t.tier for t in policy.parts.tiers or ()]
    if tier is None or reference not in names or tier not in names:
        return False
    return names.index(tier) <= names.index(reference)


def branch_checks(branch: Policy, parent: Policy, timeout_ms: int) -> Iterator[AnalysisFinding]:
    """Every inherited trigger the branch narrows (with a loan), or a proof it does not."""
    report = _Reporter(branch)
    mine = _by_key(branch)
    loan = Loan()
    before = PolicyEncoding(parent, loan)
    after = PolicyEncoding(branch, loan)
    prover = Prover(loan, [before, after], timeout_ms)
    for key, old in _by_key(parent).items():
        new = mine.get(key)
        if new is None or not _differs(parent, branch, old, new):
            continue
        question, verify = narrowing_question(parent, branch, before, after, old, new)
        outcome = prover.search(question, verify)
        theirs = report.related(old.path, parent)
        if outcome.status == "example":
            report.add("branch_narrows", "problem", new,
                       f"{parent.id} acts on this loan through {_text(old)} but the branch"
                       f" does not through {_text(new)}; a branch may only widen a trigger",
                       outcome.example, theirs)
        elif outcome.status == "proved":
            how = (f"through the same {_text(new)} with its own parameters or fields"
                   if _text(old) == _text(new) else f"through {_text(new)}")
            report.add("branch_at_least_as_strict", "proved", new,
                       f"every loan {parent.id} acts on through {_text(old)}, the branch acts"
                       f" on too, {how}", related=theirs)
        else:
            report.undecided("branch_narrows", new, f"the branch narrows {_text(old)}",
                             outcome)
    yield from report.findings


def _tier_question(parent: Policy, branch: Policy, before: PolicyEncoding,
                   after: PolicyEncoding, old: Element
                   ) -> tuple[Callable[[], Any], Callable[[Snapshot], bool]]:
    """A loan the parent puts in this tier that the branch puts in a later tier or none."""
    z3 = before.z3
    names = [t.tier for t in branch.parts.tiers or ()]

    def question() -> Any:
        if old.id not in names:
            return z3.BoolVal(False)
        as_strict = [after.tier_is(n) for n in names[:names.index(old.id) + 1]]
        return z3.And(before.tier_is(old.id), z3.Not(z3.Or(as_strict)))

    def verify(snapshot: Snapshot) -> bool:
        return (parent.evaluate(snapshot).tier == old.id
                and not _tier_at_least(branch, branch.evaluate(snapshot).tier, old.id))

    return question, verify


def example_where(policy: Policy, kind: str, element_id: str, *, holds: bool = True,
                  timeout_ms: int = 2000) -> Outcome:
    """A loan for which the element's condition holds (or, with ``holds=False``, does not).

    ``proved`` means there is no such loan; an ``example`` has been confirmed by the
    interpreter.
    """
    element = _by_key(policy).get((kind, element_id))
    if element is None or element.condition is None:
        raise ValueError(f"{kind} {element_id} has no condition in {policy.id}")
    condition = element.condition
    loan = Loan()
    encoding = PolicyEncoding(policy, loan)
    prover = Prover(loan, [encoding], timeout_ms)
    z3 = encoding.z3

    def goal() -> Any:
        truth = encoding.true(condition)
        return truth if holds else z3.Not(truth)

    return prover.search(goal, lambda s: (_condition_truth(policy, condition, s) is True)
                         is holds)
