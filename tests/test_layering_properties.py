"""Property: a branch that only tightens never requires less than its head office.

For random overlays that shorten ``after``/``window``/``every``/``cooldown``/
``repeat``, lengthen ``lead``, raise severities, require channels at least as
strong (SPEC 5.1) and add nodes, rules and checklist items, every action the head
office requires for a snapshot is also required by the branch, with the same id
and a deadline no later. Such overlays must also pass every guardrail; and an
overlay that lets a weaker channel complete an inherited action is always refused.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import followup_policy as fp
from followup_policy.completion import BUILTIN_CHANNEL_COVERS, accepted_channels, channel_completes
from followup_policy.durations import Duration, parse_duration
from followup_policy.loading import read_yaml_file, to_plain
from followup_policy.schema import SEVERITIES

ROOT = Path(__file__).resolve().parent.parent
HEAD_OFFICE = ROOT / "policies" / "head_office.yaml"
HEAD = to_plain(read_yaml_file(HEAD_OFFICE))
HEAD_POLICY = fp.load_policy(HEAD_OFFICE)

_POOL = tuple(
    Duration(amount, unit)  # type: ignore[arg-type]
    for unit, amounts in (("days", range(0, 61)), ("weeks", range(1, 11)),
                          ("months", range(1, 25)), ("years", (1, 2)))
    for amount in amounts
)
_ZERO = Duration(0, "days")


def _duration(text: str | None, default: Duration = _ZERO) -> Duration:
    return default if text is None else parse_duration(text)


def _shorter(current: Duration) -> st.SearchStrategy[str]:
    """A duration never longer than ``current``, in any unit."""
    return st.sampled_from([str(d) for d in _POOL if d.never_longer_than(current)])


def _longer(current: Duration) -> st.SearchStrategy[str]:
    """A lead time never shorter than ``current`` (a reminder at least as early)."""
    return st.sampled_from([str(d) for d in _POOL if current.never_longer_than(d)
                            and d.max_days <= 120])


_ORDER = channel_completes({})


def _accepted(channel: str, widen: tuple[str, ...] = ()) -> frozenset[str]:
    found = accepted_channels(channel, widen, _ORDER)
    assert found is not None
    return found


def _at_least_as_strong(channel: str) -> st.SearchStrategy[str]:
    """A built-in channel whose entries complete no more than ``channel``'s accepted set."""
    return st.sampled_from([c for c in BUILTIN_CHANNEL_COVERS
                            if _accepted(c) <= _accepted(channel)])


def _higher(severity: str) -> st.SearchStrategy[str]:
    return st.sampled_from(SEVERITIES[SEVERITIES.index(severity):])


@st.composite
def _tighter(draw: st.DrawFn, item: dict[str, Any], durations: dict[str, Duration | None],
             leads: tuple[str, ...] = (), severity: bool = True) -> dict[str, Any]:
    """Some keys of one inherited item, each tightened."""
    out: dict[str, Any] = {}
    if item.get("channel") and draw(st.booleans()):
        out["channel"] = draw(_at_least_as_strong(item["channel"]))
    for key, current in durations.items():
        if not draw(st.booleans()):
            continue
        if current is None:  # no repeat yet: any repeat tightens
            out[key] = draw(st.sampled_from([str(d) for d in _POOL if d.amount]))
        elif key == "cooldown" and draw(st.booleans()):
            out[key] = None  # dropping a cooldown only lets the action through sooner
        else:
            out[key] = draw(_shorter(current))
    for key in leads:
        if draw(st.booleans()):
            out[key] = draw(_longer(_duration(item.get(key))))
    if severity and draw(st.booleans()):
        out["severity"] = draw(_higher(item.get("severity", "medium")))
    return out


@st.composite
def overlays(draw: st.DrawFn) -> dict[str, Any]:
    overlay: dict[str, Any] = {}
    nodes = []
    for node in HEAD["timing_nodes"]:
        if node.get("locked"):
            continue
        change = draw(_tighter(node, {"after": _duration(node["after"]),
                                      "window": _duration(node.get("window"))}, ("lead",)))
        if change:
            nodes.append({"id": node["id"], **change})
    for index in range(draw(st.integers(0, 2))):
        nodes.append({"id": f"branch_node_{index}", "title": f"分行新增回访{index}",
                      "after": draw(st.sampled_from([str(d) for d in _POOL])),
                      "window": draw(_shorter(Duration(30, "days"))),
                      "channel": draw(st.sampled_from(["phone", "robot_call", "site_visit"]))})
    if nodes:
        overlay["timing_nodes"] = nodes

    frequency = {}
    for tier, entry in HEAD["frequency"].items():
        change = draw(_tighter(entry, {"every": _duration(entry["every"]),
                                       "window": _duration(entry.get("window"))}, ("lead",)))
        if change:
            frequency[tier] = change
    if frequency:
        overlay["frequency"] = frequency

    rules = []
    for rule in HEAD["rules"]:
        if rule.get("locked"):
            continue
        change = draw(_tighter({k: v for k, v in rule.items() if k != "channel"}, {
            "cooldown": _duration(rule["cooldown"]) if "cooldown" in rule else None,
            "repeat": _duration(rule["repeat"]) if "repeat" in rule else None,
        }))
        if "cooldown" not in rule:
            change.pop("cooldown", None)  # adding a cooldown would loosen
        action = rule["action"]
        action_change = draw(_tighter(action, {"after": _duration(action.get("after")),
                                               "window": _duration(action.get("window"))},
                                      severity=False))
        if change.get("severity") in ("high", "critical") and "anchor" not in action:
            action_change["anchor"] = "disbursement_date"  # the default, made explicit
        if action_change:
            change["action"] = action_change
        if change:
            rules.append({"id": rule["id"], **change})
    for index in range(draw(st.integers(0, 2))):
        rules.append({"id": f"branch_rule_{index}", "title": f"分行新增规则{index}",
                      "when": f"days_past_due > {draw(st.integers(0, 400))}",
                      "severity": draw(st.sampled_from(SEVERITIES)),
                      "action": {"kind": "branch_check", "anchor": "disbursement_date",
                                 "after": draw(st.sampled_from(
                          [str(d) for d in _POOL]))}})
    if rules:
        overlay["rules"] = rules

    if draw(st.booleans()):
        overlay["checklists"] = {"standard_call": {"items": [
            {"id": "branch_item", "text": "分行增加的核查事项"}]}}
    return overlay


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[dict[str, Any], date]:
    disbursed = draw(st.dates(date(2023, 1, 1), date(2026, 6, 30)))
    as_of = disbursed + timedelta(days=draw(st.integers(0, 900)))
    past_due = draw(st.one_of(st.just(0), st.integers(1, 420)))
    ids = ([n["id"] for n in HEAD["timing_nodes"]] + [r["id"] for r in HEAD["rules"]]
           + ["frequency", "branch_node_0", "branch_rule_0"])
    history = [{"action": draw(st.sampled_from(ids)),
                "date": (disbursed + timedelta(days=draw(st.integers(0, 900)))).isoformat(),
                "channel": draw(st.sampled_from(sorted(BUILTIN_CHANNEL_COVERS))),
                "outcome": draw(st.sampled_from(["reached", "visited", "no_answer", "refused"]))}
               for _ in range(draw(st.integers(0, 4)))]
    data: dict[str, Any] = {
        "loan_id": "P1",
        "disbursement_date": disbursed.isoformat(),
        "loan_type": draw(st.sampled_from(["residential", "commercial"])),
        "days_past_due": past_due,
        "consecutive_missed_installments": min(past_due // 30, 8),
        "homes_owned_in_city": draw(st.integers(0, 3)),
        "declared_home_order": draw(st.integers(1, 2)),
        "down_payment_ratio": draw(st.sampled_from(["0.10", "0.18", "0.24", "0.28", "0.5"])),
        "monthly_income": "20000",
        "monthly_housing_payment": draw(st.sampled_from(["5000", "11000"])),
        "monthly_debt_payment": draw(st.sampled_from(["6000", "12000"])),
        "property_use": draw(st.sampled_from(["self_occupied", "rented", "business"])),
        "credit_score": draw(st.integers(300, 900)),
        "in_bankruptcy": draw(st.booleans()),
        "follow_ups": history,
    }
    if past_due:
        data["delinquency_start_date"] = (as_of - timedelta(days=past_due)).isoformat()
    if draw(st.booleans()):
        data["insurance_expiry_date"] = (
            disbursed + timedelta(days=draw(st.integers(0, 900)))).isoformat()
    return data, as_of


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("property")
    (path / "branches").mkdir()
    shutil.copy(HEAD_OFFICE, path / "head_office.yaml")  # extends stays inside the root
    return path


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(overlay=overlays(), cases=st.lists(snapshots(), min_size=1, max_size=6))
def test_tightening_branch_requires_every_head_office_action_no_later(
        folder: Path, overlay: dict[str, Any], cases: list[tuple[dict[str, Any], date]]) -> None:
    branch = folder / "branches" / "random.yaml"
    document = {"policy": {"id": "random-branch", "title": "随机分行", "version": "1",
                           "extends": "../head_office.yaml"}, **overlay}
    branch.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                      encoding="utf-8")
    policy = fp.load_policy(branch, root=folder)  # a tightening overlay passes every guardrail
    for data, as_of in cases:
        required = HEAD_POLICY.evaluate(data, as_of=as_of).actions
        ours = {a.id: a for a in policy.evaluate(data, as_of=as_of).actions}
        for action in required:
            mine = ours.get(action.id)
            assert mine is not None, (action.id, overlay)
            assert mine.deadline <= action.deadline, (action.id, overlay)


def _inherited_actions() -> list[tuple[str, dict[str, Any]]]:
    """Unlocked head-office items with a channel: (overlay key path, the item)."""
    found: list[tuple[str, dict[str, Any]]] = []
    found += [(f"timing_nodes:{n['id']}", n) for n in HEAD["timing_nodes"]
              if n.get("channel") and not n.get("locked")]
    found += [(f"frequency:{tier}", e) for tier, e in HEAD["frequency"].items()
              if e.get("channel") and not e.get("locked")]
    found += [(f"rules:{r['id']}", r["action"]) for r in HEAD["rules"]
              if r["action"].get("channel") and not r.get("locked")]
    return found


@st.composite
def loosenings(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """An overlay that lets some channel complete an inherited action it did not complete."""
    where, item = draw(st.sampled_from(_inherited_actions()))
    before = _accepted(item["channel"], tuple(item.get("completes_with", ())))
    weaker = [c for c in BUILTIN_CHANNEL_COVERS if not _accepted(c) <= before]
    key = draw(st.sampled_from(["channel", "completes_with"]))
    change: dict[str, Any] = {key: draw(st.sampled_from(weaker))}
    if key == "completes_with":
        change[key] = [change[key]]
    section, ident = where.split(":", 1)
    if section == "frequency":
        return {"frequency": {ident: change}}, key
    if section == "rules":
        return {"rules": [{"id": ident, "action": change}]}, key
    return {"timing_nodes": [{"id": ident, **change}]}, key


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=loosenings())
def test_a_weaker_channel_or_wider_completes_with_is_always_refused(
        folder: Path, case: tuple[dict[str, Any], str]) -> None:
    overlay, key = case
    branch = folder / "branches" / "loose.yaml"
    document = {"policy": {"id": "loose-branch", "title": "放松分行", "version": "1",
                           "extends": "../head_office.yaml"}, **overlay}
    branch.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                      encoding="utf-8")
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.load_policy(branch, root=folder)
    refusals = [i for i in caught.value.issues if i.related is not None]
    assert len(refusals) == 1, caught.value
    (issue,) = refusals
    assert issue.file == str(branch) and issue.related is not None
    assert issue.related.file == str(folder / "head_office.yaml")
    assert ("is not as strong as" in issue.message if key == "channel"
            else "lets an entry through" in issue.message), issue.message
