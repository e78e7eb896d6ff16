"""Policy test cases: prove a policy does what its authors mean before it is published.

A *case file* is YAML written by compliance staff. It names a policy and lists
cases; each case is a borrower snapshot, an evaluation date and what the policy
must do for it (actions with their status, dates, channel and checklist; actions
that must not appear; the risk tier; findings)::

    policy: ../../policies/head_office.yaml     # relative to this file
    defaults:                                    # optional, shared by every case
      as_of: 2026-11-28
      snapshot: {loan_type: residential, days_past_due: 0}
    cases:
      - name: 二套房误报首套，触发认定核查
        snapshot: {disbursement_date: 2026-01-31, homes_owned_in_city: 2,
                   declared_home_order: 1}
        expect:
          tier: 正常
          actions:
            - {id: second_home_misclassified, status: due, deadline: 2026-12-08}
          absent: [律师函]

Stages, each callable alone: :func:`load_case_file` (located YAML -> checked
cases, every mistake as ``file:line:col``, raised together as
:class:`CaseFileError`) -> :func:`run_case` (``policy.explain`` and a comparison
that yields :class:`Mismatch` es) -> :func:`run_cases` (all files, plus the
:class:`PolicyCoverage` of every policy) -> :func:`format_report` /
:func:`write_junit`. :func:`run_test_command` is what ``followup-policy test`` calls.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .atomic import atomic_bytes
from .decisions import Action, Decision
from .errors import Issue, Location, PolicyError, PolicyLoadError, SnapshotError, did_you_mean
from .explain import ExplainedElement, Explanation
from .loading import (
    YMap,
    YNode,
    location_of,
    node_at,
    read_yaml_file,
    to_plain,
    yaml_files_under,
)
from .messages import Lang, render_issue, translate, translate_lines, translate_report_line
from .policy import Policy
from .schema import SEVERITIES
from .snapshots import BUILTIN_KEYS, coerce_date

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_OK",
    "ActionExpectation",
    "Case",
    "CaseFile",
    "CaseFileError",
    "CaseResult",
    "ConditionCoverage",
    "Expectation",
    "FindingExpectation",
    "Mismatch",
    "PolicyCoverage",
    "TestReport",
    "case_file_json_schema",
    "compare",
    "format_coverage",
    "format_report",
    "format_result",
    "load_case_file",
    "load_cases",
    "run_case",
    "run_cases",
    "run_test_command",
    "write_junit",
]

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2

_FOLLOW_UP_KEYS = ("action", "date", "channel", "outcome", "performed_by", "evidence")
_STATUSES = ("upcoming", "due", "overdue")

# --------------------------------------------------------------------------------------
# The case file format (pydantic models: unknown keys are errors)
# --------------------------------------------------------------------------------------


def _as_text(value: Any) -> Any:
    """Ids and names that YAML read as numbers or dates (``id: 2026``) are kept as text."""
    if isinstance(value, int | Decimal | date) and not isinstance(value, bool):
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


def _as_date(value: Any) -> Any:
    """A date written ``2026-11-28`` (quoted or not); anything else is refused clearly."""
    if isinstance(value, datetime):
        raise ValueError("write a date as YYYY-MM-DD, without a time of day")
    try:
        return coerce_date(value)  # the same rule as for snapshots
    except ValueError:
        raise ValueError(
            f"'{value}' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-28") from None


Text = Annotated[str, BeforeValidator(_as_text), Field(min_length=1)]
CaseDate = Annotated[date, BeforeValidator(_as_date)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionExpectation(_Model):
    """One action the case requires; only the keys given are compared."""

    id: Text = Field(
        description="动作编号：回访节点 id、规则 id，或定期回访 frequency / action id: a timing"
        " node id, a rule id, or 'frequency'",
        examples=["m3", "second_home_misclassified", "frequency", "律师函"],
    )
    status: Literal["upcoming", "due", "overdue"] | None = Field(
        default=None,
        description="状态：upcoming 即将到期 / due 待办 / overdue 已逾期",
        examples=["due"],
    )
    due_date: CaseDate | None = Field(
        default=None, description="应办日期 / due date", examples=["2026-04-30"])
    deadline: CaseDate | None = Field(
        default=None, description="最晚完成日期 / deadline", examples=["2026-05-15"])
    channel: Text | None = Field(
        default=None, description="回访渠道 / channel", examples=["phone", "in_branch"])
    severity: Text | None = Field(
        default=None, description="严重程度 low/medium/high/critical / severity",
        examples=["high"])
    kind: Text | None = Field(
        default=None, description="动作类型 / action kind", examples=["regulatory_review"])
    checklist: list[Text] | None = Field(
        default=None,
        description="核查清单中应保留的全部事项 id（不多不少，顺序不限） / the exact set of"
        " checklist item ids",
        examples=[["registry_check", "contract_review", "report"]],
    )


class FindingExpectation(_Model):
    """A finding (e.g. a check that lacked data) the case requires."""

    rule: Text = Field(
        description="发出该发现的规则或节点 id / the rule or node that reports it",
        examples=["second_home_misclassified"])
    kind: Text | None = Field(
        default=None, description="发现类型 / finding kind", examples=["data_missing"])
    fields: list[Text] | None = Field(
        default=None, description="缺失的字段（不多不少） / the exact missing fields",
        examples=[["homes_owned_in_city"]])


class Expectation(_Model):
    """What the policy must do for the case's snapshot."""

    tier: Text | None = Field(
        default=None, description="风险等级 / risk tier", examples=["正常", "关注"])
    actions: list[ActionExpectation] = Field(
        default_factory=list, description="必须出现的动作 / actions that must be required")
    absent: list[Text] = Field(
        default_factory=list, description="不应出现的动作 id / action ids that must not appear",
        examples=[["律师函", "written_notice"]])
    only: bool = Field(
        default=False,
        description="true：除 actions 和 findings 列出的以外不应再有其他动作或发现 / nothing"
        " beyond the listed actions and findings")
    findings: list[FindingExpectation] = Field(
        default_factory=list, description="必须出现的发现 / findings that must be reported")


class _CaseModel(_Model):
    name: Text = Field(description="案例名称 / case name",
                       examples=["二套房误报首套，触发认定核查"])
    policy: Text | None = Field(
        default=None, description="本案例使用的政策文件（相对本文件） / policy file for this case")
    as_of: CaseDate | None = Field(default=None, description="评估日期 / evaluation date")
    snapshot: dict[str, Any] = Field(
        default_factory=dict, description="借款人快照 / borrower snapshot")
    expect: Expectation = Field(description="预期结果 / what the policy must do")


class _DefaultsModel(_Model):
    as_of: CaseDate | None = Field(default=None, description="默认评估日期 / default as_of")
    snapshot: dict[str, Any] = Field(
        default_factory=dict,
        description="每个案例快照的共同字段，案例中同名字段优先 / fields shared by every"
        " case's snapshot")


class _CaseFileModel(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True,
                              title="followup-policy test cases")

    policy: Text | None = Field(
        default=None, description="被测试的政策文件，路径相对本文件 / the policy under test",
        examples=["../../policies/head_office.yaml"])
    defaults: _DefaultsModel = Field(
        default_factory=_DefaultsModel, description="所有案例共用的设置 / shared settings")
    cases: list[_CaseModel] = Field(min_length=1, description="测试案例 / the cases")


class _FileHeader(_Model):
    """The file minus its cases: each case is validated on its own, so one bad case
    does not hide the problems of the others."""

    policy: Text | None = None
    defaults: _DefaultsModel = Field(default_factory=_DefaultsModel)
    cases: list[Any] = Field(min_length=1)


def case_file_json_schema() -> dict[str, Any]:
    """JSON Schema of the case file format, for editor completion like the policy schema."""
    return _CaseFileModel.model_json_schema()


# --------------------------------------------------------------------------------------
# Loaded cases
# --------------------------------------------------------------------------------------


class CaseFileError(PolicyLoadError):
    """A case file (or the policy it names) could not be loaded; ``issues`` lists all."""


@dataclass(frozen=True)
class Case:
    """One checked test case, ready to run against its (loaded) policy."""

    name: str
    location: Location
    policy: Policy
    as_of: date
    snapshot: Mapping[str, Any]
    expect: Expectation

    @property
    def file(self) -> str:
        return self.location.file


@dataclass(frozen=True)
class CaseFile:
    """The cases of one file, with any warnings (e.g. a follow-up id that looks misspelt)."""

    path: str
    cases: tuple[Case, ...]
    warnings: tuple[Issue, ...] = ()


def load_cases(paths: Iterable[str | os.PathLike[str]]) -> list[CaseFile]:
    """Load every case file under ``paths`` (files or directories).

    Raises:
        CaseFileError: with every located problem of every file at once.
    """
    cache: dict[str, Policy] = {}
    loaded: list[CaseFile] = []
    issues: list[Issue] = []
    for path in _case_files(paths, issues):
        try:
            loaded.append(load_case_file(path, cache))
        except PolicyLoadError as exc:
            issues.extend(exc.issues)
    if issues:
        raise CaseFileError(issues)
    return loaded


def _case_files(paths: Iterable[str | os.PathLike[str]], issues: list[Issue]) -> Iterator[str]:
    """The case files under ``paths``, each once, directories walked in name order."""
    seen: set[str] = set()
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = yaml_files_under(path)
            if not found:
                issues.append(Issue(str(path), 1, 1, "no test case files (*.yaml) here"))
        elif path.exists():
            found = [path]
        else:
            issues.append(Issue(str(path), 1, 1, "no such file or directory"))
            continue
        for file in found:
            real = os.path.realpath(file)
            if real not in seen:
                seen.add(real)
                yield str(file)


def load_case_file(path: str | os.PathLike[str],
                   policies: dict[str, Policy] | None = None) -> CaseFile:
    """Read and check one case file, loading the policies it names.

    ``policies`` caches loaded policies by real path, shared between files.

    Raises:
        CaseFileError: every problem of the file (and of the policies it names).
    """
    file = os.fspath(path)
    try:
        root = read_yaml_file(file)
    except PolicyLoadError as exc:
        raise CaseFileError(exc.issues) from None
    return _CaseLoader(file, root, {} if policies is None else policies).load()


class _CaseLoader:
    """Collects every problem of one case file while it checks it."""

    def __init__(self, file: str, root: YNode, policies: dict[str, Policy]) -> None:
        self.file = file
        self.root = root
        self.policies = policies
        self.issues: list[Issue] = []
        self.warnings: list[Issue] = []

    def report(self, path: tuple[str | int, ...], message: str, *, key: bool = False,
               suggestion: str | None = None, warning: bool = False) -> None:
        loc = location_of(self.root, path, key=key)
        issue = Issue(loc.file, loc.line, loc.column, message, suggestion)
        (self.warnings if warning else self.issues).append(issue)

    def load(self) -> CaseFile:
        shaped = self.shape()
        cases: list[Case] = []
        if shaped is not None:
            model, valid = shaped
            names: dict[str, int] = {}
            for index, raw in valid:
                if raw.name in names:
                    self.report(("cases", index, "name"),
                                f"another case is already named '{raw.name}'"
                                f" (case {names[raw.name] + 1}); give each case its own name")
                names.setdefault(raw.name, index)
                case = self.case(model, index, raw)
                if case is not None:
                    cases.append(case)
        if self.issues:
            raise CaseFileError(self.issues + [
                Issue(w.file, w.line, w.column, f"warning: {w.message}", w.suggestion)
                for w in self.warnings])
        return CaseFile(self.file, tuple(cases), tuple(self.warnings))

    def shape(self) -> tuple[_FileHeader, list[tuple[int, _CaseModel]]] | None:
        root = self.root
        if isinstance(root, YMap) and (
            isinstance(node_at(root, ("policy",)), YMap) or "timing_nodes" in root.entries
            or "rules" in root.entries
        ):
            self.report((), "this is a policy file, not a test case file: put the cases in"
                             " their own file whose 'policy:' names this policy")
            return None
        data = to_plain(root)
        if not isinstance(data, dict):
            self.report((), "a test case file is a mapping with 'policy:', 'defaults:' and"
                             " 'cases:'")
            return None
        try:
            header = _FileHeader.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                self.validation_issue(tuple(error["loc"]), error)
            return None
        valid: list[tuple[int, _CaseModel]] = []
        for index, raw in enumerate(header.cases):
            try:
                valid.append((index, _CaseModel.model_validate(raw)))
            except ValidationError as exc:
                for error in exc.errors():
                    self.validation_issue(("cases", index, *error["loc"]), error)
        return header, valid

    def validation_issue(self, loc: tuple[str | int, ...], error: Any) -> None:
        kind = error["type"]
        name = str(loc[-1]) if loc else ""
        value = error.get("input")
        if kind == "missing":
            self.report(loc[:-1], f"missing required key '{name}'")
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            self.report(loc, f"unknown key '{name}'; allowed here: {', '.join(allowed)}",
                        key=True, suggestion=did_you_mean(name, allowed))
        elif kind == "literal_error":
            choices = _literal_choices(loc)
            self.report(loc, f"'{value}' is not allowed for '{name}'; use one of: "
                             f"{', '.join(choices)}", suggestion=did_you_mean(str(value), choices))
        elif kind == "too_short" and name == "cases":
            self.report(loc, "'cases' is empty: add at least one case")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            prefix = f"'{name}': " if name and not isinstance(loc[-1], int) else ""
            self.report(loc, prefix + message[0].lower() + message[1:])

    # -- one case ----------------------------------------------------------------------

    def case(self, model: _FileHeader, index: int, raw: _CaseModel) -> Case | None:
        here: tuple[str | int, ...] = ("cases", index)
        policy = self.policy_for(model, index, raw)
        as_of = raw.as_of or model.defaults.as_of
        snapshot: dict[str, Any] = {**model.defaults.snapshot, **raw.snapshot}
        snapshot.setdefault("loan_id", raw.name)
        if as_of is None and snapshot.get("as_of") is None:
            self.report(here, f"case '{raw.name}' has no evaluation date: add 'as_of:' to the"
                              " case (or to 'defaults:')")
        if not raw.expect.model_fields_set:
            self.report(here + ("expect",), "'expect' is empty: say what the policy must do"
                                            " (actions, absent, tier or findings)")
        if policy is None:
            return None
        count = len(self.issues)
        self.check_snapshot(model, index, raw, snapshot, policy)
        if as_of is None:
            as_of = _snapshot_as_of(snapshot)
        if as_of is not None and len(self.issues) == count:
            try:  # a snapshot that does not fit the policy's fields is a mistake in this file
                policy.evaluate(snapshot, as_of=as_of)
            except SnapshotError as exc:
                self.report(self.snapshot_path(model, index, raw, exc.field),
                            f"the snapshot does not fit the policy: {exc.message}")
        self.check_expect(here + ("expect",), raw.expect, policy)
        if as_of is None or len(self.issues) > count:
            return None
        loc = location_of(self.root, here)
        return Case(raw.name, loc, policy, as_of, snapshot, raw.expect)

    def policy_for(self, model: _FileHeader, index: int, raw: _CaseModel) -> Policy | None:
        if raw.policy is not None:
            text = raw.policy
            path: tuple[str | int, ...] = ("cases", index, "policy")
        elif model.policy is not None:
            text, path = model.policy, ("policy",)
        else:
            self.report(("cases", index), "no policy named: add 'policy: PATH' at the top"
                                          " of the file (or to this case)")
            return None
        if any(issue.location == location_of(self.root, path) for issue in self.issues):
            return None  # already reported for an earlier case
        full = os.path.normpath(os.path.join(os.path.dirname(self.file), text))
        real = os.path.realpath(full)
        if real in self.policies:
            return self.policies[real]
        if not os.path.isfile(full):
            folder = os.path.dirname(full) or "."
            siblings = (sorted(p.name for p in Path(folder).iterdir()
                               if p.suffix in (".yaml", ".yml"))
                        if os.path.isdir(folder) else [])
            hint = did_you_mean(os.path.basename(full), siblings)
            self.report(path, f"policy file not found: {full} (paths are relative to this"
                              " case file)",
                        suggestion=None if hint is None else os.path.join(
                            os.path.dirname(text), hint))
            return None
        try:
            from . import load_policy

            policy = load_policy(full)
        except PolicyLoadError as exc:
            self.report(path, f"the policy {full} has {len(exc.issues)} problem(s); fix them"
                              " first (followup-policy validate)")
            self.issues.extend(exc.issues)
            return None
        self.policies[real] = policy
        return policy

    def snapshot_path(self, model: _FileHeader, index: int, raw: _CaseModel,
                      name: str | None) -> tuple[str | int, ...]:
        """Where a snapshot field was written: in the case, else in ``defaults``."""
        own: tuple[str | int, ...] = ("cases", index, "snapshot")
        if name is None:
            return own
        head, _, rest = name.partition("[")
        steps: list[str | int] = [head]
        if rest:  # follow_ups[2].date
            number, _, tail = rest.partition("]")
            steps.append(int(number) if number.isdigit() else number)
            steps.extend(s for s in tail.split(".") if s)
        if head in raw.snapshot or head not in model.defaults.snapshot:
            return own + tuple(steps)
        return ("defaults", "snapshot", *steps)

    def check_snapshot(self, model: _FileHeader, index: int, raw: _CaseModel,
                       snapshot: Mapping[str, Any], policy: Policy) -> None:
        known = sorted(set(policy.document.fields) | BUILTIN_KEYS)
        for key in snapshot:
            if key not in known:
                path = self.snapshot_path(model, index, raw, key)
                self.report(path, f"the policy has no field '{key}': a misspelt field would be"
                                  " silently ignored", key=True,
                            suggestion=did_you_mean(key, known))
        follow_ups = snapshot.get("follow_ups")
        if not isinstance(follow_ups, list):
            return
        ids = _action_ids(policy)
        base = self.snapshot_path(model, index, raw, "follow_ups")
        for number, entry in enumerate(follow_ups):
            if not isinstance(entry, Mapping):
                continue
            for key in entry:
                if key not in _FOLLOW_UP_KEYS:
                    self.report(base + (number, str(key)),
                                f"unknown key '{key}' in a follow-up entry; use "
                                + ", ".join(_FOLLOW_UP_KEYS), key=True,
                                suggestion=did_you_mean(str(key), _FOLLOW_UP_KEYS))
            action = entry.get("action")
            if isinstance(action, str) and action not in ids:
                hint = did_you_mean(action, ids)
                if hint is not None:
                    self.report(base + (number, "action"),
                                f"'{action}' is not a node or rule of the policy; a history"
                                " entry may name an old id, but this looks misspelt",
                                suggestion=hint, warning=True)

    def check_expect(self, path: tuple[str | int, ...], expect: Expectation,
                     policy: Policy) -> None:
        ids = _action_ids(policy)
        tiers = _tier_names(policy)
        if expect.tier is not None and expect.tier not in tiers:
            self.report(path + ("tier",), f"'{expect.tier}' is not a risk tier of the policy;"
                                          f" tiers: {', '.join(tiers)}",
                        suggestion=did_you_mean(expect.tier, tiers))
        seen: set[str] = set()
        for number, action in enumerate(expect.actions):
            where = path + ("actions", number)
            if action.id not in ids:
                self.unknown_action(where + ("id",), action.id, ids)
                continue
            if action.id in seen:
                self.report(where + ("id",), f"action '{action.id}' is listed twice")
            seen.add(action.id)
            self.check_action(where, action, policy)
        for number, name in enumerate(expect.absent):
            where = path + ("absent", number)
            if name not in ids:
                self.unknown_action(where, name, ids)
            elif name in seen:
                self.report(where, f"'{name}' is both expected under 'actions' and 'absent'")
        owners = _finding_owners(policy)
        for number, finding in enumerate(expect.findings):
            if finding.rule not in owners:
                self.report(path + ("findings", number, "rule"),
                            f"'{finding.rule}' is not a node, rule, tier or checklist item of"
                            " the policy", suggestion=did_you_mean(finding.rule, owners))

    def unknown_action(self, path: tuple[str | int, ...], name: str, ids: list[str]) -> None:
        self.report(path, f"'{name}' is not an action of the policy: use a timing node id, a"
                          " rule id or 'frequency'", suggestion=did_you_mean(name, ids))

    def check_action(self, where: tuple[str | int, ...], action: ActionExpectation,
                     policy: Policy) -> None:
        channels = list(policy.parts.channels)
        if action.channel is not None and action.channel not in channels:
            self.report(where + ("channel",), f"'{action.channel}' is not a channel; use one of:"
                                              f" {', '.join(channels)}",
                        suggestion=did_you_mean(action.channel, channels))
        if action.severity is not None and action.severity not in SEVERITIES:
            self.report(where + ("severity",), f"'{action.severity}' is not a severity; use one"
                                               f" of: {', '.join(SEVERITIES)}",
                        suggestion=did_you_mean(action.severity, SEVERITIES))
        if (action.due_date is not None and action.deadline is not None
                and action.deadline < action.due_date):
            self.report(where + ("deadline",), "the deadline is before the due date")
        if action.checklist is None:
            return
        items = _checklist_items(policy, action.id)
        if not items:
            self.report(where + ("checklist",), f"action '{action.id}' has no checklist")
            return
        for number, item in enumerate(action.checklist):
            if item not in items:
                self.report(where + ("checklist", number),
                            f"'{item}' is not an item of the checklist of '{action.id}'; items:"
                            f" {', '.join(items)}", suggestion=did_you_mean(item, items))


def _snapshot_as_of(snapshot: Mapping[str, Any]) -> date | None:
    value = snapshot.get("as_of")
    try:
        result: date = _as_date(value)
        return result
    except ValueError:
        return None


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    current: Any = _CaseFileModel
    for step in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if step not in current.model_fields:
                return []
            current = current.model_fields[str(step)].annotation
        elif get_origin(current) is list:
            current = get_args(current)[0]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _literal_choices(loc: tuple[str | int, ...]) -> list[str]:
    if loc and loc[-1] == "status":
        return list(_STATUSES)
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``; ``Annotated[X, ...]`` -> ``X``."""
    while True:
        args = get_args(annotation)
        if hasattr(annotation, "__metadata__"):
            annotation = args[0]
        elif args and type(None) in args and get_origin(annotation) is not list:
            options = [a for a in args if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _action_ids(policy: Policy) -> list[str]:
    parts = policy.parts
    ids = [n.id for n in parts.nodes] + [r.id for r in parts.rules]
    ids += ["frequency"] if parts.frequency else []
    completions = [n.completion for n in parts.nodes] + [r.completion for r in parts.rules]
    completions += [f.completion for f in parts.frequency.values()]
    escalations = [c.escalation.id for c in completions if c.escalation is not None]
    return ids + list(dict.fromkeys(escalations))


def _tier_names(policy: Policy) -> list[str]:
    parts = policy.parts
    if parts.tiers is not None:
        return [t.tier for t in parts.tiers]
    return list(parts.frequency)


def _finding_owners(policy: Policy) -> list[str]:
    parts = policy.parts
    owners = _action_ids(policy) + ["risk_tiers"]
    owners += [f"risk_tiers.{t}" for t in _tier_names(policy)]
    for checklist in parts.checklists.values():
        owners += [f"{checklist.id}.{item.id}" for item in checklist.items]
    return owners


def _checklist_items(policy: Policy, action_id: str) -> list[str]:
    parts = policy.parts
    if action_id == "frequency":
        lists = [f.checklist for f in parts.frequency.values()]
    else:
        lists = [n.checklist for n in parts.nodes if n.id == action_id]
        lists += [r.checklist for r in parts.rules if r.id == action_id]
    items: list[str] = []
    for checklist in lists:
        if checklist is not None:
            items += [i.id for i in checklist.items if i.id not in items]
    return items


# --------------------------------------------------------------------------------------
# Running one case
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """One difference between what a case expects and what the policy did.

    ``field`` is set for a difference in one attribute of an action (status,
    deadline...), with an optional ``note`` (e.g. which checklist items differ);
    ``why`` holds the policy's own reasons, to act on.
    """

    subject: str
    expected: str
    got: str
    field: str | None = None
    note: str | None = None
    why: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: passed, failed (with mismatches) or error."""

    case: Case
    status: Literal["passed", "failed", "error"]
    mismatches: tuple[Mismatch, ...] = ()
    explanation: Explanation | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def run_case(case: Case) -> CaseResult:
    """Evaluate one case with :meth:`Policy.explain` and compare it with its expectations."""
    try:
        explanation = case.policy.explain(dict(case.snapshot), as_of=case.as_of)
    except PolicyError as exc:
        return CaseResult(case, "error", error=str(exc))
    mismatches = tuple(compare(case.expect, explanation))
    return CaseResult(case, "failed" if mismatches else "passed", mismatches, explanation)


def compare(expect: Expectation, explanation: Explanation) -> Iterator[Mismatch]:
    """Every difference between ``expect`` and what the explanation's decision holds."""
    decision = explanation.decision
    if expect.tier is not None and decision.tier != expect.tier:
        matched = next((e for e in explanation.elements
                        if e.kind == "risk_tier" and e.outcome == "matched"), None)
        yield Mismatch("tier", expect.tier, decision.tier or "(none)",
                       why=() if matched is None else (_why_element(matched),))
    listed = {a.id for a in expect.actions}
    for wanted in expect.actions:
        got = decision.action(wanted.id)
        if got is None:
            element = _element_for(explanation, wanted.id)
            title = element.title if element is not None else wanted.id
            yield Mismatch(_subject(wanted.id, title),
                           f"required ({wanted.status})" if wanted.status else "required",
                           "not required",
                           why=() if element is None else (_why_element(element),))
            continue
        yield from _compare_action(wanted, got)
    for name in expect.absent:
        got = decision.action(name)
        if got is not None:
            yield Mismatch(_subject(got.id, got.title), "absent", _present(got),
                           why=got.reasons)
    if expect.only:
        for got in decision.actions:
            if got.id not in listed:
                yield Mismatch(_subject(got.id, got.title),
                               "absent (only: true lists every action)", _present(got),
                               why=got.reasons)
    yield from _compare_findings(expect, decision)


def _compare_action(wanted: ActionExpectation, got: Action) -> Iterator[Mismatch]:
    subject = _subject(got.id, got.title)
    found: list[Mismatch] = []
    pairs: list[tuple[str, Any, Any]] = [
        ("status", wanted.status, got.status),
        ("due_date", wanted.due_date, got.due_date),
        ("deadline", wanted.deadline, got.deadline),
        ("channel", wanted.channel, got.channel),
        ("severity", wanted.severity, got.severity),
        ("kind", wanted.kind, got.kind),
    ]
    for name, expected, actual in pairs:
        if expected is not None and expected != actual:
            found.append(Mismatch(subject, _show(expected), _show(actual), field=name))
    if wanted.checklist is not None:
        have = [entry.id for entry in got.checklist]
        if set(wanted.checklist) != set(have):
            missing = [i for i in wanted.checklist if i not in have]
            extra = [i for i in have if i not in wanted.checklist]
            notes = []
            if missing:
                notes.append("missing: " + ", ".join(missing))
            if extra:
                notes.append("not expected: " + ", ".join(extra))
            found.append(Mismatch(subject, _show(wanted.checklist), _show(have),
                                  field="checklist", note="; ".join(notes)))
    for mismatch in found:
        yield Mismatch(mismatch.subject, mismatch.expected, mismatch.got, mismatch.field,
                       mismatch.note, got.reasons)


def _compare_findings(expect: Expectation, decision: Decision) -> Iterator[Mismatch]:
    used: set[int] = set()
    for wanted in expect.findings:
        match = next((n for n, f in enumerate(decision.findings)
                      if f.rule == wanted.rule and n not in used
                      and (wanted.kind is None or f.kind == wanted.kind)
                      and (wanted.fields is None or set(f.fields) == set(wanted.fields))), None)
        label = wanted.rule + (f" ({wanted.kind})" if wanted.kind else "")
        if match is not None:
            used.add(match)
            continue
        same_rule = [f for f in decision.findings if f.rule == wanted.rule]
        used.update(n for n, f in enumerate(decision.findings) if f.rule == wanted.rule)
        expected = "reported" + (f" (missing {', '.join(wanted.fields)})"
                                 if wanted.fields is not None else "")
        got = ("; ".join(f"{f.kind} (missing {', '.join(f.fields) or '-'})" for f in same_rule)
               if same_rule else "not reported")
        yield Mismatch(f"finding {label}", expected, got,
                       why=tuple(f.message for f in same_rule))
    if expect.only:
        for number, finding in enumerate(decision.findings):
            if number not in used:
                yield Mismatch(f"finding {finding.rule} ({finding.kind})",
                               "absent (only: true lists every finding)", "reported",
                               why=(finding.message,))


def _element_for(explanation: Explanation, action_id: str) -> ExplainedElement | None:
    if action_id == "frequency":
        tier = explanation.decision.tier
        found = explanation.element("frequency", tier) if tier else None
        if found is None:
            return ExplainedElement(kind="frequency", id="frequency", title="定期回访",
                                    outcome="no_tier", summary="no risk tier, so no recurring"
                                                               " follow-up")
        return found
    return (explanation.element("timing_node", action_id)
            or explanation.element("rule", action_id))


def _why_element(element: ExplainedElement) -> str:
    text = element.summary
    condition = element.condition
    if condition is not None and condition.values:
        shown = ", ".join(f"{k} = {'(missing)' if v is None else v}"
                          for k, v in condition.values.items())
        text += f" [{shown}]"
    return text


def _subject(action_id: str, title: str) -> str:
    return f"action {action_id}" + (f" {title}" if title and title != action_id else "")


def _present(action: Action) -> str:
    return f"required ({action.status}, deadline {action.deadline.isoformat()})"


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


# --------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------

_Truth = Literal["true", "false", "unknown"]


@dataclass
class ConditionCoverage:
    """How often one ``when`` was seen true, false and unknown (number of cases)."""

    kind: str
    id: str
    text: str
    true: int = 0
    false: int = 0
    unknown: int = 0

    @property
    def both(self) -> bool:
        """Both outcomes seen: the condition was tested in both directions."""
        return self.true > 0 and self.false > 0


_CATEGORIES = (
    ("timing_nodes", "timing nodes", "acted"),
    ("rules", "rules", "fired"),
    ("tiers", "risk tiers", "matched"),
    ("frequency", "frequency", "acted"),
    ("checklist_items", "checklist items", "kept"),
)


@dataclass
class PolicyCoverage:
    """What the cases of one policy exercised, counted in cases.

    A timing node, rule or frequency entry counts when it produced an action; a
    tier when it matched; a checklist item when it was kept in an action. Every
    ``when`` counts its true, false and unknown results separately.
    """

    policy_id: str
    version: str
    source: str
    cases: int = 0
    timing_nodes: dict[str, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    tiers: dict[str, int] = field(default_factory=dict)
    frequency: dict[str, int] = field(default_factory=dict)
    checklist_items: dict[str, int] = field(default_factory=dict)
    conditions: dict[tuple[str, str], ConditionCoverage] = field(default_factory=dict)
    unused_checklists: tuple[str, ...] = ()

    @classmethod
    def for_policy(cls, policy: Policy) -> PolicyCoverage:
        parts = policy.parts
        used = {c.id for c in (*(n.checklist for n in parts.nodes),
                               *(r.checklist for r in parts.rules),
                               *(f.checklist for f in parts.frequency.values())) if c}
        coverage = cls(
            policy.id, policy.version, policy.source,
            timing_nodes=dict.fromkeys((n.id for n in parts.nodes), 0),
            rules=dict.fromkeys((r.id for r in parts.rules), 0),
            tiers=dict.fromkeys(_tier_names(policy), 0),
            frequency=dict.fromkeys(parts.frequency, 0),
            checklist_items=dict.fromkeys(
                (f"{c.id}.{i.id}" for c in parts.checklists.values() for i in c.items), 0),
            unused_checklists=tuple(c for c in parts.checklists if c not in used),
        )
        conditions: list[tuple[str, str, Any]] = [("timing_node", n.id, n.when)
                                                  for n in parts.nodes]
        conditions += [("risk_tier", t.tier, t.when) for t in parts.tiers or ()]
        conditions += [("rule", r.id, r.when) for r in parts.rules]
        conditions += [("checklist_item", f"{c.id}.{i.id}", i.when)
                       for c in parts.checklists.values() for i in c.items]
        for kind, ident, when in conditions:
            if when is not None:
                coverage.conditions[(kind, ident)] = ConditionCoverage(kind, ident, when.text)
        return coverage

    def add(self, explanation: Explanation) -> None:
        """Count what one case's evaluation did (each element once per case)."""
        self.cases += 1
        counters = {"timing_node": self.timing_nodes, "rule": self.rules,
                    "frequency": self.frequency}
        seen: set[tuple[str, str]] = set()
        truths: set[tuple[str, str, _Truth]] = set()
        for e in explanation.elements:
            if e.outcome == {"risk_tier": "matched", "checklist_item": "kept"}.get(
                    e.kind, "action" if e.kind in counters else None):
                seen.add((e.kind, e.id))
            if e.condition is not None and (e.kind, e.id) in self.conditions:
                truths.add((e.kind, e.id, e.condition.result))
        for kind, ident in seen:
            table = {**counters, "risk_tier": self.tiers,
                     "checklist_item": self.checklist_items}[kind]
            if ident in table:
                table[ident] += 1
        for kind, ident, truth in truths:
            entry = self.conditions[(kind, ident)]
            setattr(entry, truth, getattr(entry, truth) + 1)

    def category(self, name: str) -> dict[str, int]:
        table: dict[str, int] = getattr(self, name)
        return table

    def unexercised(self) -> dict[str, list[str]]:
        """Per category, the ids no case exercised."""
        return {name: [i for i, n in self.category(name).items() if not n]
                for name, _, _ in _CATEGORIES}

    def one_sided(self) -> list[ConditionCoverage]:
        """Conditions not yet seen both true and false."""
        return [c for c in self.conditions.values() if not c.both]

    def percentages(self) -> dict[str, float]:
        """Per category (and ``conditions``: seen both ways), the share exercised, in %."""
        shares = {}
        for name, _, _ in _CATEGORIES:
            table = self.category(name)
            shares[name] = _percent(sum(1 for n in table.values() if n), len(table))
        both = sum(1 for c in self.conditions.values() if c.both)
        shares["conditions"] = _percent(both, len(self.conditions))
        return shares

    def below(self, minimum: float) -> dict[str, float]:
        """The categories whose coverage is under ``minimum`` percent."""
        return {name: share for name, share in self.percentages().items() if share < minimum}

    @property
    def complete(self) -> bool:
        """Every node, rule, tier, frequency entry and item exercised, every `when` both ways."""
        return not any(self.unexercised().values()) and not self.one_sided()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: counts, the unexercised ids and each condition's outcomes."""
        data: dict[str, Any] = {"policy_id": self.policy_id, "version": self.version,
                                "source": self.source, "cases": self.cases}
        for name, _, _ in _CATEGORIES:
            table = self.category(name)
            data[name] = {"total": len(table), "exercised": sum(1 for n in table.values() if n),
                          "unexercised": [i for i, n in table.items() if not n]}
        data["conditions"] = [
            {"kind": c.kind, "id": c.id, "when": c.text, "true": c.true, "false": c.false,
             "unknown": c.unknown} for c in self.conditions.values()]
        return data


# --------------------------------------------------------------------------------------
# Running many cases, and the report
# --------------------------------------------------------------------------------------


@dataclass
class TestReport:
    """Every case's result, the load errors, and the coverage of every policy tested."""

    __test__ = False  # not a pytest test class

    results: list[CaseResult] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    coverage: list[PolicyCoverage] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    failed_files: list[str] = field(default_factory=list)
    name_contains: str | None = None

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 a case failed, 2 a case file or policy could not be loaded."""
        if self.errors or self.count("error") or not (self.results or self.failed_files):
            return EXIT_ERROR
        return EXIT_FAILED if self.count("failed") else EXIT_OK


def run_cases(paths: Iterable[str | os.PathLike[str]], *,
              name_contains: str | None = None) -> TestReport:
    """Load and run every case under ``paths``; never raises for a bad case file.

    ``name_contains`` keeps only cases whose name contains that text. Files that
    cannot be loaded are reported in ``errors``; the others still run.
    """
    report = TestReport(name_contains=name_contains)
    cache: dict[str, Policy] = {}
    coverage: dict[str, PolicyCoverage] = {}
    for path in _case_files(paths, report.errors):
        report.files.append(path)
        try:
            loaded = load_case_file(path, cache)
        except PolicyLoadError as exc:
            report.errors.extend(exc.issues)
            report.failed_files.append(path)
            continue
        report.warnings.extend(loaded.warnings)
        for case in loaded.cases:
            if name_contains is not None and name_contains not in case.name:
                continue
            result = run_case(case)
            report.results.append(result)
            key = os.path.realpath(case.policy.source)
            if key not in coverage:
                coverage[key] = PolicyCoverage.for_policy(case.policy)
            if result.explanation is not None:
                coverage[key].add(result.explanation)
    report.coverage = list(coverage.values())
    return report


def format_result(result: CaseResult, *, explain: bool = False) -> str:
    """A failed case as a plain-language diff: expected vs got, then why."""
    case = result.case
    label = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}[result.status]
    lines = [f"{label} {case.location.file}:{case.location.line} {case.name}"
             f"  (as_of {case.as_of.isoformat()})"]
    if result.error is not None:
        lines.append(f"  error: {result.error}")
    lines.extend(_render_mismatches(result.mismatches))
    if result.status == "failed":
        lines.append(f"  to see why: followup-policy test {case.file} -k \"{case.name}\""
                     " --explain")
    if explain and result.explanation is not None:
        lines.append("")
        lines.extend("    " + line if line else "" for line in
                     result.explanation.to_text().splitlines())
    return "\n".join(lines) + "\n"


def _render_mismatches(mismatches: Sequence[Mismatch]) -> list[str]:
    lines: list[str] = []
    index = 0
    while index < len(mismatches):
        first = mismatches[index]
        if first.field is None:
            lines.append(f"  {first.subject}: expected {first.expected}, got {first.got}")
            lines.extend(_why_lines(first.why))
            index += 1
            continue
        block = [first]
        index += 1
        while (index < len(mismatches) and mismatches[index].subject == first.subject
               and mismatches[index].field is not None):
            block.append(mismatches[index])
            index += 1
        lines.append(f"  {first.subject}:")
        name_w = max(len(m.field or "") for m in block)
        exp_w = max(_width(m.expected) for m in block)
        for m in block:
            pad = " " * (exp_w - _width(m.expected))
            lines.append(f"    {(m.field or '').ljust(name_w)}  expected {m.expected}{pad}"
                         f"  got {m.got}")
            if m.note:
                lines.append(f"    {' ' * name_w}  {m.note}")
        lines.extend(_why_lines(first.why))
    return lines


def _why_lines(why: Sequence[str]) -> list[str]:
    return [f"    {'why:' if number == 0 else '    '} {reason}"
            for number, reason in enumerate(why)]


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if ord(c) >= 0x1100 and not 0xD800 <= ord(c) <= 0xDFFF else 1 for c in text)


def format_coverage(coverage: PolicyCoverage) -> str:
    """A readable coverage summary: percentages, then what no case exercised."""
    lines = [f"Coverage of {coverage.policy_id} {coverage.version} ({coverage.source}),"
             f" {coverage.cases} case(s):"]
    for name, label, verb in _CATEGORIES:
        table = coverage.category(name)
        done = sum(1 for n in table.values() if n)
        lines.append(f"  {label:<17}{_ratio(done, len(table))}  {verb} at least once")
    total = len(coverage.conditions)
    both = sum(1 for c in coverage.conditions.values() if c.both)
    lines.append(f"  {'conditions':<17}{_ratio(both, total)}  `when` seen both true and false")
    missing = coverage.unexercised()
    if any(missing.values()):
        lines.append("  Not exercised by any case:")
        for name, label, verb in _CATEGORIES:
            if missing[name]:
                lines.append(f"    {label} (never {verb}): {', '.join(missing[name])}")
    if coverage.unused_checklists:
        lines.append("  Checklists that no node, rule or frequency entry uses: "
                     + ", ".join(coverage.unused_checklists))
    one_sided = coverage.one_sided()
    if one_sided:
        lines.append("  Conditions not yet seen both true and false:")
        for c in one_sided:
            seen = "never evaluated" if not (c.true or c.false or c.unknown) else (
                f"only true ({c.true} case(s))" if c.true
                else f"only false ({c.false} case(s))" if c.false else "only unknown")
            lines.append(f"    {c.kind} {c.id}: {seen}; when {c.text}")
    unknown = [c for c in coverage.conditions.values() if c.unknown]
    if unknown:
        lines.append("  Conditions seen unknown (data missing): "
                     + ", ".join(f"{c.kind} {c.id} ({c.unknown} case(s))" for c in unknown))
    if coverage.complete:
        lines.append("  everything exercised.")
    return "\n".join(lines) + "\n"


def _percent(done: int, total: int) -> float:
    return 100.0 if total == 0 else done * 100 / total


def _ratio(done: int, total: int) -> str:
    percent = 100 if total == 0 else done * 100 // total
    return f"{done:>3}/{total:<3} {percent:>3}%"


def format_report(report: TestReport, *, explain: bool = False) -> str:
    """Failures in full, one line per file otherwise, coverage, then totals."""
    out: list[str] = []
    by_file: dict[str, list[CaseResult]] = {}
    for result in report.results:
        by_file.setdefault(result.case.file, []).append(result)
    for file, results in by_file.items():
        passed = sum(1 for r in results if r.passed)
        out.append(f"{file}: {passed}/{len(results)} passed\n")
    for result in report.results:
        if not result.passed:
            out.append("\n" + format_result(result, explain=explain))
    for issue in report.warnings:
        out.append(f"warning: {issue}\n")
    for coverage in report.coverage:
        out.append("\n" + format_coverage(coverage))
        if report.name_contains is not None:
            out.append(f"  (only the cases whose name contains '{report.name_contains}' ran;"
                       " run them all for the full coverage)\n")
    counts = [f"{report.count('passed')} passed", f"{report.count('failed')} failed"]
    if report.count("error"):
        counts.append(f"{report.count('error')} error(s)")
    if report.failed_files:
        counts.append(f"{len(report.failed_files)} case file(s) could not be loaded"
                      " (see the file:line:col messages)")
    files = len(report.files)
    out.append(f"\n{', '.join(counts)} in {files} file{'s' if files != 1 else ''}\n")
    return "".join(out)


def write_junit(report: TestReport, path: str | os.PathLike[str]) -> None:
    """JUnit XML for CI: a testsuite per case file, a testcase per case."""
    root = ET.Element("testsuites", name="followup-policy test",
                      tests=str(len(report.results) + len(report.failed_files)),
                      failures=str(report.count("failed")),
                      errors=str(report.count("error") + len(report.failed_files)))
    suites: dict[str, ET.Element] = {}

    def suite(file: str) -> ET.Element:
        if file not in suites:
            suites[file] = ET.SubElement(root, "testsuite", name=file, tests="0",
                                         failures="0", errors="0")
        return suites[file]

    def bump(element: ET.Element, key: str) -> None:
        element.set(key, str(int(element.get(key, "0")) + 1))

    for file in report.failed_files:
        element = suite(file)
        bump(element, "tests")
        bump(element, "errors")
        case = ET.SubElement(element, "testcase", name="(load case file)", classname=file,
                             file=file)
        problems = [str(i) for i in report.errors if i.file == file] or [
            str(i) for i in report.errors]
        error = ET.SubElement(case, "error", message="the case file could not be loaded")
        error.text = "\n".join(problems)
    for result in report.results:
        element = suite(result.case.file)
        bump(element, "tests")
        case = ET.SubElement(element, "testcase", name=result.case.name,
                             classname=result.case.policy.id, file=result.case.file,
                             line=str(result.case.location.line))
        if result.status == "failed":
            bump(element, "failures")
            text = format_result(result)
            failure = ET.SubElement(case, "failure", message=text.splitlines()[1].strip()
                                    if len(text.splitlines()) > 1 else "failed")
            failure.text = text
        elif result.status == "error":
            bump(element, "errors")
            ET.SubElement(case, "error", message=result.error or "error").text = result.error
    for coverage in report.coverage:
        element = suite(f"coverage {coverage.policy_id} ({coverage.source})")
        props = ET.SubElement(element, "properties")
        for name, _, _ in _CATEGORIES:
            table = coverage.category(name)
            ET.SubElement(props, "property", name=f"coverage.{name}",
                          value=f"{sum(1 for n in table.values() if n)}/{len(table)}")
        out = ET.SubElement(element, "system-out")
        out.text = format_coverage(coverage)
    ET.indent(root)
    with atomic_bytes(path) as handle:
        ET.ElementTree(root).write(handle, encoding="utf-8", xml_declaration=True)


def run_test_command(paths: Sequence[str], junit: str | None, stdout: IO[str],
                     stderr: IO[str], *, name_contains: str | None = None,
                     explain: bool = False, min_coverage: float | None = None,
                     lang: Lang = "en") -> int:
    """``followup-policy test PATH... [--junit FILE] [-k TEXT] [--explain] [--min-coverage N]``.

    Prints the report to ``stdout`` and load errors (``file:line:col: message``) to
    ``stderr``, in ``lang``. Returns 0 if every case passed, 1 if any failed or a
    policy's coverage is under ``min_coverage`` percent in any category, 2 if a case
    file or a policy could not be loaded.
    """
    report = run_cases(paths, name_contains=name_contains)
    for issue in report.errors:
        stderr.write(f"{render_issue(issue, lang)}\n")
    if not report.results and not report.errors:
        stderr.write(translate("followup-policy: no test cases"
                               + (f" named like '{name_contains}'" if name_contains else ""),
                               lang) + "\n")
    stdout.write(translate_lines(format_report(report, explain=explain), lang,
                                 translate_report_line))
    code = report.exit_code
    if min_coverage is not None:
        for coverage in report.coverage:
            short = coverage.below(min_coverage)
            if short:
                shown = ", ".join(f"{name} {share:.0f}%" for name, share in short.items())
                stdout.write(translate(f"coverage of {coverage.policy_id} is below "
                                       f"{min_coverage:g}%: {shown}", lang) + "\n")
                code = max(code, EXIT_FAILED)
    if junit is not None:
        try:
            write_junit(report, junit)
        except OSError as exc:
            stderr.write(f"followup-policy: cannot write {junit}: {exc.strerror or exc}\n")
            return EXIT_ERROR
    return code

