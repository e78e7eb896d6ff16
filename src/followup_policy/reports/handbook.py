"""The policy handbook: one self-contained HTML page a compliance officer signs off.

It shows what the policy *does*, not its YAML: the header with version and digest,
a timeline of the timing nodes, the tier ladder with its frequency, every rule with
its condition, action, deadlines and regulatory reference, the checklists and the
dated parameters. For a branch, every value names its origin (head office or
branch, file and line, from the merged tree's provenance) and a section lists what
the branch changed against the head office.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final

from ..compiling import compile_policy
from ..durations import Duration
from ..errors import Location
from ..layering import PolicyChain, origin_of, read_policy_chain, short_file_names, show_value
from ..policy import Policy
from ..schema import PolicyDocument
from . import charts
from .comparison import KIND_LABELS, branch_changes, describe
from .templating import Markup, esc, figure, join, page, section, table, tag

__all__ = ["handbook_html"]

# Days are counted from this date to draw month and year durations on one axis.
_DRAW_FROM: Final = date(2026, 1, 31)
_WORDS: Final = ((r"\band\b", "且"), (r"\bor\b", "或"), (r"\bnot\b", "非"),
                 (r"\bis_set\(", "已填写("), (r"\bparam_at\(", "放款日参数("))
_CHANNELS: Final = {"phone": "电话 phone", "robot_call": "智能语音 robot call",
                    "site_visit": "上门 site visit", "letter": "书面 letter",
                    "sms": "短信 SMS", "video_call": "视频 video call",
                    "in_branch": "网点 in branch"}
_NODE_KEYS: Final = ("title", "after", "window", "lead", "channel", "checklist", "severity",
                     "completes_with", "escalate_after", "escalation", "locked")
_SEVERITIES: Final = {"low": "低 low", "medium": "中 medium", "high": "高 high",
                      "critical": "严重 critical"}


class _Origins:
    """``file:line`` of each value in the merged tree, labelled head office or branch."""

    def __init__(self, chain: PolicyChain) -> None:
        self.chain = chain
        self.names = short_file_names(chain.files)
        self.branch = len(chain.files) > 1

    def __call__(self, *path: str | int) -> Markup:
        if not self.branch:
            return Markup("")
        location = origin_of(self.chain.tree, path)
        if location is None:
            return Markup("")
        return tag("span", self._label(location), "origin")

    def _label(self, location: Location) -> str:
        who = "总行" if location.file == self.chain.files[0] else "分行"
        return f"{who} {self.names.get(location.file, location.file)}:{location.line}"

    def item(self, path: tuple[str | int, ...], keys: Iterable[str]) -> Markup:
        """The item's origin, then each key that a later file of the chain set."""
        if not self.branch:
            return Markup("")
        own = origin_of(self.chain.tree, path)
        if own is None:
            return Markup("")
        lines = [self._label(own)]
        for key in keys:
            where = origin_of(self.chain.tree, (*path, key))
            if where is not None and where.file != own.file:
                lines.append(f"{key} ← {self._label(where)}")
        return join((tag("span", line, "origin") for line in lines), "<br>")


def channel_label(channel: str | None) -> str:
    if channel is None:
        return "不限 any"
    return _CHANNELS.get(channel, channel)


def readable_condition(text: str | None, policy: Policy) -> Markup:
    """The condition with ``and/or/not`` in Chinese and each field's description below."""
    if not text:
        return Markup("总是 always")
    shown = " ".join(text.split())
    for pattern, word in _WORDS:
        shown = re.sub(pattern, word, shown)
    fields = policy.document.fields
    glossary = [f"{name}: {spec.description}" for name, spec in fields.items()
                if spec.description and re.search(rf"\b{re.escape(name)}\b", text)]
    gloss = (Markup('<br><span class="note">') + join(glossary, "；") + Markup("</span>")
             if glossary else Markup(""))
    return join([tag("span", shown, "cond"), gloss])


def _days(duration: Duration) -> int:
    return (duration.after(_DRAW_FROM) - _DRAW_FROM).days


def _opt(value: Any) -> str:
    return "" if value is None else show_value(value) if not isinstance(value, str) else value


def _header(policy: Policy, chain: PolicyChain, names: Mapping[str, str]) -> list[Markup]:
    head = policy.document.policy
    rows: list[list[object]] = [
        ["标识 id", tag("code", head.id)],
        ["版本 version", head.version],
        ["生效 effective",
         f"{_opt(head.effective_from) or '—'} → {_opt(head.effective_to) or '—'}"],
        ["摘要 digest (SHA-256)", tag("code", policy.digest)],
        ["文件 files", " → ".join(names[f] for f in chain.files)],
    ]
    if head.applies_to:
        rows.append(["适用机构 applies to", ", ".join(head.applies_to)])
    parts = [tag("h1", head.title),
             Markup('<p class="meta">贷后回访政策手册 · Follow-up policy handbook</p>'),
             table(["", ""], rows, cls="header")]
    if head.description:
        parts.append(tag("p", head.description))
    return parts


def _timeline(policy: Policy, origins: _Origins) -> Markup:
    doc = policy.document
    rows = []
    for node in doc.timing_nodes:
        due = _days(node.after)
        note = f"（自 {node.anchor}）" if node.anchor != "disbursement_date" else ""
        rows.append(charts.TimelineRow(
            label=f"{node.id} {node.title}", shown=due - _days(node.lead) if due else 0, due=due,
            deadline=due + _days(node.window), channel=node.channel or "any",
            locked=node.locked, note=note))
    ticks: dict[int, str] = {}
    for months, label in ((1, "1个月"), (3, "3个月"), (6, "6个月"), (9, "9个月"),
                          (12, "1年"), (18, "18个月"), (24, "2年")):
        day = _days(Duration(months, "months"))
        if rows and day <= max(r.deadline for r in rows) + 30:
            ticks[day] = label
    svg = charts.timeline(rows, ticks, "回访节点时间线 / timing nodes after disbursement")
    table_rows = []
    for node in doc.timing_nodes:
        extra = _new_keys(node, ("completes_with", "escalate_after", "escalation",
                                 "when_unknown"))
        table_rows.append([
            tag("code", node.id), node.title, f"{node.after}（{node.anchor}）",
            str(node.window), str(node.lead), channel_label(node.channel),
            _SEVERITIES.get(node.severity, node.severity), node.checklist or "",
            readable_condition(node.when, policy),
            "锁定 locked" if node.locked else "",
            join([extra, origins.item(("timing_nodes", node.id), _NODE_KEYS)]),
        ])
    return section("回访节点", "timing nodes",
                   figure(svg, "斜线 = 提前提示期 (lead)；实心 = 办理时限 (window)；"
                               "竖线 = 应办日 (due)。"
                               " Hatched: shown ahead (lead); solid: window to the deadline;"
                               " tick: due date."),
                   table(["id", "名称 title", "时间 after", "时限 window", "提前 lead",
                          "渠道 channel", "严重程度 severity", "清单 checklist",
                          "适用条件 when", "锁定", "来源 origin / 其他"], table_rows),
                   ident="nodes")


def _new_keys(item: Any, keys: Iterable[str]) -> Markup:
    """Keys a newer format adds (e.g. ``escalation``), shown when set to a non-default."""
    parts = []
    fields = getattr(type(item), "model_fields", {})
    for key in keys:
        value = getattr(item, key, None)
        spec = fields.get(key)
        if value in (None, [], {}, ()) or (spec is not None and value == spec.default):
            continue
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        parts.append(f"{key}: {show_value(value)}")
    if not parts:
        return Markup("")
    return join([tag("span", "; ".join(parts), "note"), Markup("<br>")])


def _tiers(policy: Policy, origins: _Origins) -> Markup:
    doc = policy.document
    tiers: list[tuple[str, str | None, Any]] = (
        [(t.tier, t.when, t) for t in doc.risk_tiers] if doc.risk_tiers
        else [(name, None, None) for name in doc.frequency])
    rows = []
    bars = []
    for tier, when, spec in tiers:
        condition = join([_new_keys(spec, ("when_unknown",)), readable_condition(when, policy)])
        entry = doc.frequency.get(tier)
        if entry is None:
            rows.append([tier, condition, "—", "", "", "", "", "", ""])
            continue
        per_year = round(365 / max(_days(entry.every), 1), 1)
        bars.append(charts.Bar(tier, {"每年次数 per year": round(per_year)}))
        rows.append([
            tag("b", tier),
            condition if doc.risk_tiers else "字段 risk_tier",
            f"每 {entry.every}", str(per_year), channel_label(entry.channel),
            str(entry.window), str(entry.lead), _SEVERITIES.get(entry.severity, entry.severity),
            join([entry.checklist or "", Markup("<br>"),
                  _new_keys(entry, ("completes_with", "escalate_after", "escalation")),
                  origins.item(("frequency", tier), _NODE_KEYS + ("every",))]),
        ])
    svg = charts.stacked_bars(bars, ["每年次数 per year"],
                              "各风险等级每年回访次数 / follow-ups per year by tier",
                              "次/年 per year", horizontal=True)
    note = Markup('<p class="note">按顺序匹配，第一个成立的等级生效；没有条件的等级为默认。'
                  " Tiers are tried in order; the first that holds applies.</p>")
    return section("风险等级与回访频率", "tier ladder and frequency", note,
                   table(["等级 tier", "条件 when", "频率 every", "次/年", "渠道 channel",
                          "时限 window", "提前 lead", "严重程度", "清单 checklist / 来源"], rows,
                         numeric=[3]),
                   figure(svg, "由频率换算的每年回访次数 (365 ÷ 周期天数)。"
                               " Follow-ups per year implied by `every`."),
                   ident="tiers")


def _rules(policy: Policy, origins: _Origins) -> Markup:
    rows = []
    for rule in policy.document.rules:
        action = rule.action
        anchor = action.anchor or "disbursement_date"
        deadlines = f"应办 due = {anchor} + {action.after}；截止 deadline = due + {action.window}"
        timing = []
        if rule.repeat:
            timing.append(f"重复 repeat {rule.repeat}")
        if rule.cooldown:
            timing.append(f"冷却 cooldown {rule.cooldown}")
        extra = _new_keys(rule, ("when_unknown",))
        rows.append([
            join([tag("code", rule.id), Markup("<br>"), rule.title or ""]),
            f"{rule.category} · {_SEVERITIES.get(rule.severity, rule.severity)}",
            join([extra, readable_condition(rule.when, policy)]),
            join([f"{action.kind} · {channel_label(action.channel)}",
                  Markup("<br>"), f"清单 {action.checklist}" if action.checklist else "",
                  _new_keys(action, ("completes_with", "escalate_after", "escalation"))]),
            join([deadlines, Markup("<br>"), "；".join(timing)]),
            rule.reference or "",
            join(["锁定 locked" if rule.locked else "", Markup("<br>"),
                  origins.item(("rules", rule.id), ("severity", "cooldown", "repeat", "title",
                                                    "reference", "locked")),
                  origins.item(("rules", rule.id, "action"), _NODE_KEYS)
                  if origins.branch else ""]),
        ])
    return section("规则", "rules: condition → action",
                   table(["规则 rule", "类别 · 严重程度", "条件 condition", "动作 action",
                          "时限 deadlines", "依据 reference", "锁定 / 来源"], rows),
                   ident="rules")


def _checklists(policy: Policy, origins: _Origins) -> Markup:
    parts: list[object] = []
    for name, checklist in policy.document.checklists.items():
        lock = " 【锁定 locked】" if checklist.locked else ""
        parts.append(Markup(f"<h3>{esc(checklist.title)} <code>{esc(name)}</code>{esc(lock)}</h3>"))
        rows = [[i, tag("code", item.id), item.text,
                 readable_condition(item.when, policy) if item.when else "",
                 "锁定" if item.locked else "", origins("checklists", name, "items", item.id)]
                for i, item in enumerate(checklist.items, 1)]
        parts.append(table(["#", "id", "内容 item", "适用条件 when", "锁定", "来源 origin"], rows,
                           numeric=[0]))
    return section("核查清单", "checklists", *parts, ident="checklists")


def _parameters(policy: Policy, origins: _Origins) -> Markup:
    rows = []
    for name, param in policy.document.parameters.items():
        if param.values:
            values = [f"{row.from_.isoformat()} 起 {show_value(row.value)}" for row in param.values]
            where = [origins("parameters", name, "values", i, "value")
                     for i in range(len(param.values))]
        else:
            values = [show_value(param.value)]
            where = [origins("parameters", name, "value") or origins("parameters", name)]
        bounds = []
        if param.overridable:
            bounds.append("分行可调 overridable")
        if param.min is not None or param.max is not None:
            bounds.append(f"范围 {_opt(param.min) or '—'} – {_opt(param.max) or '—'}")
        if param.locked:
            bounds.append("锁定 locked")
        rows.append([tag("code", name), param.description or "",
                     join(values, "<br>"), "；".join(bounds), join(where, "<br>")])
    return section("参数", "parameters and their dated values",
                   table(["参数 parameter", "说明 description", "取值 (按日期) values",
                          "约束 bounds", "来源 origin"], rows), ident="parameters")


def _changes(policy: Policy, chain: PolicyChain, names: Mapping[str, str]) -> Markup:
    head = read_policy_chain(chain.files[0])
    rows = []
    for change in branch_changes(head, chain):
        location = change.location
        where = f"{names.get(location.file, location.file)}:{location.line}" if location else ""
        rows.append([tag("span", KIND_LABELS[change.kind], f"tag {change.kind}"),
                     tag("code", change.path), describe(change), tag("span", where, "origin")])
    return section("本政策对总行的调整", "what this branch changed against the head office",
                   table(["类型 kind", "项目 item", "变更 change", "位置 where"], rows),
                   ident="changes")


def _extras(document: PolicyDocument) -> list[Markup]:
    """Sections for channel and outcome declarations, when the policy has them."""
    parts = []
    for key, title in (("channels", "渠道"), ("outcomes", "回访结果")):
        value = getattr(document, key, None)
        if not value:
            continue
        rows = []
        for name, spec in value.items():
            data = spec.model_dump(exclude_none=True) if hasattr(spec, "model_dump") else spec
            rows.append([tag("code", name), show_value(data)])
        parts.append(section(title, key, table(["名称 name", "定义 definition"], rows)))
    return parts


def handbook_for(policy: Policy, chain: PolicyChain) -> str:
    """The handbook page of a loaded policy and the chain it was merged from."""
    names = short_file_names(chain.files)
    origins = _Origins(chain)
    body: list[object] = [*_header(policy, chain, names)]
    if origins.branch:
        body.append(_changes(policy, chain, names))
    body += [_timeline(policy, origins), _tiers(policy, origins), _rules(policy, origins),
             _checklists(policy, origins), _parameters(policy, origins),
             *_extras(policy.document)]
    footer = (f"{policy.id} {policy.version} · digest {policy.digest} · "
              "followup-policy · 本页离线可读 self-contained, no network")
    return page(f"{policy.title} — 政策手册 handbook", body, footer)


def handbook_html(path: str | os.PathLike[str]) -> str:
    """The handbook page of the policy at ``path`` (a branch: merged with its chain).

    Raises:
        PolicyLoadError: the policy does not load.
    """
    chain = read_policy_chain(path)
    return handbook_for(compile_policy(chain.tree, os.fspath(path)), chain)
