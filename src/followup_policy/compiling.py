"""From a located YAML tree to a compiled :class:`Policy`, or every problem at once.

Stages: shape (each section item validated by its pydantic model on its own, so
one bad item does not hide the others) -> references (checklists, anchors,
tiers, ids) -> conditions (parse, type-check, compile) -> compiled parts.
:func:`iter_problems` yields every located problem; :func:`compile_policy`
raises :class:`PolicyLoadError` with all of them, or returns the policy.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .completion import (
    BUILTIN_CHANNEL_COVERS,
    BUILTIN_OUTCOMES,
    accepted_channels,
    channel_completes,
    outcome_table,
)
from .decisions import ChecklistEntry
from .errors import ConditionError, Issue, Location, PolicyLoadError, did_you_mean
from .expressions import (
    BOOL,
    DATE,
    DECIMAL,
    INT,
    STRING,
    Condition,
    Environment,
    ValueType,
    compile_condition,
)
from .loading import YMap, YNode, YScalar, YSeq, location_of, node_at, to_plain
from .policy import (
    CompiledChannel,
    CompiledChecklist,
    CompiledCompletion,
    CompiledEscalation,
    CompiledFrequency,
    CompiledItem,
    CompiledNode,
    CompiledOutcome,
    CompiledRule,
    CompiledTier,
    Parameters,
    Policy,
    PolicyParts,
)
from .schema import (
    ChannelSpec,
    Checklist,
    Escalation,
    FieldSpec,
    FrequencyEntry,
    OutcomeSpec,
    Parameter,
    PolicyDocument,
    PolicyHeader,
    RiskTier,
    Rule,
    TimingNode,
)
from .snapshots import BUILTIN_KEYS, SnapshotReader

__all__ = ["compile_policy", "iter_problems", "policy_digest"]

Path = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

_MAP_SECTIONS: dict[str, type[BaseModel]] = {
    "channels": ChannelSpec,
    "outcomes": OutcomeSpec,
    "fields": FieldSpec,
    "parameters": Parameter,
    "checklists": Checklist,
    "frequency": FrequencyEntry,
}
_LIST_SECTIONS: dict[str, type[BaseModel]] = {
    "timing_nodes": TimingNode,
    "risk_tiers": RiskTier,
    "rules": Rule,
}
SECTIONS = ("format", "policy", *_MAP_SECTIONS, *_LIST_SECTIONS)
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = frozenset({"and", "or", "not", "in", "true", "false", "null", "params",
                       "tier", "as_of", "loan_id", "follow_ups"})
_FIELD_TYPES: dict[str, ValueType] = {
    "int": INT, "decimal": DECIMAL, "string": STRING, "bool": BOOL, "date": DATE,
}
_BUILTIN_DATES = ("disbursement_date",)


@dataclass
class _Shape:
    """The items that passed shape validation, each with its path in the YAML."""

    header: PolicyHeader | None = None
    channels: dict[str, ChannelSpec] = field(default_factory=dict)
    outcomes: dict[str, OutcomeSpec] = field(default_factory=dict)
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    parameters: dict[str, Parameter] = field(default_factory=dict)
    checklists: dict[str, Checklist] = field(default_factory=dict)
    frequency: dict[str, FrequencyEntry] = field(default_factory=dict)
    timing_nodes: list[tuple[Path, TimingNode]] = field(default_factory=list)
    risk_tiers: list[tuple[Path, RiskTier]] | None = None
    rules: list[tuple[Path, Rule]] = field(default_factory=list)

    def document(self) -> PolicyDocument:
        assert self.header is not None
        return PolicyDocument.model_construct(
            format=1,
            policy=self.header,
            channels=self.channels,
            outcomes=self.outcomes,
            fields=self.fields,
            parameters=self.parameters,
            checklists=self.checklists,
            timing_nodes=[item for _, item in self.timing_nodes],
            risk_tiers=None if self.risk_tiers is None else [t for _, t in self.risk_tiers],
            frequency=self.frequency,
            rules=[item for _, item in self.rules],
        )


def iter_problems(root: YNode) -> Iterator[Issue]:
    """Every located problem of a policy tree; empty if it compiles."""
    compiler = _Compiler(root)
    compiler.run()
    yield from compiler.issues


def compile_policy(root: YNode, source: str) -> Policy:
    """Compile a located policy tree; raise :class:`PolicyLoadError` listing every issue."""
    compiler = _Compiler(root)
    policy = compiler.run(source)
    if compiler.issues or policy is None:
        raise PolicyLoadError(compiler.issues or [_issue_at(root.location, "policy is empty")])
    return policy


def policy_digest(document: PolicyDocument) -> str:
    """SHA-256 of the canonical JSON of a policy: independent of file layout and order."""
    data = document.model_dump(mode="json", by_alias=True)
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _issue_at(location: Location, message: str, suggestion: str | None = None,
              related: Location | None = None) -> Issue:
    return Issue(location.file, location.line, location.column, message, suggestion, related)


def _compiled_or_error(text: str, env: Environment) -> Condition | ConditionError:
    try:
        return compile_condition(text, env)
    except ConditionError as exc:
        return exc


class _Compiler:
    """Collects issues while it checks and compiles one policy tree."""

    def __init__(self, root: YNode) -> None:
        self.root = root
        self.issues: list[Issue] = []
        # A condition written verbatim more than once (policies repeat many) is compiled
        # once per environment. The cache lives and dies with this one load; the entry
        # keeps its environment alive so the id in the key stays unique.
        self._conditions: dict[tuple[str, int],
                               tuple[Environment, Condition | ConditionError]] = {}

    # -- helpers -----------------------------------------------------------------------

    def report(self, path: Path, message: str, *, key: bool = False,
               suggestion: str | None = None) -> None:
        self.issues.append(_issue_at(location_of(self.root, path, key=key), message, suggestion))

    def validate(self, model: type[M], path: Path) -> M | None:
        node = node_at(self.root, path)
        data = to_plain(node) if node is not None else None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            self._report_validation(model, path, node, exc)
            return None

    def _report_validation(self, model: type[BaseModel], path: Path, node: YNode | None,
                           exc: ValidationError) -> None:
        seen: set[Path] = set()
        for error in exc.errors():
            loc = _yaml_loc(model, node, tuple(error["loc"]))
            kind = error["type"]
            if kind == "missing":  # point at the mapping that lacks the key
                self.report(path + loc[:-1], f"missing required key '{loc[-1]}'")
                continue
            target = path + loc
            if target in seen:
                continue  # a union reports once per member; one message is enough
            seen.add(target)
            message, suggestion, on_key = _describe(model, loc, error)
            self.report(target, message, key=on_key, suggestion=suggestion)

    def condition(self, text: str | None, path: Path, env: Environment) -> Condition | None:
        if text is None:
            return None
        key = (text, id(env))
        cached = self._conditions.get(key)
        if cached is None:
            cached = self._conditions[key] = (env, _compiled_or_error(text, env))
        result = cached[1]
        if isinstance(result, Condition):
            return result
        node = node_at(self.root, path)  # each copy of a bad condition is reported where it is
        location = (node.position_of(result.offset) if isinstance(node, YScalar)
                    else location_of(self.root, path))
        self.issues.append(_issue_at(location, f"in condition: {result.message}",
                                     result.suggestion))
        return None

    # -- stages --------------------------------------------------------------------------

    def run(self, source: str = "") -> Policy | None:
        shape = self.shape()
        if shape is None:
            return None
        return self.compile(shape, source)  # even without a valid header: report the rest

    def shape(self) -> _Shape | None:
        root = self.root
        if not isinstance(root, YMap):
            self.issues.append(_issue_at(
                root.location, "a policy file must be a mapping starting with a `policy:` section"))
            return None
        shape = _Shape()
        for key in root.entries:
            if key not in SECTIONS:
                self.report((key,), f"unknown section '{key}'", key=True,
                            suggestion=did_you_mean(key, SECTIONS))
        if "format" in root.entries:
            fmt = root.entries["format"].node
            if not (isinstance(fmt, YScalar) and fmt.value == 1):
                self.report(("format",), "only format 1 exists; write `format: 1` or leave it out")
        if "policy" not in root.entries:
            self.issues.append(_issue_at(root.location, "missing the `policy:` header section"))
        else:
            shape.header = self.validate(PolicyHeader, ("policy",))
        for section, model in _MAP_SECTIONS.items():
            for name, item in self._map_items(section, model):
                getattr(shape, section)[name] = item
        for section, model in _LIST_SECTIONS.items():
            items = self._list_items(section, model)
            if section == "risk_tiers":
                if section in root.entries:
                    shape.risk_tiers = items  # type: ignore[assignment]
            else:
                setattr(shape, section, items)
        return shape

    def _map_items(self, section: str, model: type[M]) -> Iterator[tuple[str, M]]:
        node = node_at(self.root, (section,))
        if node is None or (isinstance(node, YScalar) and node.value is None):
            return
        if not isinstance(node, YMap):
            self.report((section,), f"'{section}' must be a mapping of names to entries")
            return
        for name in node.entries:
            item = self.validate(model, (section, name))
            if item is not None:
                yield name, item

    def _list_items(self, section: str, model: type[M]) -> list[tuple[Path, M]]:
        node = node_at(self.root, (section,))
        if node is None or (isinstance(node, YScalar) and node.value is None):
            return []
        if not isinstance(node, YSeq):
            self.report((section,), f"'{section}' must be a list of entries (each '- ...')")
            return []
        items: list[tuple[Path, M]] = []
        for index in range(len(node.items)):
            item = self.validate(model, (section, index))
            if item is not None:
                items.append(((section, index), item))
        return items

    def compile(self, shape: _Shape, source: str) -> Policy | None:
        self.check_fields(shape)
        parameters = self.compile_parameters(shape)
        tier_names, tier_type, tier_field = self.check_tiers(shape)
        base_fields: dict[str, ValueType] = {
            "as_of": DATE, "disbursement_date": DATE, "loan_id": STRING,
        }
        for name, spec in shape.fields.items():
            base_fields[name] = (ValueType.enum(tuple(spec.values or ()))
                                 if spec.type == "enum" else _FIELD_TYPES[spec.type])
        tier_env = Environment(fields=dict(base_fields), params=parameters)
        env = Environment(fields={**base_fields, "tier": tier_type}, params=parameters)
        checklists = self.compile_checklists(shape, env)
        channels, outcomes = self.compile_channels(shape), self.compile_outcomes(shape)
        done = _Completing(channels, frozenset(o for o, c in outcomes.items() if c.completes))
        nodes = self.compile_nodes(shape, env, checklists, done)
        tiers = self.compile_tiers(shape, tier_env)
        frequency = self.compile_frequency(shape, checklists, tier_names, done)
        rules = self.compile_rules(shape, env, checklists, done)
        self.check_unique_action_ids(shape)
        if self.issues or shape.header is None:
            return None
        document = shape.document()
        parts = PolicyParts(
            nodes=nodes, tiers=tiers, tier_field=tier_field, frequency=frequency, rules=rules,
            checklists=checklists, channels=channels, outcomes=outcomes,
            completing_outcomes=done.outcomes,
            failed_outcomes=frozenset(o for o, c in outcomes.items() if not c.completes))
        reader = SnapshotReader.for_fields(shape.fields)
        return Policy(document, parts, parameters, reader, policy_digest(document), source,
                      self.root)

    def check_fields(self, shape: _Shape) -> None:
        for name, spec in shape.fields.items():
            path: Path = ("fields", name)
            if name in _BUILTIN_DATES:
                if spec.type != "date":
                    self.report(path, f"'{name}' is built in and is a date", key=True)
                continue
            if not _NAME_RE.match(name) or name in _RESERVED or name in BUILTIN_KEYS:
                self.report(path, f"'{name}' cannot be a field name: use letters, digits and '_',"
                            " not starting with a digit, and not a reserved word", key=True)
            if (spec.min is not None or spec.max is not None) and spec.type not in ("int",
                                                                                  "decimal"):
                self.report(path, f"min/max only apply to int and decimal fields;"
                            f" '{name}' is {spec.type}")
            if spec.default is not None:
                try:
                    SnapshotReader.for_fields({name: spec})
                except ValueError as exc:
                    self.report(path + ("default",), str(exc))

    def compile_parameters(self, shape: _Shape) -> Parameters:
        tables: dict[str, tuple[tuple[date, Any], ...]] = {}
        types: dict[str, ValueType] = {}
        for name, param in shape.parameters.items():
            path: Path = ("parameters", name)
            if not _NAME_RE.match(name):
                self.report(path, f"'{name}' cannot be a parameter name: use letters, digits"
                            " and '_', not starting with a digit", key=True)
            rows = ((date.min, param.value),) if param.values is None else tuple(
                (entry.from_, entry.value) for entry in param.values)
            kinds = {_scalar_type(value) for _, value in rows}
            if kinds == {INT, DECIMAL}:
                kinds = {DECIMAL}
            if len(kinds) != 1:
                self.report(path, f"parameter '{name}' mixes value types"
                            f" ({', '.join(sorted(str(k) for k in kinds))})")
                continue
            kind = kinds.pop()
            self.check_parameter_bounds(name, path, param, kind, rows)
            tables[name], types[name] = rows, kind
        return Parameters(tables, types)

    def check_parameter_bounds(self, name: str, path: Path, param: Parameter, kind: ValueType,
                               rows: Sequence[tuple[date, Any]]) -> None:
        if param.min is None and param.max is None:
            return
        if kind not in (INT, DECIMAL):
            self.report(path, f"min/max only apply to numeric parameters; '{name}' is {kind}")
            return
        for _, value in rows:
            if (param.min is not None and value < param.min) or (
                    param.max is not None and value > param.max):
                self.report(path, f"parameter '{name}' value {value} is outside its own"
                            f" min/max ({param.min}..{param.max})")

    def check_tiers(self, shape: _Shape) -> tuple[tuple[str, ...], ValueType, str | None]:
        """Tier names, the type of the `tier` built-in, and the snapshot tier field if any."""
        if shape.risk_tiers is not None:
            names: list[str] = []
            default_seen: Path | None = None
            for path, tier in shape.risk_tiers:
                if tier.tier in names:
                    self.report(path + ("tier",), f"tier '{tier.tier}' is listed twice")
                names.append(tier.tier)
                if default_seen is not None:
                    self.report(path, f"tier '{tier.tier}' can never match: the default tier"
                                " (the one without `when`) must come last")
                if tier.when is None:
                    default_seen = path
            return tuple(names), ValueType.enum(tuple(names)), None
        spec = shape.fields.get("risk_tier")
        if spec is not None and spec.type == "enum":
            return tuple(spec.values or ()), ValueType.enum(tuple(spec.values or ())), "risk_tier"
        if shape.frequency:
            self.report(("frequency",), "frequency by tier needs tiers: add a `risk_tiers`"
                        " section or declare an enum field `risk_tier`", key=True)
        return (), STRING, None

    def compile_checklists(self, shape: _Shape, env: Environment
                           ) -> dict[str, CompiledChecklist]:
        compiled = {}
        for name, checklist in shape.checklists.items():
            items: list[CompiledItem] = []
            seen: set[str] = set()
            for index, item in enumerate(checklist.items):
                path: Path = ("checklists", name, "items", index)
                if item.id in seen:
                    self.report(path + ("id",), f"checklist item '{item.id}' is listed twice"
                                f" in '{name}'")
                seen.add(item.id)
                when = self.condition(item.when, path + ("when",), env)
                entry = ChecklistEntry(item.id, item.text)
                items.append(CompiledItem(item.id, item.text, when, entry))
            static = None if any(i.when is not None for i in items) else tuple(
                i.entry for i in items)
            compiled[name] = CompiledChecklist(name, checklist.title, tuple(items), static)
        return compiled

    def checklist_ref(self, name: str | None, path: Path,
                      checklists: Mapping[str, CompiledChecklist]) -> CompiledChecklist | None:
        if name is None:
            return None
        found = checklists.get(name)
        if found is None:
            self.report(path, f"unknown checklist '{name}'",
                        suggestion=did_you_mean(name, checklists))
        return found

    def anchor_ref(self, anchor: str, path: Path, shape: _Shape) -> None:
        dates = [n for n, spec in shape.fields.items() if spec.type == "date"]
        if anchor in _BUILTIN_DATES:
            return
        if anchor not in dates:
            known = [*_BUILTIN_DATES, *dates]
            what = "not a date field" if anchor in shape.fields else "unknown"
            self.report(path, f"anchor '{anchor}' is {what}; anchors must be date fields"
                        f" ({', '.join(known)})", suggestion=did_you_mean(anchor, known))

    def compile_channels(self, shape: _Shape) -> dict[str, CompiledChannel]:
        """Built-in and declared channels, each with the channels it completes."""
        known = [*BUILTIN_CHANNEL_COVERS, *(n for n in shape.channels
                                             if n not in BUILTIN_CHANNEL_COVERS)]
        for name, spec in shape.channels.items():
            for index, covered in enumerate(spec.covers):
                if covered not in known:
                    self.report(("channels", name, "covers", index),
                                f"channel '{name}' covers unknown channel '{covered}'",
                                suggestion=did_you_mean(covered, known))
        completes = channel_completes({n: spec.covers for n, spec in shape.channels.items()})
        compiled = {}
        for name in known:
            declared = shape.channels.get(name)
            title = declared.title if declared is not None and declared.title else name
            compiled[name] = CompiledChannel(name, title, completes[name])
        return compiled

    def compile_outcomes(self, shape: _Shape) -> dict[str, CompiledOutcome]:
        """Built-in and declared outcomes; a built-in one keeps its meaning."""
        for name, spec in shape.outcomes.items():
            builtin = BUILTIN_OUTCOMES.get(name)
            if builtin is not None and spec.completes != builtin:
                self.report(("outcomes", name, "completes"),
                            f"'{name}' is a built-in {'completing' if builtin else 'failed'}"
                            f" outcome; a policy may not change whether it completes (declare"
                            " an outcome of its own instead)")
        table = outcome_table({n: spec.completes for n, spec in shape.outcomes.items()})
        titles = {n: spec.title for n, spec in shape.outcomes.items() if spec.title}
        return {name: CompiledOutcome(name, titles.get(name, name), completes)
                for name, completes in table.items()}

    def channel_ref(self, name: str | None, path: Path, done: _Completing) -> None:
        if name is not None and name not in done.channels:
            self.report(path, f"unknown channel '{name}'; use a built-in channel or declare it"
                        " under `channels`", suggestion=did_you_mean(name, done.channels))

    def completion(self, owner: str, path: Path, channel: str | None,
                   completes_with: Sequence[str] | None, escalate_after: int | None,
                   escalation: Escalation | None, done: _Completing,
                   checklists: Mapping[str, CompiledChecklist]) -> CompiledCompletion:
        """Check the channel keys of one action and compile what completes it."""
        self.channel_ref(channel, path + ("channel",), done)
        for index, name in enumerate(completes_with or ()):
            self.channel_ref(name, path + ("completes_with", index), done)
        if completes_with and channel is None:
            self.report(path + ("completes_with",), "`completes_with` widens the action's"
                        " `channel`, but there is none (an action without a channel accepts"
                        " any channel already)")
        compiled_escalation = None
        if (escalate_after is None) != (escalation is None):
            missing = "escalation" if escalation is None else "escalate_after"
            self.report(path, f"'{owner}': `escalate_after` and `escalation` go together;"
                        f" add `{missing}`")
        elif escalation is not None:
            where = path + ("escalation",)
            checklist = self.checklist_ref(escalation.checklist, where + ("checklist",),
                                           checklists)
            compiled_escalation = CompiledEscalation(
                id=f"{owner}.escalation", kind=escalation.kind, title=escalation.title,
                channel=escalation.channel, after=escalation.after, window=escalation.window,
                severity=escalation.severity, checklist=checklist,
                completion=self.completion(f"{owner}.escalation", where, escalation.channel,
                                           escalation.completes_with, None, None, done,
                                           checklists))
        completes = {n: c.completes for n, c in done.channels.items()}
        return CompiledCompletion(
            channels=accepted_channels(channel, completes_with, completes),
            outcomes=done.outcomes, escalate_after=escalate_after,
            escalation=compiled_escalation)

    def compile_nodes(self, shape: _Shape, env: Environment,
                      checklists: Mapping[str, CompiledChecklist], done: _Completing
                      ) -> tuple[CompiledNode, ...]:
        nodes = []
        for path, node in shape.timing_nodes:
            self.anchor_ref(node.anchor, path + ("anchor",), shape)
            checklist = self.checklist_ref(node.checklist, path + ("checklist",), checklists)
            when = self.condition(node.when, path + ("when",), env)
            completion = self.completion(node.id, path, node.channel, node.completes_with,
                                         node.escalate_after, node.escalation, done, checklists)
            nodes.append(CompiledNode(
                id=node.id, title=node.title, kind=node.kind, after=node.after,
                anchor=node.anchor, window=node.window, lead=node.lead, when=when,
                channel=node.channel, severity=node.severity, checklist=checklist,
                completion=completion))
        return tuple(nodes)

    def compile_tiers(self, shape: _Shape, env: Environment) -> tuple[CompiledTier, ...] | None:
        if shape.risk_tiers is None:
            return None
        return tuple(CompiledTier(tier.tier, self.condition(tier.when, path + ("when",), env),
                                  tier.when_unknown)
                     for path, tier in shape.risk_tiers)

    def compile_frequency(self, shape: _Shape, checklists: Mapping[str, CompiledChecklist],
                          tier_names: Sequence[str], done: _Completing
                          ) -> dict[str, CompiledFrequency]:
        compiled = {}
        for tier, entry in shape.frequency.items():
            path: Path = ("frequency", tier)
            if tier_names and tier not in tier_names:
                self.report(path, f"'{tier}' is not a risk tier ({', '.join(tier_names)})",
                            key=True, suggestion=did_you_mean(tier, tier_names))
            checklist = self.checklist_ref(entry.checklist, path + ("checklist",), checklists)
            completion = self.completion("frequency", path, entry.channel,
                                         entry.completes_with, entry.escalate_after,
                                         entry.escalation, done, checklists)
            compiled[tier] = CompiledFrequency(
                tier=tier, title=entry.title or f"定期回访（{tier}）", every=entry.every,
                window=entry.window, lead=entry.lead, channel=entry.channel,
                severity=entry.severity, checklist=checklist, completion=completion)
        if shape.frequency:
            where: Path = ("risk_tiers",) if shape.risk_tiers is not None else ("fields",
                                                                                  "risk_tier")
            for tier in tier_names:
                if tier not in shape.frequency:
                    self.report(("frequency",), f"tier '{tier}' has no frequency entry; every"
                                f" tier that can occur needs one (tiers from {where[-1]})",
                                key=True)
        return compiled

    def compile_rules(self, shape: _Shape, env: Environment,
                      checklists: Mapping[str, CompiledChecklist], done: _Completing
                      ) -> tuple[CompiledRule, ...]:
        rules = []
        for path, rule in shape.rules:
            action = rule.action
            if action.anchor is not None:
                self.anchor_ref(action.anchor, path + ("action", "anchor"), shape)
            elif rule.severity in ("high", "critical"):
                self.report(path + ("action",), f"rule '{rule.id}' is {rule.severity}: its"
                            " action needs an `anchor` (a date field) so that its due date stands"
                            " still and it can become overdue / 高、严重级别规则须写"
                            " action.anchor（起算日字段）")
            checklist = self.checklist_ref(action.checklist, path + ("action", "checklist"),
                                           checklists)
            when = self.condition(rule.when, path + ("when",), env)
            completion = self.completion(rule.id, path + ("action",), action.channel,
                                         action.completes_with, action.escalate_after,
                                         action.escalation, done, checklists)
            if when is None:
                continue
            rules.append(CompiledRule(
                id=rule.id, title=rule.title or rule.id, category=rule.category,
                severity=rule.severity, reference=rule.reference, when=when, kind=action.kind,
                anchor=action.anchor or "disbursement_date", after=action.after,
                window=action.window,
                lead=action.lead, channel=action.channel, checklist=checklist,
                cooldown=rule.cooldown, repeat=rule.repeat, completion=completion,
                when_unknown=rule.when_unknown))
        return tuple(rules)

    def check_unique_action_ids(self, shape: _Shape) -> None:
        """Nodes and rules share the follow-up history's namespace of action ids."""
        first: dict[str, Path] = {}
        items: list[tuple[Path, TimingNode | Rule]] = [*shape.timing_nodes, *shape.rules]
        for path, item in items:
            if item.id == "frequency":
                self.report(path + ("id",), "'frequency' is reserved for the recurring"
                            " follow-up; choose another id")
            if item.id in first:
                other = location_of(self.root, first[item.id] + ("id",))
                self.issues.append(_issue_at(
                    location_of(self.root, path + ("id",)),
                    f"id '{item.id}' is already used (line {other.line}); node and rule ids"
                    " must be unique because follow-up history refers to them",
                    related=other))
            else:
                first[item.id] = path


@dataclass(frozen=True)
class _Completing:
    """The policy-wide completion facts every action's completion set is built from."""

    channels: Mapping[str, CompiledChannel]
    outcomes: frozenset[str]


def _scalar_type(value: Any) -> ValueType:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, Decimal):
        return DECIMAL
    if isinstance(value, date):
        return DATE
    return STRING


def _yaml_loc(model: type[BaseModel], node: YNode | None, loc: Path) -> Path:
    """Map a pydantic error location onto the YAML path (parameter shorthands, unions)."""
    shorthand = (isinstance(node, YSeq) and loc[:1] == ("values",)) or (
        isinstance(node, YScalar) and loc[:1] == ("value",))
    if model is Parameter and shorthand:
        loc = loc[1:]
    # drop union member tags such as 'bool' / 'int' / 'str' that pydantic adds
    kept: list[str | int] = []
    current = node
    for step in loc:
        nxt = node_at(current, (step,)) if current is not None else None
        if nxt is None and current is not None and not isinstance(current, YMap):
            break
        kept.append(step)
        current = nxt
    return tuple(kept)


def _describe(model: type[BaseModel], loc: Path, error: Any) -> tuple[str, str | None, bool]:
    """A short message, a suggestion and whether it points at the key, for one error."""
    kind = error["type"]
    name = str(loc[-1]) if loc else ""
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return f"unknown key '{name}'", did_you_mean(name, allowed), True
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        shown = ", ".join(choices)
        return (f"'{value}' is not allowed for '{name}'; use one of: {shown}",
                did_you_mean(str(value), choices), False)
    if kind == "string_pattern_mismatch":
        if model is PolicyHeader and name == "id":
            return (f"policy id '{value}' may only use lower-case letters, digits, '_' and '-'",
                    None, False)
        return f"'{value}' is not a valid id for '{name}': ids may not contain spaces", None, False
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    prefix = f"'{name}': " if name and not isinstance(loc[-1], int) else ""
    return prefix + message[0].lower() + message[1:], None, False


def _allowed_keys(model: type[BaseModel], loc: Path) -> list[str]:
    current: Any = model
    for step in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            if step not in fields:
                return []
            current = fields[str(step)].annotation
        elif get_origin(current) in (list, tuple):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is Union or type(annotation).__name__ == "UnionType":
        options = [a for a in get_args(annotation) if a is not type(None)]
        return options[0] if len(options) == 1 else annotation
    return annotation
