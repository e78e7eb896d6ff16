"""What differs between two policies: a branch and its head office, or two versions.

Both policies are resolved (``extends`` merged) and compared by section and by id
or key, never by list position, so moving an item is not a change and a new node
shows up as one addition. Each difference carries the location of both values,
so a reviewer can open the exact lines.

>>> from followup_policy.loading import parse_yaml
>>> v1 = parse_yaml("timing_nodes:\\n  - {id: m3, after: 3 months, window: 15 days}", "v1.yaml")
>>> v2 = parse_yaml("timing_nodes:\\n  - {id: d15, after: 15 days}\\n"
...                 "  - {id: m3, after: 3 months, window: 10 days}", "v2.yaml")
>>> print(format_differences(diff_trees(v1, v2)), end="")
changed timing_nodes[m3].window: 15 days -> 10 days (v1.yaml:2:39 -> v2.yaml:3:39)
added   timing_nodes[d15] (v2.yaml:2:5)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from .compiling import compile_policy
from .errors import Location
from .layering import normalize_parameter, read_policy_tree, short_file_names, show_value
from .loading import YMap, YNode, YScalar, YSeq, to_plain

__all__ = ["Difference", "diff_policies", "diff_trees", "format_differences"]

_KEYED_LISTS: Final = {"timing_nodes": "id", "rules": "id", "risk_tiers": "tier"}
_KEYED_MAPS: Final = ("channels", "outcomes", "fields", "parameters", "checklists", "frequency")


@dataclass(frozen=True)
class Difference:
    """One added, removed or changed value, at a path like ``timing_nodes[m3].window``."""

    kind: Literal["added", "removed", "changed"]
    path: str
    old: Any = None
    new: Any = None
    old_location: Location | None = None
    new_location: Location | None = None


def diff_policies(a_path: str | os.PathLike[str],
                  b_path: str | os.PathLike[str]) -> list[Difference]:
    """Differences from policy ``a`` to policy ``b``, each fully resolved first.

    Raises:
        PolicyLoadError: either policy does not load.
    """
    trees = []
    for path in (a_path, b_path):
        tree = read_policy_tree(path)
        compile_policy(tree, os.fspath(path))  # only diff policies that load
        trees.append(tree)
    return diff_trees(trees[0], trees[1])


def diff_trees(a: YNode, b: YNode) -> list[Difference]:
    """Differences between two resolved policy trees, section by section."""
    out: list[Difference] = []
    if not (isinstance(a, YMap) and isinstance(b, YMap)):
        _diff_value("", a, b, out)
        return out
    for section in _union(a.entries, b.entries):
        old = a.entries[section].node if section in a.entries else None
        new = b.entries[section].node if section in b.entries else None
        if section in _KEYED_LISTS:
            _diff_items(section, _by_id(old, _KEYED_LISTS[section]),
                        _by_id(new, _KEYED_LISTS[section]), out)
        elif section in _KEYED_MAPS:
            _diff_items(section, _by_key(old, section == "parameters"),
                        _by_key(new, section == "parameters"), out)
        else:
            _diff_value(section, old, new, out)
    return out


def format_differences(differences: Sequence[Difference]) -> str:
    """One line per difference, file names shortened to the folder they share."""
    if not differences:
        return "no differences\n"
    files = [loc.file for d in differences for loc in (d.old_location, d.new_location)
             if loc is not None]
    names = short_file_names(files)

    def where(loc: Location | None) -> str:
        return "?" if loc is None else f"{names.get(loc.file, loc.file)}:{loc.line}:{loc.column}"

    lines = []
    for d in differences:
        if d.kind == "changed":
            lines.append(f"changed {d.path}: {show_value(d.old)} -> {show_value(d.new)}"
                         f" ({where(d.old_location)} -> {where(d.new_location)})")
        elif d.kind == "added":
            lines.append(f"added   {d.path}{_summary(d.new)} ({where(d.new_location)})")
        else:
            lines.append(f"removed {d.path}{_summary(d.old)} ({where(d.old_location)})")
    return "\n".join(lines) + "\n"


def _diff_items(section: str, old: dict[str, YNode], new: dict[str, YNode],
                out: list[Difference]) -> None:
    for name in _union(old, new):
        _diff_value(f"{section}[{name}]", old.get(name), new.get(name), out)


def _diff_value(path: str, a: YNode | None, b: YNode | None, out: list[Difference]) -> None:
    a = None if a is None or _is_null(a) else a
    b = None if b is None or _is_null(b) else b
    if a is None and b is None:
        return
    if a is None:
        assert b is not None
        out.append(Difference("added", path, new=to_plain(b), new_location=b.location))
    elif b is None:
        out.append(Difference("removed", path, old=to_plain(a), old_location=a.location))
    elif isinstance(a, YMap) and isinstance(b, YMap):
        for key in _union(a.entries, b.entries):
            sub_a = a.entries[key].node if key in a.entries else None
            sub_b = b.entries[key].node if key in b.entries else None
            if key == "items" and isinstance(sub_a, YSeq) and isinstance(sub_b, YSeq):
                _diff_items(f"{path}.items", _by_id(sub_a, "id"), _by_id(sub_b, "id"), out)
            else:
                _diff_value(f"{path}.{key}" if path else key, sub_a, sub_b, out)
    else:
        old, new = to_plain(a), to_plain(b)
        if not _same(old, new):
            out.append(Difference("changed", path, old, new, a.location, b.location))


def _by_id(node: YNode | None, key: str) -> dict[str, YNode]:
    """List items by their id (or tier); an item without one by its position."""
    if not isinstance(node, YSeq):
        return {}
    items: dict[str, YNode] = {}
    for position, item in enumerate(node.items):
        ident = None
        if isinstance(item, YMap) and key in item.entries:
            value = item.entries[key].node
            ident = value.value if isinstance(value, YScalar) else None
        items.setdefault(str(ident) if ident is not None else f"#{position}", item)
    return items


def _by_key(node: YNode | None, parameters: bool) -> dict[str, YNode]:
    if not isinstance(node, YMap):
        return {}
    if not parameters:
        return {name: entry.node for name, entry in node.entries.items()}
    return {name: YMap(entry.node.location, normalize_parameter(entry.node))
            for name, entry in node.entries.items()}


def _union(first: Any, second: Any) -> Iterator[str]:
    yield from first
    yield from (key for key in second if key not in first)


def _is_null(node: YNode) -> bool:
    return isinstance(node, YScalar) and node.value is None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _summary(value: Any) -> str:
    """A whole added or removed item is named by its title; a value is shown."""
    if isinstance(value, dict):
        label = value.get("title") or value.get("text")
        return f" '{label}'" if isinstance(label, str) else ""
    return f": {show_value(value)}"
