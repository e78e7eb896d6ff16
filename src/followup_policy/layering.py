"""Head office and branches: ``extends`` chains, the merge, its guardrails, provenance.

A branch policy names its parent with ``policy.extends`` and lists only what it
adds or changes. :func:`read_policy_tree` reads the chain (head office -> province
-> city) and merges it into one located tree that *reuses* the nodes of every
file, so each value still carries the ``file:line:col`` that set it: that is the
provenance, and it is why :func:`~followup_policy.compiling.compile_policy` can
report a problem of the merged policy in the right file.

Merging is by key (fields, parameters, checklists, frequency) or by id (timing
nodes, rules, checklist items, risk tiers): a branch entry whose id matches an
inherited one overrides only the keys it lists; a new id is an addition. Nothing
can be removed. The guardrails stop a branch from loosening what it inherits;
every violation is reported at once, at the branch location, with the inherited
location as ``related``.

>>> from followup_policy.loading import parse_yaml
>>> head = parse_yaml("timing_nodes:\\n  - {id: m3, after: 3 months, window: 15 days}", "ho.yaml")
>>> branch = parse_yaml("timing_nodes:\\n  - {id: m3, window: 20 days}", "sz.yaml")
>>> merged, issues = merge_policy_trees(head, branch)
>>> print(issues[0])  # doctest: +NORMALIZE_WHITESPACE
sz.yaml:2:22: timing node 'm3': window 20 days loosens the inherited 15 days
(ho.yaml:2:39); a branch may only shorten it [see ho.yaml:2:39]
>>> print(origin_of(merged, ("timing_nodes", "m3", "after")))
ho.yaml:2:21
"""

from __future__ import annotations

import contextlib
import ntpath
import os
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .completion_guardrails import check_completion
from .durations import Duration, parse_duration
from .errors import Issue, Location, PolicyLoadError, did_you_mean
from .loading import (
    YEntry,
    YMap,
    YNode,
    YScalar,
    YSeq,
    check_policy_path,
    read_yaml_file,
    to_plain,
)
from .schema import (
    SEVERITIES,
    ChannelSpec,
    Checklist,
    ChecklistItem,
    Escalation,
    FieldSpec,
    FrequencyEntry,
    OutcomeSpec,
    Parameter,
    RiskTier,
    Rule,
    RuleAction,
    TimingNode,
)

__all__ = [
    "ROOT_MARKER",
    "PolicyChain",
    "default_root",
    "merge_policy_trees",
    "normalize_parameter",
    "origin_of",
    "policy_root",
    "read_policy_chain",
    "read_policy_tree",
    "short_file_names",
    "show_value",
]

_SEVERITY_RANK: Final = {name: rank for rank, name in enumerate(SEVERITIES)}
_ZERO: Final = Duration(0, "days")


@dataclass(frozen=True)
class PolicyChain:
    """A policy file merged with its ancestors.

    ``files`` runs from the root ancestor (the head office) to the file itself,
    each named as it was opened, so it matches the ``file`` of every location.
    """

    tree: YNode
    files: tuple[str, ...]


ROOT_MARKER: Final = ".followup-policy-root"
"""An empty file of this name marks the root of a policy repository: a policy below it
may ``extends`` any file inside it (``policies/`` ships one, so ``branches/x.yaml`` may
extend ``../head_office.yaml``)."""

_NAMED_ROOT: ContextVar[str | None] = ContextVar("followup_policy_root", default=None)


@contextlib.contextmanager
def policy_root(root: str | os.PathLike[str] | None) -> Iterator[None]:
    """Within the block, policies loaded without an explicit ``root`` use ``root``
    (the CLI's ``--policy-root``); ``None`` keeps the default."""
    token = _NAMED_ROOT.set(None if root is None else os.fspath(root))
    try:
        yield
    finally:
        _NAMED_ROOT.reset(token)


def default_root(policy_file: str | os.PathLike[str]) -> str:
    """The root ``extends`` may reach from ``policy_file`` when the caller names none: the
    nearest folder above it holding a ``.followup-policy-root`` file, else its own folder."""
    folder = os.path.dirname(os.path.realpath(os.fspath(policy_file)))
    candidate = folder
    while True:
        if os.path.isfile(os.path.join(candidate, ROOT_MARKER)):
            return candidate
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return folder
        candidate = parent


def read_policy_tree(path: str | os.PathLike[str], *,
                     root: str | os.PathLike[str] | None = None) -> YNode:
    """The located tree of a policy with its ``extends`` chain merged in.

    ``extends`` may reach only files inside ``root`` (see :func:`read_policy_chain`).

    Raises:
        PolicyLoadError: a file of the chain is unreadable or outside the root, the
            chain has a cycle or a missing parent, or a branch breaks a guardrail (then
            together with every other problem of the merged policy).
    """
    return read_policy_chain(path, root=root).tree


def read_policy_chain(path: str | os.PathLike[str], *,
                      root: str | os.PathLike[str] | None = None) -> PolicyChain:
    """Like :func:`read_policy_tree`, also naming the files of the chain.

    Every file of the chain must lie inside ``root`` (after following symlinks): the
    folder the caller names, else the one :func:`policy_root` set, else
    :func:`default_root` of ``path``. An ``extends`` that is absolute, climbs out with
    ``../`` or reaches a symlink leading out is refused at its ``file:line:col``,
    before the target is opened, so no error can show what the target holds.
    """
    current = os.fspath(path)
    check_policy_path(current)
    named = root if root is not None else _NAMED_ROOT.get()
    boundary = os.path.realpath(os.fspath(named) if named is not None
                                else default_root(current))
    if not _inside(os.path.realpath(current), boundary):
        raise PolicyLoadError([Issue(current, 1, 1, f"the policy file is outside the policy"
                                                    f" root {boundary}")])
    files: list[str] = []
    trees: list[YNode] = []
    seen: dict[str, int] = {}
    while True:
        real = os.path.realpath(current)
        tree = read_yaml_file(current)
        seen[real] = len(files)
        files.append(current)
        trees.append(tree)
        extends = _extends_node(tree)
        if extends is None:
            break
        text = str(extends.value)
        parent = _parent_path(extends, text, current, boundary)
        if not os.path.isfile(parent):
            raise PolicyLoadError([_missing_parent(extends, text, parent)])
        if os.path.realpath(parent) in seen:
            cycle = " -> ".join([*files[seen[os.path.realpath(parent)]:], parent])
            loc = extends.location
            raise PolicyLoadError([Issue(
                loc.file, loc.line, loc.column,
                f"'extends' makes a cycle: {cycle}; a policy cannot extend itself")])
        current = parent
    merged = trees[-1]
    issues: list[Issue] = []
    for child in reversed(trees[:-1]):
        merged, found = merge_policy_trees(merged, child)
        issues.extend(found)
    if issues:
        from .compiling import iter_problems

        # the merged policy's own problems too, except where a guardrail already
        # points (its message, naming both files, says it better)
        taken = {issue.location for issue in issues}
        raise PolicyLoadError([*issues, *(problem for problem in iter_problems(merged)
                                          if problem.location not in taken)])
    return PolicyChain(merged, tuple(reversed(files)))


def _inside(real: str, boundary: str) -> bool:
    try:
        return os.path.commonpath([real, boundary]) == boundary
    except ValueError:  # different drives
        return False


def _parent_path(extends: YScalar, text: str, current: str, boundary: str) -> str:
    """The file ``extends: text`` names, if it may be read; else a located load error
    that names the root but never the target's content."""
    loc = extends.location

    def refuse(message: str, message_zh: str) -> PolicyLoadError:
        return PolicyLoadError([Issue(loc.file, loc.line, loc.column, message,
                                      message_zh=message_zh)])

    shown = text.replace("\0", "\\0")
    if "\0" in text:
        raise refuse(f"'extends: {shown}' is not a file name (it holds a NUL character)",
                     f"“extends: {shown}”不是文件名（含 NUL 字符）")
    if os.path.isabs(text) or ntpath.isabs(text) or ntpath.splitdrive(text)[0]:
        raise refuse(f"'extends: {text}' is an absolute path; name the parent policy"
                     " relative to this file, inside the policy root",
                     f"“extends: {text}”是绝对路径；"
                     "上级政策须写相对于本文件的路径，且在政策根目录内")
    parent = os.path.normpath(os.path.join(os.path.dirname(current), text))
    hint = (f"a parent policy must be inside the policy root {boundary} (load with"
            f" root=... or --policy-root, or put a {ROOT_MARKER} file in the folder that"
            " holds the whole chain)")
    hint_zh = (f"上级政策须在政策根目录 {boundary} 之内（加载时用 root=... 或 --policy-root"
               f" 指定根目录，或在存放整条继承链的目录放一个 {ROOT_MARKER} 文件）")
    lexical = os.path.normpath(os.path.join(os.path.realpath(os.path.dirname(current) or "."),
                                            text))
    if not _inside(lexical, boundary):
        raise refuse(f"'extends: {text}' leaves the policy root; {hint}",
                     f"“extends: {text}”超出了政策根目录；{hint_zh}")
    if not _inside(os.path.realpath(lexical), boundary):
        raise refuse(f"'extends: {text}' leads out of the policy root through a symbolic"
                     f" link; {hint}",
                     f"“extends: {text}”经符号链接指向政策根目录之外；{hint_zh}")
    return parent


def _extends_node(tree: YNode) -> YScalar | None:
    """The ``policy.extends`` scalar if it names a parent; other shapes are left to compile."""
    if not isinstance(tree, YMap) or "policy" not in tree.entries:
        return None
    header = tree.entries["policy"].node
    if not isinstance(header, YMap) or "extends" not in header.entries:
        return None
    node = header.entries["extends"].node
    if isinstance(node, YScalar) and isinstance(node.value, str):
        return node
    return None


def _missing_parent(extends: YScalar, text: str, parent: str) -> Issue:
    folder = os.path.dirname(parent) or "."
    suggestion = None
    if os.path.isdir(folder):
        names = sorted(n for n in os.listdir(folder) if n.endswith((".yaml", ".yml")))
        base = posixpath.dirname(text.replace(os.sep, "/"))
        suggestion = did_you_mean(text, [posixpath.join(base, n) for n in names])
    loc = extends.location
    return Issue(loc.file, loc.line, loc.column,
                 f"the parent policy '{text}' does not exist (looked for {parent})",
                 suggestion)


# -- the merge ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """How one kind of item merges and which of its keys a branch may only tighten."""

    label: str
    model: type[BaseModel]
    longer_is_looser: tuple[str, ...] = ()
    shorter_is_looser: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    severity: bool = False
    checklist: bool = False
    nested: Mapping[str, _Kind] = field(default_factory=dict)


_ESCALATION = _Kind("escalation", Escalation, longer_is_looser=("after", "window"),
                    severity=True, checklist=True)
_ESCALATES: Final = {"escalation": _ESCALATION}
_ACTION = _Kind("action", RuleAction, longer_is_looser=("after", "window"),
                shorter_is_looser=("lead",), fixed=("anchor",), checklist=True,
                nested=_ESCALATES)
_NODE = _Kind("timing node", TimingNode, longer_is_looser=("after", "window"),
              shorter_is_looser=("lead",), fixed=("when", "anchor"), severity=True,
              checklist=True, nested=_ESCALATES)
_FREQUENCY = _Kind("frequency", FrequencyEntry, longer_is_looser=("every", "window"),
                   shorter_is_looser=("lead",), severity=True, checklist=True,
                   nested=_ESCALATES)
_RULE = _Kind("rule", Rule, longer_is_looser=("cooldown", "repeat"),
              fixed=("when", "category"), severity=True, nested={"action": _ACTION})
_ITEM = _Kind("checklist item", ChecklistItem, fixed=("when",))
_CHECKLIST = _Kind("checklist", Checklist)
_TIER = _Kind("risk tier", RiskTier, fixed=("when", "when_unknown"))
_FIELD = _Kind("field", FieldSpec, fixed=("type", "values"))
_PARAMETER = _Kind("parameter", Parameter, fixed=("overridable", "min", "max"))
_CHANNEL = _Kind("channel", ChannelSpec)
_OUTCOME = _Kind("outcome", OutcomeSpec)
_BY_KEY: Final = {"fields": _FIELD, "frequency": _FREQUENCY, "channels": _CHANNEL,
                  "outcomes": _OUTCOME}

_FIXED_WHY: Final = {
    "when": "a branch may not change the `when` of an inherited item unless it is provably at"
            " least as strict; otherwise it adds a rule of its own",
    "anchor": "a branch may not change the anchor of an inherited item: the due date could move"
              " later",
    "category": "a branch may not change the category of an inherited rule",
    "when_unknown": "a branch may not change which tier a loan with unknown data lands in",
    "type": "a branch may not change the type of an inherited field",
    "values": "a branch may not change the values of an inherited enum field",
    "overridable": "a branch may not change `overridable`",
    "min": "a branch may not change the `min` a parameter may take",
    "max": "a branch may not change the `max` a parameter may take",
}


def merge_policy_trees(parent: YNode, child: YNode) -> tuple[YNode, tuple[Issue, ...]]:
    """Merge a branch overlay onto its (already resolved) parent tree.

    Returns the merged tree, which reuses the nodes of both, and every guardrail
    violation found. Shape problems are left to the compiler, which reports them
    in the file where the offending node is.
    """
    merger = _Merger(parent)
    merged = merger.merge_root(child)
    merger.check_checklist_swaps(merged)
    merger.issues.extend(check_completion(parent, child, merged))
    for rewrite in merger.rewrites:
        issue = _settle_rewrite(parent, merged, rewrite)
        if issue is not None:
            merger.issues.append(issue)
    return merged, tuple(merger.issues)


@dataclass(frozen=True)
class _Rewrite:
    """A branch's new ``when`` for an inherited node or rule, accepted only with a proof."""

    kind: str
    ident: str
    at: Location
    inherited: Location
    message: str


_ITEM_OWNER: Final = re.compile(r" of checklist '(.+)'$")
_REWRITE_HINT: Final = (" (with the analysis extra installed, a rewritten `when` that is"
                        " provably at least as strict is accepted: pip install"
                        " 'followup-policy[analysis]')")


def _settle_rewrite(parent: YNode, merged: YNode, rewrite: _Rewrite) -> Issue | None:
    """None when the analysis proves the rewrite at least as strict; else the refusal."""
    at = rewrite.at
    try:
        from .analysis.rewrites import prove_rewrite

        outcome = prove_rewrite(parent, merged, rewrite.kind, rewrite.ident)
    except ImportError:  # AnalysisUnavailable: keep the syntactic guardrail
        return Issue(at.file, at.line, at.column, rewrite.message + _REWRITE_HINT,
                     related=rewrite.inherited)
    if outcome.status == "proved":
        return None
    if outcome.status == "example" and outcome.example is not None:
        loan = ", ".join(f"{k}: {show_value(v)}" for k, v in outcome.example.items())
        why = (f" (the new `when` is not at least as strict: the parent acts on the loan"
               f" {{{loan}}} and the branch would not)")
    else:
        why = f" (it could not be proved at least as strict: {outcome.reason})"
    return Issue(at.file, at.line, at.column, rewrite.message + why, related=rewrite.inherited)


@dataclass
class _Swap:
    """An inherited item that names another checklist; checked once all is merged."""

    what: str
    old: str
    new: YNode
    inherited: Location


class _Merger:
    """Merges one overlay onto one parent, collecting guardrail violations."""

    def __init__(self, parent: YNode) -> None:
        self.parent = parent
        self.issues: list[Issue] = []
        self.swaps: list[_Swap] = []
        self.rewrites: list[_Rewrite] = []

    def report(self, at: Location, message: str, related: Location) -> None:
        self.issues.append(Issue(at.file, at.line, at.column, message, related=related))

    # -- structure ---------------------------------------------------------------------

    def merge_root(self, child: YNode) -> YNode:
        parent = self.parent
        if not isinstance(child, YMap):
            return child
        if not isinstance(parent, YMap):
            self.report(parent.location, "the parent policy must be a mapping starting with"
                        " `policy:`", child.location)
            return child
        entries: dict[str, YEntry] = {}
        for key in [*parent.entries, *(k for k in child.entries if k not in parent.entries)]:
            inherited, own = parent.entries.get(key), child.entries.get(key)
            if key == "policy":
                if own is not None:
                    entries[key] = self.header(inherited, own)
            elif own is None or _is_null(own.node):
                if inherited is not None:
                    entries[key] = inherited
            elif inherited is None or _is_null(inherited.node):
                if key == "risk_tiers":
                    self.report(own.key_location, "a branch may not add risk tiers: the"
                                " inherited policy takes the tier from the field `risk_tier`",
                                parent.location)
                    continue
                entries[key] = own
            else:
                entries[key] = YEntry(inherited.key_location,
                                      self.section(key, inherited.node, own.node))
        return YMap(child.location, entries)

    def header(self, inherited: YEntry | None, own: YEntry) -> YEntry:
        """The branch's own header without ``extends``: id, title, dates are its own."""
        node = own.node
        if not isinstance(node, YMap):
            return own
        if inherited is not None and isinstance(inherited.node, YMap):
            mine, theirs = node.entries.get("id"), inherited.node.entries.get("id")
            if (mine is not None and theirs is not None and isinstance(mine.node, YScalar)
                    and isinstance(theirs.node, YScalar) and mine.node.value == theirs.node.value):
                self.report(mine.node.location, f"a branch policy needs its own id;"
                            f" '{mine.node.value}' is the id of the policy it extends"
                            f" ({theirs.node.location})", theirs.node.location)
        entries = {k: e for k, e in node.entries.items() if k != "extends"}
        return YEntry(own.key_location, YMap(node.location, entries))

    def section(self, key: str, inherited: YNode, own: YNode) -> YNode:
        if key in ("channels", "outcomes", "fields", "parameters", "checklists", "frequency"):
            if isinstance(inherited, YMap) and isinstance(own, YMap):
                return self.merge_by_key(key, inherited, own)
        elif key in ("timing_nodes", "rules"):
            if isinstance(inherited, YSeq) and isinstance(own, YSeq):
                kind = _NODE if key == "timing_nodes" else _RULE
                return self.merge_by_id(kind, inherited, own, "id", None)
        elif key == "risk_tiers" and isinstance(inherited, YSeq) and isinstance(own, YSeq):
            return self.merge_tiers(inherited, own)
        return own  # a scalar section (format), or a shape the compiler will report

    def merge_by_key(self, section: str, inherited: YMap, own: YMap) -> YMap:
        entries = dict(inherited.entries)
        for name, entry in own.entries.items():
            found = entries.get(name)
            if found is None:
                entries[name] = entry
                continue
            if section == "parameters":
                merged = self.merge_parameter(name, found.node, entry.node)
            elif section == "checklists":
                merged = self.merge_checklist(name, found.node, entry.node)
            else:
                kind = _BY_KEY[section]
                merged = self.merge_item(kind, f"{kind.label} '{name}'", found.node,
                                         entry.node, None)
            entries[name] = YEntry(found.key_location, merged)
        return YMap(inherited.location, entries)

    def merge_by_id(self, kind: _Kind, inherited: YSeq, own: YSeq, key: str,
                    locked_by: Location | None, owner: str = "") -> YSeq:
        items = list(inherited.items)
        index: dict[str, int] = {}
        for position, item in enumerate(items):
            ident = _ident(item, key)
            if ident is not None:
                index.setdefault(ident, position)
        used: set[str] = set()
        for item in own.items:
            ident = _ident(item, key)
            if ident is None or ident not in index or ident in used:
                if locked_by is not None:
                    self.report(item.location, f"{owner} is locked ({locked_by}); a branch"
                                " may not add items to it", locked_by)
                items.append(item)
                continue
            used.add(ident)
            position = index[ident]
            what = f"{kind.label} '{ident}'" + (f" of {owner}" if owner else "")
            items[position] = self.merge_item(kind, what, items[position], item, locked_by)
        return YSeq(inherited.location, tuple(items))

    def merge_tiers(self, inherited: YSeq, own: YSeq) -> YSeq:
        items = list(inherited.items)
        index = {ident: pos for pos, item in enumerate(items)
                 if (ident := _ident(item, "tier")) is not None}
        last = -1
        for item in own.items:
            ident = _ident(item, "tier")
            if ident is None or ident not in index:
                named = "a risk tier without `tier`" if ident is None else f"risk tier '{ident}'"
                self.report(item.location, f"{named} is not inherited (tiers at"
                            f" {inherited.location}); a branch may not add, remove or reorder"
                            " risk tiers", inherited.location)
                continue
            position = index[ident]
            if position < last:
                self.report(item.location, f"risk tier '{ident}' is listed out of the inherited"
                            f" order ({inherited.location}); a branch may not reorder risk"
                            " tiers", items[position].location)
            last = max(last, position)
            items[position] = self.merge_item(_TIER, f"risk tier '{ident}'", items[position],
                                              item, None)
        return YSeq(inherited.location, tuple(items))

    def merge_checklist(self, name: str, inherited: YNode, own: YNode) -> YNode:
        if not (isinstance(inherited, YMap) and isinstance(own, YMap)):
            return own
        what = f"checklist '{name}'"
        locked_by = _locked_at(inherited)
        entries = dict(inherited.entries)
        for key, entry in own.entries.items():
            found = entries.get(key)
            if (key == "items" and found is not None and isinstance(found.node, YSeq)
                    and isinstance(entry.node, YSeq)):
                items = self.merge_by_id(_ITEM, found.node, entry.node, "id", locked_by, what)
                entries[key] = YEntry(found.key_location, items)
                continue
            if locked_by is not None:
                self.check_locked(_CHECKLIST, what, key, found, entry, inherited, locked_by)
            if found is None or not _identical(found.node, entry.node):
                entries[key] = entry
        return YMap(inherited.location, entries)

    def merge_parameter(self, name: str, inherited: YNode, own: YNode) -> YNode:
        what = f"parameter '{name}'"
        theirs, mine = normalize_parameter(inherited), normalize_parameter(own)
        item = YMap(inherited.location, theirs)
        locked_by = _locked_at(item)
        if locked_by is not None:
            for key, entry in mine.items():
                found = theirs.get(key)
                if key in ("value", "values") and found is None:
                    found = theirs.get("values" if key == "value" else "value")
                self.check_locked(_PARAMETER, what, key, found, entry, item, locked_by)
        else:
            for key in _PARAMETER.fixed:
                if key in mine:
                    self.check_fixed(_PARAMETER, what, key, theirs.get(key), mine[key], item)
            self.check_parameter_value(what, theirs, mine, item)
        entries = dict(theirs)
        location = inherited.location
        if "value" in mine or "values" in mine:
            entries.pop("value", None)
            entries.pop("values", None)
            location = own.location  # problems of the values are the branch's to fix
        for key, entry in mine.items():
            found = entries.get(key)
            if found is None or not _identical(found.node, entry.node):
                entries[key] = entry
        return YMap(location, entries)

    def check_parameter_value(self, what: str, theirs: Mapping[str, YEntry],
                              mine: Mapping[str, YEntry], item: YMap) -> None:
        new = mine.get("value") or mine.get("values")
        if new is None:
            return
        old = theirs.get("value") or theirs.get("values")
        old_plain = None if old is None else to_plain(old.node)
        if _equivalent(to_plain(new.node), old_plain):
            return
        inherited = old.node.location if old is not None else item.location
        overridable = "overridable" in theirs and to_plain(theirs["overridable"].node) is True
        if not overridable:
            self.report(new.node.location, f"{what} is not overridable (inherited at"
                        f" {inherited}); a branch may override only parameters marked"
                        " `overridable: true`", inherited)
            return
        for key in ("min", "max"):
            bound_entry = theirs.get(key)
            bound = None if bound_entry is None else _number(to_plain(bound_entry.node))
            if bound_entry is None or bound is None:
                continue
            for node in _parameter_value_nodes(new.node):
                value = _number(node.value)
                if value is None:
                    continue
                if (key == "min" and value < bound) or (key == "max" and value > bound):
                    side = "below" if key == "min" else "above"
                    self.report(node.location, f"{what}: {node.value} is {side} the inherited"
                                f" {key} {bound} ({bound_entry.node.location}); a branch must"
                                " stay within min/max", bound_entry.node.location)

    # -- one item ------------------------------------------------------------------------

    def merge_item(self, kind: _Kind, what: str, inherited: YNode, own: YNode,
                   locked_by: Location | None) -> YNode:
        """Merge one overriding entry key by key, checking each key it lists."""
        if not (isinstance(inherited, YMap) and isinstance(own, YMap)):
            return own
        locked_by = locked_by or _locked_at(inherited)
        if locked_by is None:
            self.check_item(kind, what, inherited, own)
        else:
            for key, entry in own.entries.items():
                self.check_locked(kind, what, key, inherited.entries.get(key), entry,
                                  inherited, locked_by)
        return _merge_entries(kind, inherited, own)

    def check_item(self, kind: _Kind, what: str, inherited: YMap, own: YMap) -> None:
        for key, entry in own.entries.items():
            found = inherited.entries.get(key)
            if key in kind.fixed:
                self.check_fixed(kind, what, key, found, entry, inherited)
            elif key in kind.longer_is_looser or key in kind.shorter_is_looser:
                self.check_duration(kind, what, key, found, entry, inherited)
            elif key == "severity" and kind.severity:
                self.check_severity(kind, what, found, entry, inherited)
            elif key == "checklist" and kind.checklist:
                old = _effective(kind, key, found)
                if isinstance(old, str) and not _equivalent(old, to_plain(entry.node)):
                    where = found.node.location if found is not None else inherited.location
                    self.swaps.append(_Swap(what, old, entry.node, where))
            elif key == "required" and kind is _FIELD:
                if (_effective(kind, key, found) is True
                        and to_plain(entry.node) is not True):
                    where = found.node.location if found is not None else inherited.location
                    self.report(entry.node.location, f"{what} is required ({where}); a branch"
                                " may not make it optional", where)
            elif key == "escalate_after":
                self.check_escalate_after(what, found, entry, inherited)
            elif key == "when_unknown" and kind is _RULE:
                self.check_when_unknown(what, found, entry, inherited)
            elif key in kind.nested and _is_null(entry.node) and found is not None \
                    and not _is_null(found.node):
                self.report(entry.node.location, f"{what}: `{key}: null` removes the inherited"
                            f" {key} ({found.node.location}); a branch may not remove it",
                            found.node.location)
            elif key in kind.nested:
                nested_found = found.node if found is not None else None
                if isinstance(nested_found, YMap) and isinstance(entry.node, YMap):
                    self.check_item(kind.nested[key], f"{what} {key}", nested_found,
                                    entry.node)

    def check_escalate_after(self, what: str, found: YEntry | None, entry: YEntry,
                             item: YMap) -> None:
        """Fewer failed attempts before escalating tightens; more, or none, loosens."""
        old = _number(to_plain(found.node)) if found is not None else None
        if old is None:
            return  # the parent does not escalate: any escalation the branch adds tightens
        assert found is not None
        where = found.node.location
        new_value = to_plain(entry.node)
        new = _number(new_value)
        if new_value is None:
            self.report(entry.node.location, f"{what}: `escalate_after: null` removes the"
                        f" inherited escalation after {old} failed attempts ({where}); a branch"
                        " may not remove it", where)
        elif new is not None and new > old:
            self.report(entry.node.location, f"{what}: escalate_after {new} is later than the"
                        f" inherited {old} ({where}); a branch may only escalate after fewer"
                        " failed attempts", where)

    def check_when_unknown(self, what: str, found: YEntry | None, entry: YEntry,
                           item: YMap) -> None:
        """`skip` -> `apply` acts on more loans (tightens); `apply` -> `skip` lets them pass."""
        old, new = _effective(_RULE, "when_unknown", found), to_plain(entry.node)
        if old == "apply" and new == "skip":
            where = found.node.location if found is not None else item.location
            self.report(entry.node.location, f"{what}: `when_unknown: skip` changes the inherited"
                        f" `when_unknown: apply` ({where}); a branch may not let a condition it"
                        " cannot decide pass (only `skip` -> `apply` is allowed)", where)

    def check_fixed(self, kind: _Kind, what: str, key: str, found: YEntry | None,
                    entry: YEntry, item: YMap) -> None:
        old = _effective(kind, key, found)
        new = to_plain(entry.node)
        if _equivalent(old, new):
            return
        where = found.node.location if found is not None else item.location
        if found is not None:
            change = f"changes the inherited `{key}: {show_value(old)}` ({where})"
        elif old is not None:
            change = f"changes the inherited default `{show_value(old)}` ({what} at {where})"
        else:
            change = f"is added to an item inherited without one ({where})"
        message = f"{what}: `{key}: {show_value(new)}` {change}; {_FIXED_WHY[key]}"
        ident = _ident(item, "id")
        owner = _ITEM_OWNER.search(what) if kind is _ITEM else None
        if key == "when" and kind in (_NODE, _RULE, _ITEM) and ident is not None:
            # a rewritten trigger is accepted if the analysis proves it at least as strict
            element = {"timing node": "timing_node", "rule": "rule"}.get(kind.label)
            if owner is not None:
                element, ident = "checklist_item", f"{owner.group(1)}.{ident}"
            if element is not None:
                self.rewrites.append(_Rewrite(element, ident, entry.node.location, where,
                                              message))
                return
        self.report(entry.node.location, message, where)

    def check_duration(self, kind: _Kind, what: str, key: str, found: YEntry | None,
                       entry: YEntry, item: YMap) -> None:
        old = _span(kind, key, found.node if found is not None else None)
        new = _span(kind, key, entry.node)
        if isinstance(old, _Unparsed) or isinstance(new, _Unparsed):
            return  # the compiler reports the bad value
        if key in kind.shorter_is_looser:
            loose = old is not None and new is not None and not old.never_longer_than(new)
            verb, advice = "is shorter than", "lengthen"
        else:
            loose = old is not None and (new is None or not new.never_longer_than(old))
            verb, advice = "loosens", "shorten"
        if not loose:
            return
        where = found.node.location if found is not None else item.location
        if found is not None and not _is_null(found.node):
            shown = f"{show_value(to_plain(found.node))} ({where})"
        elif key == "cooldown":
            shown = f"{what} without a cooldown ({where})"
        else:
            shown = f"default {old} ({what} at {where})"
        change = f"{key} {show_value(to_plain(entry.node))}" if new is not None else \
            f"`{key}: null` (no {key})"
        self.report(entry.node.location, f"{what}: {change} {verb} the inherited {shown};"
                    f" a branch may only {advice} it", where)

    def check_severity(self, kind: _Kind, what: str, found: YEntry | None, entry: YEntry,
                       item: YMap) -> None:
        old, new = _effective(kind, "severity", found), to_plain(entry.node)
        if not (isinstance(old, str) and isinstance(new, str)):  # e.g. a mapping: compile
            return  # reports the shape, located (a dict is not even hashable here)
        if old not in _SEVERITY_RANK or new not in _SEVERITY_RANK:
            return
        if _SEVERITY_RANK[new] < _SEVERITY_RANK[old]:
            where = found.node.location if found is not None else item.location
            shown = f"{old} ({where})" if found is not None else f"default {old} ({what} at" \
                f" {where})"
            self.report(entry.node.location, f"{what}: severity {new} is lower than the"
                        f" inherited {shown}; a branch may only raise it", where)

    def check_locked(self, kind: _Kind, what: str, key: str, found: YEntry | None,
                     entry: YEntry, item: YMap, locked_by: Location, prefix: str = "") -> None:
        """A locked item may be restated but not changed in any way."""
        nested = kind.nested.get(key)
        if (nested is not None and found is not None and isinstance(found.node, YMap)
                and isinstance(entry.node, YMap)):
            for sub_key, sub_entry in entry.node.entries.items():
                self.check_locked(nested, what, sub_key, found.node.entries.get(sub_key),
                                  sub_entry, found.node, locked_by, f"{prefix}{key}.")
            return
        old = _effective(kind, key, found)
        if _equivalent(old, to_plain(entry.node)):
            return
        where = found.node.location if found is not None else locked_by
        self.report(entry.node.location, f"{what} is locked ({locked_by}); a branch may not"
                    f" change `{prefix}{key}` (inherited {show_value(old)} at {where})", where)

    def check_checklist_swaps(self, merged: YNode) -> None:
        """An item may name another checklist only if it keeps every inherited item."""
        for swap in self.swaps:
            new = swap.new.value if isinstance(swap.new, YScalar) else None
            if new is None:
                self.report(swap.new.location, f"{swap.what}: a branch may not drop the"
                            f" inherited checklist '{swap.old}' ({swap.inherited})",
                            swap.inherited)
                continue
            old_items = _checklist_items(self.parent, swap.old)
            new_items = _checklist_items(merged, str(new))
            if old_items is None or new_items is None:
                continue  # an unknown checklist is the compiler's to report
            missing = [i for i in old_items if i not in new_items]
            if missing:
                self.report(swap.new.location, f"{swap.what}: checklist '{new}' lacks"
                            f" {', '.join(missing)} of the inherited checklist '{swap.old}'"
                            f" ({swap.inherited}); a branch may add checklist items, not drop"
                            " them", swap.inherited)


def _merge_entries(kind: _Kind, inherited: YMap, own: YMap) -> YMap:
    """Inherited keys in their order, each replaced by the branch's where it lists one.

    A value the branch restates unchanged (such as the ``id`` that names the item)
    keeps its inherited origin: the branch did not set it.
    """
    entries = dict(inherited.entries)
    for key, entry in own.entries.items():
        found = entries.get(key)
        nested = kind.nested.get(key)
        if found is not None and _identical(found.node, entry.node):
            continue
        if (nested is not None and found is not None and isinstance(found.node, YMap)
                and isinstance(entry.node, YMap)):
            entries[key] = YEntry(found.key_location, _merge_entries(nested, found.node,
                                                                     entry.node))
        else:
            entries[key] = entry
    return YMap(inherited.location, entries)


def _identical(a: YNode, b: YNode) -> bool:
    """The same scalar value of the same type (``0.30`` and ``0.3`` differ: text matters)."""
    return (isinstance(a, YScalar) and isinstance(b, YScalar) and type(a.value) is type(b.value)
            and a.value == b.value and str(a.value) == str(b.value))


# -- values ------------------------------------------------------------------------------


class _Unparsed:
    """A duration text the compiler will reject; the guardrail stays silent."""


_UNPARSED: Final = _Unparsed()


def _span(kind: _Kind, key: str, node: YNode | None) -> Duration | _Unparsed | None:
    """A duration key's value; ``None`` means never (no ``repeat``)."""
    value = _default(kind, key) if node is None else to_plain(node)
    if value is None:
        if key == "repeat":
            return None
        if key == "cooldown":
            return _ZERO
        return _UNPARSED
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        return _UNPARSED
    try:
        return parse_duration(value)
    except ValueError:
        return _UNPARSED


def _default(kind: _Kind, key: str) -> Any:
    if kind is _ACTION and key == "anchor":
        return "disbursement_date"  # what the compiler puts in when a rule names none
    info = kind.model.model_fields.get(key)
    if info is None or info.default is PydanticUndefined:
        return None
    return info.default


def _effective(kind: _Kind, key: str, found: YEntry | None) -> Any:
    """The inherited value of a key, or the format's default when it was left out."""
    if found is not None:
        return to_plain(found.node)
    value = _default(kind, key)
    return str(value) if isinstance(value, Duration) else value


def _equivalent(a: Any, b: Any) -> bool:
    """Equal in meaning: numbers by value, durations by length, text up to spacing."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | Decimal) and isinstance(b, int | Decimal):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        if " ".join(a.split()) == " ".join(b.split()):
            return True
        try:
            da, db = parse_duration(a), parse_duration(b)
        except ValueError:
            return False
        return da.never_longer_than(db) and db.never_longer_than(da)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equivalent(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equivalent(a[k], b[k]) for k in a)
    return bool(a == b)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def show_value(value: Any) -> str:
    """A policy value as an author would write it in YAML (for messages and diffs)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value.strip() == value and value else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show_value(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _is_null(node: YNode) -> bool:
    return isinstance(node, YScalar) and node.value is None


def _ident(item: YNode, key: str) -> str | None:
    if not isinstance(item, YMap) or key not in item.entries:
        return None
    node = item.entries[key].node
    return node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None


def _locked_at(item: YNode) -> Location | None:
    """Where ``locked: true`` is set on an item, if it is."""
    if isinstance(item, YMap) and "locked" in item.entries:
        node = item.entries["locked"].node
        if isinstance(node, YScalar) and node.value is True:
            return node.location
    return None


def normalize_parameter(node: YNode) -> dict[str, YEntry]:
    """A parameter's keys, its shorthands (``550``, a dated list) spelt out as a mapping."""
    if isinstance(node, YMap):
        return dict(node.entries)
    if isinstance(node, YSeq):
        return {"values": YEntry(node.location, node)}
    return {"value": YEntry(node.location, node)}


def _parameter_value_nodes(node: YNode) -> list[YScalar]:
    """The value scalars of a parameter's ``value`` or ``values``."""
    if isinstance(node, YScalar):
        return [node]
    found = []
    if isinstance(node, YSeq):
        for row in node.items:
            if isinstance(row, YMap) and "value" in row.entries:
                value = row.entries["value"].node
                if isinstance(value, YScalar):
                    found.append(value)
    return found


def _checklist_items(root: YNode, name: str) -> list[str] | None:
    checklist = _step(_step(root, "checklists"), name)
    items = _step(checklist, "items")
    if not isinstance(items, YSeq):
        return None
    return [ident for item in items.items if (ident := _ident(item, "id")) is not None]


def _step(node: YNode | None, step: str | int) -> YNode | None:
    """One step down a tree; a text step into a list picks the item with that id or tier."""
    if isinstance(node, YMap) and isinstance(step, str):
        entry = node.entries.get(step)
        return None if entry is None else entry.node
    if isinstance(node, YSeq):
        if isinstance(step, int) and not isinstance(step, bool):
            return node.items[step] if 0 <= step < len(node.items) else None
        for item in node.items:
            if step in (_ident(item, "id"), _ident(item, "tier")):
                return item
    return None


# -- provenance --------------------------------------------------------------------------


def origin_of(tree: YNode, path: Sequence[str | int]) -> Location | None:
    """Which file, line and column set the value at ``path`` of a merged tree.

    Steps into lists may be ids or tier names: ``("timing_nodes", "m3", "window")``.
    None if the path does not exist.
    """
    node: YNode | None = tree
    for step in path:
        node = _step(node, step)
    return None if node is None else node.location


def short_file_names(files: Iterable[str]) -> dict[str, str]:
    """Names relative to the folder the files share, for compact origin comments.

    ``policies/head_office.yaml`` and ``policies/branches/sz.yaml`` become
    ``head_office.yaml`` and ``branches/sz.yaml``.
    """
    names = sorted(set(files))
    if not names:
        return {}
    folders = [os.path.dirname(os.path.abspath(name)) for name in names]
    try:
        common = os.path.commonpath(folders)
    except ValueError:  # different drives
        return {name: name for name in names}
    if os.path.dirname(common) == common:  # nothing shared but the root: keep them as given
        return {name: name for name in names}
    return {name: os.path.relpath(os.path.abspath(name), common).replace(os.sep, "/")
            for name in names}
