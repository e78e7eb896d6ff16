"""The peer workload's 12 rules as a GoRules JSON Decision Model, run by zen-engine.

Part 4 of ``run.py`` times this next to ``policy.evaluate`` and the hand-written if-chain
when zen-engine is installed (``pip install zen-engine``; it is never a dependency of the
library). The model is built from ``peer_workload.RULES``, the same table the policy YAML
is built from:

- one ``decisionTableNode`` with hit policy ``collect`` between an ``inputNode`` and an
  ``outputNode``; it has one input column with no field, so each cell is a whole boolean
  expression over the snapshot, and one output column, the rule id;
- each cell is the rule's condition, translated token by token by ``zen_expression``. For
  the operators the 12 rules use (comparisons, ``and``/``or``/``not``, ``in [...]``,
  ``/``, numbers, double-quoted text, ``true``/``false``) zen's expression language
  spells them the same way; a token outside that set is refused rather than guessed.

Zen decides which rules fire: every snapshot goes through the whole table, every rule's
condition evaluated by zen. Due date, deadline and status are then computed in Python
from the rule's ``after`` and ``window``, exactly as ``peer_workload.baseline`` does after
its if-chain, so the three contenders do the same per-snapshot work.

Zen's Python binding does not accept ``Decimal`` ("unsupported type Decimal"), and its
numbers are decimals inside, so ``balance`` and ``ltv`` are converted with ``float()``
per snapshot (part of the timed work). Zen is handed only the seven fields the rules read,
not the loan id and disbursement date: a little less for its binding to convert. Every
value of the workload has at most two decimal places, so the conversion loses nothing;
``run.py`` checks zen's result equals the baseline's on every loan before timing anything.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from peer_workload import RULES

__all__ = ["decision_model", "evaluator", "zen_expression"]

_TOKEN = re.compile(r"""\s*(?:
    (?P<number>\d+(?:\.\d+)?)
  | (?P<text>"[^"\\]*")
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>>=|<=|==|!=|[<>/*+\-\[\](),])
)""", re.VERBOSE)
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})


def zen_expression(condition: str, fields: frozenset[str]) -> str:
    """The condition in zen's expression language; ValueError on anything not known to
    mean the same in both languages (then translate that rule by hand)."""
    out: list[str] = []
    position = 0
    condition = condition.rstrip()
    while position < len(condition):
        match = _TOKEN.match(condition, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot translate {condition!r} to zen at column {position + 1}")
        word = match.group("word")
        if word is not None and word not in _KEYWORDS and word not in fields:
            raise ValueError(f"cannot translate {condition!r} to zen: unknown name {word!r}")
        out.append(match.group(match.lastgroup or ""))
        position = match.end()
    return " ".join(out)


def decision_model(fields: frozenset[str]) -> dict[str, Any]:
    """The JDM graph: request -> 12-row decision table (collect) -> response."""
    rows = [{"_id": rule_id, "_description": condition,
             "condition": zen_expression(condition, fields), "rule": json.dumps(rule_id)}
            for rule_id, condition, *_ in RULES]
    table = {
        "hitPolicy": "collect",
        "inputs": [{"id": "condition", "name": "Condition", "type": "expression"}],
        "outputs": [{"id": "rule", "name": "Rule", "type": "expression", "field": "rule"}],
        "rules": rows,
    }
    nodes = [
        {"id": "request", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
        {"id": "rules", "type": "decisionTableNode", "name": "Peer rules",
         "position": {"x": 300, "y": 0}, "content": table},
        {"id": "response", "type": "outputNode", "name": "Response",
         "position": {"x": 600, "y": 0}},
    ]
    edges = [
        {"id": "e1", "type": "edge", "sourceId": "request", "targetId": "rules"},
        {"id": "e2", "type": "edge", "sourceId": "rules", "targetId": "response"},
    ]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


FIELDS = frozenset({"days_past_due", "credit_score", "balance", "ltv", "monthly_income",
                    "region", "has_collateral_insurance"})


def evaluator() -> Any:
    """``evaluate(loan, as_of) -> [(id, status, due, deadline), ...]``, the same list as
    ``peer_workload.baseline``, with zen deciding which rules fire."""
    import zen

    # The engine with a static loader, not ``create_decision(...).evaluate``: with
    # zen-engine 2.1.3 the latter took about 600 us per call here, 15-20x the engine's.
    engine = zen.ZenEngine({"loader": {"type": "static",
                                       "content": {"peer": decision_model(FIELDS)}}})
    engine.get_decision("peer").validate()  # a malformed model fails here, not in the loop
    zen_evaluate = engine.evaluate
    fields = tuple(sorted(FIELDS))  # only what the rules read: less for zen to convert
    days = {rule_id: (timedelta(days=after), timedelta(days=window))
            for rule_id, _, after, window, _, _ in RULES}

    def evaluate(loan: dict[str, Any], as_of: date) -> list[tuple[str, str, date, date]]:
        context = {key: float(value) if type(value) is Decimal else value
                   for key in fields for value in (loan[key],)}
        fired = zen_evaluate("peer", context)["result"]
        disbursed = loan["disbursement_date"]
        if not isinstance(disbursed, date):
            disbursed = date.fromisoformat(disbursed)
        actions = []
        for row in fired:
            rule_id = row["rule"]
            after, window = days[rule_id]
            due = disbursed + after
            deadline = due + window
            actions.append((rule_id, "overdue" if as_of > deadline else "due", due, deadline))
        actions.sort(key=lambda action: (action[3], action[0]))
        return actions

    return evaluate
