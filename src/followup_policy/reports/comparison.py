"""Head office against branches: what each branch added, tightened, locked or overrode.

Built on :func:`~followup_policy.diffing.diff_trees` of the resolved policies, so a
change is found exactly as ``followup-policy diff`` finds it, and each carries the
file and line that made it. The guardrails of :mod:`~followup_policy.layering`
already guarantee that a branch only tightens: a changed duration or severity is a
tightening, a changed parameter an override within the parent's bounds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from ..compiling import compile_policy
from ..diffing import Difference, diff_trees
from ..errors import Location
from ..layering import PolicyChain, read_policy_chain, short_file_names, show_value
from ..loading import to_plain
from ..policy import Policy
from . import charts
from .templating import Markup, esc, figure, join, page, section, table, tag

__all__ = ["BranchChange", "ChangeKind", "branch_changes", "comparison_html"]

ChangeKind = Literal["added", "tightened", "locked", "overridden"]

KIND_LABELS: Final[dict[str, str]] = {
    "added": "新增 added",
    "tightened": "收紧 tightened",
    "locked": "锁定 locked",
    "overridden": "覆盖 overridden",
}
# Header keys every policy sets for itself; they are shown in the header, not as changes.
_OWN_HEADER: Final = ("policy", "format")
_STEP: Final = re.compile(r"([^.\[\]]+)(?:\[([^\]]*)\])?")


@dataclass(frozen=True)
class BranchChange:
    """One difference of a branch from the head office, classified for compliance."""

    kind: ChangeKind
    path: str
    old: object
    new: object
    location: Location | None


def classify(difference: Difference) -> ChangeKind:
    """What kind of change a branch made, from the path and the values."""
    if difference.kind == "added":
        if difference.path.endswith(".locked") and difference.new is True:
            return "locked"
        return "added"
    if difference.path.endswith(".locked"):
        return "locked"
    if difference.path.startswith("parameters[") or difference.kind == "removed":
        return "overridden"
    tail = difference.path.rsplit(".", 1)[-1]
    if tail in ("every", "window", "after", "lead", "severity", "cooldown", "repeat"):
        return "tightened"
    return "overridden"


def branch_changes(head: PolicyChain, branch: PolicyChain) -> list[BranchChange]:
    """Every difference of ``branch`` from ``head``, classified, in policy order."""
    changes = []
    for difference in diff_trees(head.tree, branch.tree):
        if difference.path.split(".", 1)[0].split("[", 1)[0] in _OWN_HEADER:
            continue
        changes.append(BranchChange(classify(difference), difference.path, difference.old,
                                    difference.new, difference.new_location))
    return changes


def describe(change: BranchChange) -> str:
    """A short cell text: the new value, and the old one when something changed."""
    if change.kind == "added":
        if isinstance(change.new, dict):
            label = (change.new.get("title") or change.new.get("text")
                     or change.new.get("description"))
            return f"+ {label}" if isinstance(label, str) else "+"
        return f"+ {show_value(change.new)}"
    if change.kind == "locked":
        return "锁定 locked"
    return f"{_short(change.old)} → {_short(change.new)}"


def _short(value: object) -> str:
    if isinstance(value, list):
        parts = []
        for row in value:
            if isinstance(row, dict) and "value" in row:
                start = row.get("from")
                parts.append(f"{show_value(start)}起 {show_value(row['value'])}" if start
                             else show_value(row["value"]))
            else:
                parts.append(show_value(row))
        return "; ".join(parts)
    return show_value(value)


def _where(location: Location | None, names: dict[str, str]) -> str:
    if location is None:
        return ""
    return f"{names.get(location.file, location.file)}:{location.line}"


def comparison_html(head_path: str | os.PathLike[str],
                    branch_paths: Sequence[str | os.PathLike[str]]) -> str:
    """The comparison page: one column per branch, one row per changed item.

    Raises:
        PolicyLoadError: a policy does not load.
    """
    head = read_policy_chain(head_path)
    head_policy = compile_policy(head.tree, os.fspath(head_path))
    branches: list[tuple[Policy, PolicyChain, list[BranchChange]]] = []
    for path in branch_paths:
        chain = read_policy_chain(path)
        policy = compile_policy(chain.tree, os.fspath(path))
        branches.append((policy, chain, branch_changes(head, chain)))
    names = short_file_names([f for _, chain, _ in branches for f in chain.files]
                             + list(head.files))
    paths = list(dict.fromkeys(c.path for _, _, changes in branches for c in changes))

    summary_rows = []
    for policy, chain, changes in branches:
        counts = [sum(1 for c in changes if c.kind == kind) for kind in KIND_LABELS]
        summary_rows.append([policy.title, policy.id, " → ".join(names[f] for f in chain.files),
                             *counts])
    summary = table(["分行 branch", "id", "继承链 extends chain",
                     *KIND_LABELS.values()], summary_rows, numeric=range(3, 7))
    bars = [charts.Bar(policy.id, {label: sum(1 for c in changes if c.kind == kind)
                                   for kind, label in KIND_LABELS.items()})
            for policy, _, changes in branches]
    chart = figure(charts.stacked_bars(bars, list(KIND_LABELS.values()),
                                       "各分行对总行的调整 / changes against the head office",
                                       "项数 items", horizontal=True),
                   "每个分行新增、收紧、覆盖、锁定的项数。 Items each branch added, tightened,"
                   " overrode or locked.")

    header = ["项目 item", f"总行 {head_policy.id}"] + [p.id for p, _, _ in branches]
    rows = []
    for path in paths:
        cells: list[object] = [tag("code", path), _head_value(head, path)]
        for _, _, changes in branches:
            found = [c for c in changes if c.path == path]
            if not found:
                cells.append("")
                continue
            change = found[0]
            cells.append(join([tag("span", KIND_LABELS[change.kind], f"tag {change.kind}"),
                               Markup("<br>"), esc(describe(change)), Markup("<br>"),
                               tag("span", _where(change.location, names), "origin")]))
        rows.append(cells)
    matrix = table(header, rows, cls="matrix")

    locked_rows = [[tag("code", c.path), p.id, _where(c.location, names)]
                   for p, _, changes in branches for c in changes if c.kind == "locked"]
    head_locked = _head_locked(head_policy)
    body = [
        tag("h1", "分行政策对比 / Branch comparison"),
        Markup(f'<p class="meta">总行 head office: {esc(head_policy.title)} '
               f'(<code>{esc(head_policy.id)}</code> {esc(head_policy.version)}, '
               f'digest <code>{esc(head_policy.digest[:16])}</code>) · '
               f'{len(branches)} 个分行 branches</p>'),
        section("概览", "summary", summary, chart,
                Markup('<p class="note">新增 = 分行新增的字段、参数、清单项、节点或规则；'
                       "收紧 = 更短的时限/周期或更高的严重程度；覆盖 = 在总行允许范围内调整的参数；"
                       "锁定 = 分行锁定、下级不得再改。 Added / tightened / overridden / locked,"
                       " as found by <code>followup-policy diff</code>.</p>")),
        section("对比矩阵", "matrix: head office against branches", matrix, ident="matrix"),
        section("总行锁定项", "locked by the head office (no branch may change them)",
                table(["项目 item", "位置 where"], head_locked)),
    ]
    if locked_rows:
        body.append(section("分行锁定项", "locked by a branch",
                            table(["项目 item", "分行 branch", "位置 where"], locked_rows)))
    return page("分行政策对比 Branch comparison", body,
                "followup-policy · 本页离线可读 self-contained, no network")


def _head_value(head: PolicyChain, path: str) -> str:
    """The head office's value at a diff path (blank when the branch added it)."""
    value: object = to_plain(head.tree)
    for name, ident in _STEP.findall(path):
        value = value.get(name) if isinstance(value, dict) else None
        if ident and isinstance(value, list):
            value = next((row for row in value if isinstance(row, dict)
                          and ident in (str(row.get("id")), str(row.get("tier")))), None)
        elif ident and isinstance(value, dict):
            value = value.get(ident)
            if name == "parameters" and not isinstance(value, dict) and value is not None:
                value = {"values" if isinstance(value, list) else "value": value}
    return "" if value is None else _short(value)


def _head_locked(policy: Policy) -> list[list[object]]:
    doc = policy.document
    rows: list[list[object]] = []
    for node in doc.timing_nodes:
        if node.locked:
            rows.append([tag("code", f"timing_nodes[{node.id}]"), node.title])
    for rule in doc.rules:
        if rule.locked:
            rows.append([tag("code", f"rules[{rule.id}]"), rule.title or ""])
    for name, checklist in doc.checklists.items():
        if checklist.locked:
            rows.append([tag("code", f"checklists[{name}]"), checklist.title])
        for item in checklist.items:
            if item.locked:
                rows.append([tag("code", f"checklists[{name}].items[{item.id}]"), item.text])
    for name, param in doc.parameters.items():
        if param.locked:
            rows.append([tag("code", f"parameters[{name}]"), param.description or ""])
    return rows
