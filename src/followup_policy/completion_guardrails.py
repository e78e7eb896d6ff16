"""Branch guardrails for what counts as done (SPEC 5.1 and 8): no loosening of completion.

A branch may not let an inherited action be completed by more than its parent
accepts. Three things decide that, and each is checked here on the located trees
(the merged tree reuses the branch's nodes, so every refusal points at the
branch's ``file:line:col`` and names the inherited place as ``related``):

- the **channel order**: a branch may not make an inherited channel cover an
  inherited channel its parent does not rank below it (``robot_call: {covers:
  [phone]}``), and a channel of its own may not cover an inherited one at all (its
  entries would complete head-office actions);
- **outcomes**: a branch may add failed-attempt outcomes only; a new completing
  outcome, or ``completes: true`` on an inherited failed one, would complete
  head-office actions;
- each inherited action's **accepted channels** (its ``channel`` widened by
  ``completes_with``, under the order): the branch's set must be a subset of the
  parent's. A stronger channel or fewer ``completes_with`` tightens; a weaker
  channel, ``channel: null`` or a wider ``completes_with`` loosens.

The per-key guardrails of ``escalate_after``, ``escalation`` and ``when_unknown``
follow the other per-key checks in :mod:`followup_policy.layering`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .completion import BUILTIN_OUTCOMES, accepted_channels, channel_completes
from .errors import Issue, Location
from .loading import YEntry, YMap, YNode, YScalar, YSeq, to_plain

__all__ = ["check_completion"]


def check_completion(parent: YNode, child: YNode, merged: YNode) -> list[Issue]:
    """Every way ``child`` (a branch overlay) loosens what completes its parent's actions."""
    if not (isinstance(parent, YMap) and isinstance(child, YMap) and isinstance(merged, YMap)):
        return []
    issues: list[Issue] = []
    passing = _check_channel_order(parent, child, issues)
    _check_outcomes(parent, child, issues)
    known = set(channel_completes(_declared(merged)))
    completes = channel_completes(_union(_declared(parent), passing))
    for action in _overridden_actions(parent, child, merged):
        issue = _check_accepted(action, completes, known)
        if issue is not None:
            issues.append(issue)
    return issues


# -- the channel order -------------------------------------------------------------------


def _check_channel_order(parent: YMap, child: YMap,
                         issues: list[Issue]) -> dict[str, list[str]]:
    """Refuse coverage a branch adds between inherited channels; return the coverage it may add."""
    inherited = _declared(parent)
    order = channel_completes(inherited)
    passing: dict[str, list[str]] = {}
    for name, entry in _section(child, "channels").items():
        covers = _step(entry.node, "covers")
        if not isinstance(covers, YSeq):
            continue
        for item in covers.items:
            if not (isinstance(item, YScalar) and isinstance(item.value, str)):
                continue
            covered = item.value
            if covered not in order:  # the branch's own channel (or a typo the compiler reports)
                passing.setdefault(name, []).append(covered)
                continue
            if name not in order:
                where = _channel_origin(parent, covered)
                issues.append(_issue(item.location, (
                    f"channel '{name}': a channel the branch adds may not cover the inherited"
                    f" channel '{covered}' ({where}), or its entries would complete inherited"
                    f" actions that require {covered}; declare it in the parent policy instead"),
                    where))
            elif covered not in order[name]:
                where = _channel_origin(parent, name)
                order_of = "order" if name in inherited else "built-in order"
                issues.append(_issue(item.location, (
                    f"channel '{name}': covering '{covered}' ranks {name} above the inherited"
                    f" {order_of} ({where}), so an entry through {name} would complete actions that"
                    f" require {covered}; a branch may not make a channel stronger"), where))
            else:
                passing.setdefault(name, []).append(covered)
    return passing


def _declared(root: YMap) -> dict[str, list[str]]:
    """A policy's declared channels and their ``covers`` (names only; shapes are the compiler's)."""
    found: dict[str, list[str]] = {}
    for name, entry in _section(root, "channels").items():
        covers = to_plain(entry.node).get("covers") if isinstance(entry.node, YMap) else None
        found[name] = [c for c in covers if isinstance(c, str)] if isinstance(covers, list) \
            else []
    return found


def _union(*declared: Mapping[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for one in declared:
        for name, covers in one.items():
            out.setdefault(name, []).extend(covers)
    return out


def _channel_origin(parent: YMap, name: str) -> Location:
    """Where the parent ranks ``name``: its declaration, else its `channels:` or its header."""
    section = parent.entries.get("channels")
    if section is not None and isinstance(section.node, YMap):
        own = section.node.entries.get(name)
        if own is not None:
            return own.node.location
        return section.node.location
    header = parent.entries.get("policy")
    return header.node.location if header is not None else parent.location


# -- outcomes ----------------------------------------------------------------------------


def _check_outcomes(parent: YMap, child: YMap, issues: list[Issue]) -> None:
    inherited = _section(parent, "outcomes")
    for name, entry in _section(child, "outcomes").items():
        completes = _step(entry.node, "completes")
        if not (isinstance(completes, YScalar) and completes.value is True):
            continue
        if name in BUILTIN_OUTCOMES:
            continue  # the compiler refuses any change to a built-in outcome
        found = inherited.get(name)
        if found is None:
            where = _section_origin(parent, "outcomes")
            issues.append(_issue(completes.location, (
                f"outcome '{name}': `completes: true` on an outcome the branch adds would let it"
                f" complete every inherited action ({where}); a branch may add only"
                " failed-attempt outcomes (`completes: false`)"), where))
        elif not _is_true(_step(found.node, "completes")):
            where = found.node.location
            issues.append(_issue(completes.location, (
                f"outcome '{name}': `completes: true` changes the inherited `completes: false`"
                f" ({where}); a branch may not turn a failed attempt into a completion"), where))


def _section_origin(parent: YMap, key: str) -> Location:
    section = parent.entries.get(key)
    if section is not None:
        return section.node.location
    header = parent.entries.get("policy")
    return header.node.location if header is not None else parent.location


# -- each inherited action's accepted channels -------------------------------------------


@dataclass(frozen=True)
class _Action:
    """An inherited action the branch overrides, as the parent has it and as merged."""

    what: str
    inherited: YMap
    own: YMap
    merged: YMap


def _overridden_actions(parent: YMap, child: YMap, merged: YMap) -> Iterator[_Action]:
    """Inherited nodes, frequency entries, rule actions and their escalations a branch lists."""
    pairs: list[tuple[str, YNode | None, YNode | None, YNode | None, bool]] = []
    for node_id, own in _by_id(_step(child, "timing_nodes")):
        node = _find(parent, "timing_nodes", node_id)
        pairs.append((f"timing node '{node_id}'", node, own,
                      _find(merged, "timing_nodes", node_id), _locked(node)))
    for tier, entry in _section(child, "frequency").items():
        recurring = _step(_step(parent, "frequency"), tier)
        pairs.append((f"frequency '{tier}'", recurring, entry.node,
                      _step(_step(merged, "frequency"), tier), _locked(recurring)))
    for rule_id, own in _by_id(_step(child, "rules")):
        rule = _find(parent, "rules", rule_id)
        pairs.append((f"rule '{rule_id}' action", _step(rule, "action"), _step(own, "action"),
                      _step(_find(merged, "rules", rule_id), "action"), _locked(rule)))
    for what, theirs, mine, ours, locked in pairs:
        if locked or not (isinstance(theirs, YMap) and isinstance(mine, YMap)
                          and isinstance(ours, YMap)):
            continue  # new items are the branch's own; locked ones refuse any change already
        yield _Action(what, theirs, mine, ours)
        up = (_step(theirs, "escalation"), _step(mine, "escalation"), _step(ours, "escalation"))
        if isinstance(up[0], YMap) and isinstance(up[1], YMap) and isinstance(up[2], YMap):
            yield _Action(f"{what} escalation", up[0], up[1], up[2])


def _check_accepted(action: _Action, completes: Mapping[str, frozenset[str]],
                    known: set[str]) -> Issue | None:
    """The refusal if the branch lets more channels complete ``action`` than its parent does."""
    channel_node, widen_node = action.own.entries.get("channel"), action.own.entries.get(
        "completes_with")
    if channel_node is None and widen_node is None:
        return None
    old_channel, old_widen = _channel_keys(action.inherited)
    new_channel, new_widen = _channel_keys(action.merged)
    if any(name not in known for name in [new_channel or "", *new_widen] if name):
        return None  # an unknown channel is the compiler's to report
    before = accepted_channels(old_channel, old_widen, completes)
    if before is None:
        return None  # the parent accepts any channel: nothing can be looser
    after = accepted_channels(new_channel, new_widen, completes)
    extra = sorted(known if after is None else after - before,
                   key=lambda name: (name not in (new_channel, *new_widen), name))
    if not extra:
        return None
    required = action.inherited.entries.get("channel")
    where = required.node.location if required is not None else action.inherited.location
    inherited = f"{old_channel}" + (f" with completes_with {_show(old_widen)}" if old_widen
                                    else "")
    through = ", ".join(extra)
    if channel_node is not None and new_channel is None:
        return _issue(channel_node.node.location, (
            f"{action.what}: `channel: null` would accept any channel, looser than the inherited"
            f" {inherited} ({where}); a branch may only require a channel at least as strong"),
            where)
    if channel_node is not None and new_channel != old_channel and not (
            accepted_channels(new_channel, None, completes) or frozenset()) <= before:
        return _issue(channel_node.node.location, (
            f"{action.what}: channel {new_channel} is not as strong as the inherited {inherited}"
            f" ({where}): an entry through {through} would complete it; a branch may only"
            " require a channel at least as strong"), where)
    culprit = widen_node if widen_node is not None else channel_node
    assert culprit is not None
    at = culprit.node.location
    return _issue(at, (
        f"{action.what}: completes_with {_show(new_widen)} lets an entry through {through}"
        f" complete it, which the inherited {inherited} does not accept ({where}); a branch"
        " may only narrow what completes an action"), where)


def _channel_keys(item: YMap) -> tuple[str | None, list[str]]:
    channel = item.entries.get("channel")
    name = to_plain(channel.node) if channel is not None else None
    widen = item.entries.get("completes_with")
    names = to_plain(widen.node) if widen is not None else None
    return (name if isinstance(name, str) else None,
            [n for n in names if isinstance(n, str)] if isinstance(names, list) else [])


# -- tree helpers ------------------------------------------------------------------------


def _issue(at: Location, message: str, related: Location) -> Issue:
    return Issue(at.file, at.line, at.column, message, related=related)


def _section(root: YMap, key: str) -> Mapping[str, YEntry]:
    entry = root.entries.get(key)
    return entry.node.entries if entry is not None and isinstance(entry.node, YMap) else {}


def _step(node: YNode | None, key: str) -> YNode | None:
    if isinstance(node, YMap):
        entry = node.entries.get(key)
        return None if entry is None else entry.node
    return None


def _by_id(seq: YNode | None) -> Iterator[tuple[str, YNode]]:
    if isinstance(seq, YSeq):
        for item in seq.items:
            ident = _step(item, "id")
            if isinstance(ident, YScalar) and isinstance(ident.value, str):
                yield ident.value, item


def _find(root: YNode, section: str, ident: str) -> YNode | None:
    return next((item for found, item in _by_id(_step(root, section)) if found == ident), None)


def _locked(item: YNode | None) -> bool:
    return _is_true(_step(item, "locked"))


def _is_true(node: YNode | None) -> bool:
    return isinstance(node, YScalar) and node.value is True


def _show(names: list[str]) -> str:
    return "[" + ", ".join(names) + "]"

