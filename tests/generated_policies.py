"""Hypothesis strategies for random, valid policies and for snapshots that fit them (or not).

Shared by the differential tests of the engines: every engine must give the
interpreter's decision, byte for byte, on whatever these produce. Policies use every
part of the plan (fields of every type, constant and dated parameters, checklists
with conditions, timing nodes, risk tiers or a tier field, frequency, rules with
anchors, cooldown and repeat) and conditions use every operator, function and null.
Snapshots mix good values, nulls, blanks and bad values, around month ends and leap days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import yaml
from hypothesis import strategies as st

__all__ = ["PolicySpec", "as_of_values", "policies", "snapshots_for"]

FIELD_TYPES = ("int", "decimal", "string", "bool", "date", "enum")
SPECIAL_DATES = (date(2024, 2, 29), date(2023, 2, 28), date(2024, 1, 31), date(2023, 8, 31),
                 date(2025, 12, 31), date(2024, 3, 31), date(2025, 1, 30), date(2100, 2, 28),
                 date(2000, 2, 29), date(2026, 11, 29))
dates = st.one_of(st.dates(date(2019, 1, 1), date(2030, 12, 31)), st.sampled_from(SPECIAL_DATES))
durations = st.builds(
    lambda amount, unit: f"{amount} {unit}",
    st.integers(0, 40), st.sampled_from(["days", "weeks", "months", "days", "months"]),
) | st.builds(lambda n: f"{n} year" + ("s" if n != 1 else ""), st.integers(0, 2))
ENUM_VALUES = ("alpha", "beta", "中文", "gamma")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    Decimal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float", str(value)))


@dataclass
class PolicySpec:
    """A generated policy: its YAML text and what snapshots for it need to know."""

    text: str
    fields: dict[str, str]
    action_ids: list[str] = field(default_factory=list)


# -- conditions --------------------------------------------------------------------------------


class _Names:
    def __init__(self, fields: dict[str, str], params: dict[str, str], tiers: list[str] | None,
                 with_tier: bool) -> None:
        self.by_type: dict[str, list[str]] = {kind: [] for kind in FIELD_TYPES}
        for name, kind in fields.items():
            if name != "risk_tier":  # its values are the tiers, not ENUM_VALUES
                self.by_type[kind].append(name)
        self.by_type["date"] += ["as_of", "disbursement_date"]
        self.params = {kind: [n for n, k in params.items() if k == kind] for kind in FIELD_TYPES}
        self.tiers = tiers if with_tier else None


def _number(draw: st.DrawFn, names: _Names, depth: int) -> str:
    options = ["lit"]
    if names.by_type["int"] or names.by_type["decimal"]:
        options += ["field", "field"]
    if names.params["int"] or names.params["decimal"]:
        options.append("param")
    if depth > 0:
        options += ["arith", "neg", "days", "len"]
    choice = draw(st.sampled_from(options))
    if choice == "lit":
        return draw(st.sampled_from(["0", "1", "3", "7", "30", "0.5", "2.25", "100", "12"]))
    if choice == "field":
        return draw(st.sampled_from(names.by_type["int"] + names.by_type["decimal"]))
    if choice == "param":
        return "params." + draw(st.sampled_from(names.params["int"] + names.params["decimal"]))
    if choice == "neg":
        return f"-{_number(draw, names, depth - 1)}"
    if choice == "days":
        function = draw(st.sampled_from(["days_between", "months_between", "days_since"]))
        first = _date(draw, names, depth - 1)
        if function == "days_since":
            return f"days_since({first})"
        return f"{function}({first}, {_date(draw, names, depth - 1)})"
    if choice == "len":
        if names.by_type["string"]:
            return f"len({draw(st.sampled_from(names.by_type['string']))})"
        return "len([1, 2])"
    op = draw(st.sampled_from(["+", "-", "*", "/", "%"]))
    left = _number(draw, names, depth - 1)
    right = _number(draw, names, depth - 1)
    if op in ("/", "%") and right in ("0",):
        right = "3"
    return f"({left} {op} {right})"


def _date(draw: st.DrawFn, names: _Names, depth: int) -> str:
    options = ["field", "field", "lit"]
    if names.params["date"]:
        options.append("param")
    if names.params["date"] and depth > 0:
        options.append("param_at")
    choice = draw(st.sampled_from(options))
    if choice == "lit":
        return f'date("{draw(dates).isoformat()}")'
    if choice == "param":
        return "params." + draw(st.sampled_from(names.params["date"]))
    if choice == "param_at":
        name = draw(st.sampled_from(names.params["date"]))
        return f'param_at("{name}", {_date(draw, names, depth - 1)})'
    return draw(st.sampled_from(names.by_type["date"]))


def condition(draw: st.DrawFn, names: _Names, depth: int) -> str:
    """A random well-typed boolean condition over ``names``."""
    options = ["cmp", "cmp", "date_cmp", "is_set", "lit"]
    if names.by_type["bool"]:
        options.append("bool")
    if names.by_type["enum"]:
        options += ["enum", "enum_in"]
    if names.by_type["string"]:
        options.append("string")
    if names.tiers:
        options.append("tier")
    if depth > 0:
        options += ["and", "or", "not", "chain", "and", "or"]
    choice = draw(st.sampled_from(options))
    op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
    if choice == "cmp":
        return f"{_number(draw, names, depth)} {op} {_number(draw, names, depth)}"
    if choice == "date_cmp":
        return f"{_date(draw, names, depth)} {op} {_date(draw, names, depth)}"
    if choice == "is_set":
        every = [n for kind in FIELD_TYPES for n in names.by_type[kind]]
        return f"is_set({draw(st.sampled_from(every))})"
    if choice == "lit":
        return draw(st.sampled_from(["true", "false"]))
    if choice == "bool":
        return draw(st.sampled_from(names.by_type["bool"]))
    if choice == "enum":
        eq = draw(st.sampled_from(["==", "!="]))
        value = draw(st.sampled_from(ENUM_VALUES))
        return f'{draw(st.sampled_from(names.by_type["enum"]))} {eq} "{value}"'
    if choice == "enum_in":
        chosen = draw(st.lists(st.sampled_from(ENUM_VALUES), min_size=1, max_size=3))
        negated = draw(st.sampled_from(["in", "not in"]))
        shown = ", ".join(f'"{value}"' for value in chosen)
        return f"{draw(st.sampled_from(names.by_type['enum']))} {negated} [{shown}]"
    if choice == "string":
        name = draw(st.sampled_from(names.by_type["string"]))
        return draw(st.sampled_from([f'{name} == "x"', f'{name} < "m"', f'{name} in ["a", "x"]',
                                     f"len({name}) > 2"]))
    if choice == "tier":
        assert names.tiers is not None
        return f'tier == "{draw(st.sampled_from(names.tiers))}"'
    if choice == "not":
        return f"not ({condition(draw, names, depth - 1)})"
    if choice == "chain":
        return (f"{_number(draw, names, 0)} {draw(st.sampled_from(['<', '<=']))}"
                f" {_number(draw, names, depth - 1)} {draw(st.sampled_from(['<', '<=']))}"
                f" {_number(draw, names, 0)}")
    parts = draw(st.lists(st.just(None), min_size=2, max_size=4))
    return f" {choice} ".join(f"({condition(draw, names, depth - 1)})" for _ in parts)


# -- policies ----------------------------------------------------------------------------------


@st.composite
def policies(draw: st.DrawFn) -> PolicySpec:
    """A random valid policy exercising every part of the plan."""
    fields: dict[str, str] = {}
    field_specs: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(FIELD_TYPES))
        name = f"f{index}_{kind}"
        fields[name] = kind
        spec: dict[str, Any] = {"type": kind}
        if kind == "enum":
            spec["values"] = list(ENUM_VALUES)
        if draw(st.integers(0, 4)) == 0:
            spec["required"] = True
        if kind in ("int", "decimal") and draw(st.integers(0, 3)) == 0:
            spec["min"] = Decimal(draw(st.sampled_from(["0", "-5", "1.5"])))
            if draw(st.booleans()):
                spec["max"] = Decimal("1000")
        if draw(st.integers(0, 4)) == 0:
            spec["default"] = {"int": 3, "decimal": Decimal("2.5"), "string": "x",
                               "bool": False, "date": date(2024, 2, 29),
                               "enum": "beta"}[kind]
        field_specs[name] = spec
    use_tier_field = draw(st.integers(0, 3)) == 0
    if use_tier_field:
        fields["risk_tier"] = "enum"
        field_specs["risk_tier"] = {"type": "enum", "values": ["T1", "T2"]}
    params: dict[str, str] = {}
    param_specs: dict[str, Any] = {}
    for index in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["int", "decimal", "date"]))
        name = f"p{index}"
        params[name] = kind
        sample = {"int": st.integers(-3, 90), "decimal": st.sampled_from(
            [Decimal("0.5"), Decimal("12.75"), Decimal("-1.25")]), "date": dates}[kind]
        if draw(st.booleans()):
            param_specs[name] = {"value": draw(sample)}
        else:
            starts = sorted(set(draw(st.lists(dates, min_size=1, max_size=3))))
            param_specs[name] = {"values": [{"from": start, "value": draw(sample)}
                                            for start in starts]}
    tiers = ["T1", "T2"] if use_tier_field else (
        ["T1", "T2", "T3"] if draw(st.booleans()) else None)
    base = _Names(fields, params, tiers, with_tier=False)
    names = _Names(fields, params, tiers, with_tier=True)
    date_fields = [n for n, k in fields.items() if k == "date"] + ["disbursement_date"]
    checklists: dict[str, Any] = {}
    for index in range(draw(st.integers(0, 2))):
        items = []
        for item in range(draw(st.integers(1, 3))):
            entry: dict[str, Any] = {"id": f"i{item}", "text": f"检查 {item}"}
            if draw(st.booleans()):
                entry["when"] = condition(draw, names, 1)
            items.append(entry)
        checklists[f"c{index}"] = {"title": f"清单 {index}", "items": items}
    checklist = st.sampled_from([None, *checklists])
    ids: list[str] = []
    nodes = []
    for index in range(draw(st.integers(0, 3))):
        node: dict[str, Any] = {
            "id": f"n{index}", "title": f"节点 {index}", "after": draw(durations),
            "anchor": draw(st.sampled_from(date_fields)), "window": draw(durations),
            "lead": draw(durations), "channel": draw(st.sampled_from(["phone", "sms"])),
        }
        if draw(st.booleans()):
            node["when"] = condition(draw, names, 2)
        _maybe_escalate(draw, node)
        chosen = draw(checklist)
        if chosen:
            node["checklist"] = chosen
        nodes.append(node)
        ids.append(node["id"])
    document: dict[str, Any] = {
        "policy": {"id": "generated", "title": "随机政策", "version": "1"},
        "fields": field_specs,
    }
    if param_specs:
        document["parameters"] = param_specs
    if checklists:
        document["checklists"] = checklists
    if nodes:
        document["timing_nodes"] = nodes
    if tiers and not use_tier_field:
        risk = [{"tier": tier, "when": condition(draw, base, 2)} for tier in tiers[:-1]]
        for tier in risk:
            if draw(st.integers(0, 3)) == 0:
                tier["when_unknown"] = "apply"
        last: dict[str, Any] = {"tier": tiers[-1]}
        if draw(st.integers(0, 3)) == 0:
            last["when"] = condition(draw, base, 1)  # no default tier: some loans get none
        document["risk_tiers"] = [*risk, last]
    if tiers and draw(st.integers(0, 3)) > 0:
        frequency = {}
        for tier in tiers:
            entry = {"every": draw(durations), "window": draw(durations),
                     "lead": draw(durations), "channel": "phone"}
            chosen = draw(checklist)
            if chosen:
                entry["checklist"] = chosen
            frequency[tier] = entry
        document["frequency"] = frequency
    rules = []
    for index in range(draw(st.integers(0, 4))):
        action: dict[str, Any] = {"kind": f"kind_{index}", "after": draw(durations),
                                  "window": draw(durations)}
        if draw(st.booleans()):
            action["anchor"] = draw(st.sampled_from(date_fields))
        if draw(st.booleans()):
            action["lead"] = draw(durations)
        chosen = draw(checklist)
        if chosen:
            action["checklist"] = chosen
        rule: dict[str, Any] = {
            "id": f"r{index}", "when": condition(draw, names, 3), "action": action,
            "severity": "high" if "anchor" in action else draw(st.sampled_from(["low",
                                                                                "medium"])),
            "category": draw(st.sampled_from(["regulatory", "risk", "service"])),
        }
        if draw(st.booleans()):
            rule["reference"] = "《办法》第3条"
        if draw(st.integers(0, 3)) == 0:
            rule["when_unknown"] = draw(st.sampled_from(["apply", "skip"]))
        if draw(st.booleans()):
            rule["cooldown"] = draw(durations)
        if draw(st.booleans()):
            rule["repeat"] = draw(durations)
        _maybe_escalate(draw, action)
        rules.append(rule)
        ids.append(rule["id"])
    if rules:
        document["rules"] = rules
    text = yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False)
    return PolicySpec(text, fields, ids)


def _maybe_escalate(draw: st.DrawFn, action: dict[str, Any]) -> None:
    """One action in three escalates after a few failed attempts (SPEC 5.1)."""
    if draw(st.integers(0, 2)) == 0:
        action["escalate_after"] = draw(st.integers(1, 3))
        action["escalation"] = {"kind": "lost_contact_review", "title": "失联处置",
                                "channel": "site_visit", "after": draw(durations),
                                "window": draw(durations)}


# -- snapshots ---------------------------------------------------------------------------------

_BAD: dict[str, list[Any]] = {
    "int": ["12", "12.0", "1.5", "abc", 2.0, 2.5, True, float("nan"), 10**30, Decimal("7"),
            -10**20],
    "decimal": ["0.3", "abc", 0.3, float("inf"), float("nan"), True, Decimal("NaN"), 10**40,
                "1e999999"],
    "string": [5, Decimal("1.5"), True, ["x"], "  "],
    "bool": ["true", "FALSE", "yes", 1, 0],
    "date": ["2024-02-30", "2024-2-3", "20240203", datetime(2024, 1, 1, 12), 20240101,
             " 2024-02-29 ", "９９９９-01-01"],
    "enum": ["ALPHA", "alpah", 3, "中文 "],
}


def _good(kind: str) -> st.SearchStrategy[Any]:
    return {
        "int": st.integers(-40, 400) | st.sampled_from([0, 10**12]),
        "decimal": st.decimals("-50", "5000", places=2) | st.sampled_from(
            [Decimal("0"), Decimal("1E+3")]),
        "string": st.sampled_from(["x", "abc", "m", "中文", ""]),
        "bool": st.booleans(),
        "date": dates.map(lambda d: d) | dates.map(date.isoformat),
        "enum": st.sampled_from(ENUM_VALUES),
    }[kind]


def _value(kind: str, bad: bool) -> st.SearchStrategy[Any]:
    if bad:
        return st.one_of(_good(kind), st.none(), st.just(""), st.sampled_from(_BAD[kind]))
    return st.one_of(_good(kind), _good(kind), _good(kind), st.none(), st.just(" "))


_OUTCOMES = st.sampled_from([None, "reached", "completed", "unreachable", "refused", "gone"])
_CHANNELS = st.sampled_from([None, "site_visit", "phone", "robot_call", "sms", "pigeon"])


def _entry(action: str, when: Any, outcome: str | None, channel: str | None) -> dict[str, Any]:
    entry = {"action": action, "date": when}
    if outcome is not None:
        entry["outcome"] = outcome
    if channel is not None:
        entry["channel"] = channel
    return entry


def _follow_up(ids: list[str], bad: bool) -> st.SearchStrategy[Any]:
    """A history entry: completing or failed outcomes, strong or weak channels, missing or
    unknown ones (SPEC 5.1), for any action, an escalation or one the policy lacks."""
    escalations = [f"{ident}.escalation" for ident in ids]
    entry = st.builds(_entry, st.sampled_from([*ids, *escalations, "frequency", "unknown"]),
                      dates.map(date.isoformat) | dates, _OUTCOMES, _CHANNELS)
    if not bad:
        return entry
    return entry | st.sampled_from([{"action": "n0"}, {"date": "2024-01-01"}, "x",
                                    {"action": "r0", "date": "2024-13-01"}])


@st.composite
def snapshots_for(draw: st.DrawFn, spec: PolicySpec) -> Any:
    """A raw snapshot for ``spec``: any field may be missing or blank; one in four
    snapshots also carries wrong values, which the reader must reject alike."""
    bad = draw(st.integers(0, 3)) == 0
    snapshot: dict[str, Any] = {}
    loan_id = draw(st.sampled_from(["L1", "贷款-2", 77]) | (
        st.sampled_from([None, "", True, 1.5]) if bad else st.just("L3")))
    if loan_id is not None:
        snapshot["loan_id"] = loan_id
    disbursed = draw(dates.map(date.isoformat) | dates | (
        st.sampled_from([None, "2024-02-30", ""]) if bad else dates))
    if disbursed is not None:
        snapshot["disbursement_date"] = disbursed
    own = draw(st.none() | dates | dates.map(date.isoformat))
    if own is not None:
        snapshot["as_of"] = own
    for name, kind in spec.fields.items():
        if name == "risk_tier":
            value = draw(st.sampled_from(["T1", "T2", None, "T9"] if bad else ["T1", "T2",
                                                                               None]))
        else:
            value = draw(_value(kind, bad))
        if value is not None or draw(st.booleans()):
            snapshot[name] = value
    history = draw(st.lists(_follow_up(spec.action_ids, bad), max_size=5))
    if history or draw(st.booleans()):
        as_json = bad and draw(st.integers(0, 5)) == 0
        snapshot["follow_ups"] = (json.dumps(history, default=str) if as_json else history)
    return snapshot


as_of_values = st.none() | dates | dates.map(date.isoformat)

