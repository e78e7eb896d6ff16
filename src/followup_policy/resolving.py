"""The effective policy of an ``extends`` chain, as YAML that names each value's origin.

``followup-policy resolve`` prints it so that compliance staff read, in one file,
what a branch really enforces and which file and line set each value. The text
has no ``extends`` and loads on its own; it holds exactly the merged content, so
it compiles to the same digest and evaluates exactly like the chain.

>>> from followup_policy.layering import merge_policy_trees
>>> from followup_policy.loading import parse_yaml
>>> head = parse_yaml("timing_nodes:\\n  - {id: m3, after: 3 months, window: 15 days}", "ho.yaml")
>>> branch = parse_yaml("timing_nodes:\\n  - {id: m3, window: 10 days}", "sz.yaml")
>>> print(render_policy_tree(merge_policy_trees(head, branch)[0]), end="")
timing_nodes:        # ho.yaml:1
  - id: m3           # ho.yaml:2
    after: 3 months  # ho.yaml:2
    window: 10 days  # sz.yaml:2
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Final

from .compiling import compile_policy
from .errors import Location, PolicyLoadError
from .layering import read_policy_chain, short_file_names
from .loading import ScalarValue, YMap, YNode, YScalar, YSeq, parse_yaml

__all__ = ["render_policy_tree", "resolve_text"]

_Line = tuple[str, Location]
_COMMENT_COLUMN: Final = 56
_KEY_RE = re.compile(r"\w[\w.\-]*")
_INDICATORS: Final = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_ONLY: Final = frozenset(",[]{}")
_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def resolve_text(path: str | os.PathLike[str]) -> str:
    """The merged policy of ``path`` as commented YAML, after checking that it loads.

    Raises:
        PolicyLoadError: the chain does not load (every problem at once).
    """
    chain = read_policy_chain(path)
    policy = compile_policy(chain.tree, os.fspath(path))
    names = short_file_names(chain.files)
    head = [
        f"# {policy.title} ({policy.id} {policy.version})",
        "# 合并后的生效政策 / effective policy after merging the extends chain:",
        f"#   {' -> '.join(names[file] for file in chain.files)}",
        "# Each comment names the file:line that set the value; this file loads on its own.",
        f"# digest: {policy.digest}",
    ]
    return "\n".join([*head, render_policy_tree(chain.tree, names)])


def render_policy_tree(tree: YNode, names: Mapping[str, str] | None = None) -> str:
    """A located tree as block YAML, each line commented with ``# file:line``.

    ``names`` shortens file names in the comments (see
    :func:`~followup_policy.layering.short_file_names`).
    """
    lines: list[_Line] = []
    if isinstance(tree, YMap):
        _emit_map(tree, 0, lines)
    elif isinstance(tree, YSeq):
        _emit_seq(tree, 0, lines)
    else:
        lines.append((_scalar(tree.value, flow=False), tree.location))
    shown = names or {}
    widths = [_width(text) for text, _ in lines]
    column = min(max(widths, default=0) + 2, _COMMENT_COLUMN)
    out = []
    for (text, loc), width in zip(lines, widths, strict=True):
        gap = " " * max(column - width, 2)
        out.append(f"{text}{gap}# {shown.get(loc.file, loc.file)}:{loc.line}")
    return "\n".join(out) + "\n"


def _emit_map(node: YMap, indent: int, out: list[_Line]) -> None:
    pad = " " * indent
    for key, entry in node.entries.items():
        value = entry.node
        label = f"{pad}{_key(key)}:"
        if isinstance(value, YScalar):
            out.append((f"{label} {_scalar(value.value, flow=False)}", value.location))
        elif _inline(value):
            out.append((f"{label} {_flow(value)}", value.location))
        else:
            out.append((label, entry.key_location))
            if isinstance(value, YMap):
                _emit_map(value, indent + 2, out)
            else:
                _emit_seq(value, indent + 2, out)


def _emit_seq(node: YSeq, indent: int, out: list[_Line]) -> None:
    pad = " " * indent
    for item in node.items:
        if isinstance(item, YScalar):
            out.append((f"{pad}- {_scalar(item.value, flow=False)}", item.location))
        elif _inline(item):
            out.append((f"{pad}- {_flow(item)}", item.location))
        else:
            start = len(out)
            if isinstance(item, YMap):
                _emit_map(item, indent + 2, out)
            else:
                _emit_seq(item, indent + 2, out)
            text, loc = out[start]
            out[start] = (f"{pad}- {text[indent + 2:]}", loc)


def _inline(node: YMap | YSeq) -> bool:
    """What goes on one line: lists of values (enum values, applies_to), empty
    containers, and mappings of values that were written on one line of one file
    (``{type: int, min: 0}``), whose single origin one comment names exactly."""
    if isinstance(node, YSeq):
        return all(isinstance(item, YScalar) for item in node.items)
    places = {(e.node.location.file, e.node.location.line) for e in node.entries.values()}
    return len(places) <= 1 and all(isinstance(e.node, YScalar) for e in node.entries.values())


def _flow(node: YMap | YSeq) -> str:
    if isinstance(node, YMap):
        return "{" + ", ".join(f"{_key(key)}: {_scalar(entry.node.value, flow=True)}"
                               for key, entry in node.entries.items()
                               if isinstance(entry.node, YScalar)) + "}"
    return "[" + ", ".join(_scalar(item.value, flow=True) for item in node.items
                           if isinstance(item, YScalar)) + "]"


def _key(key: str) -> str:
    return key if _KEY_RE.fullmatch(key) else _quoted(key)


def _scalar(value: ScalarValue, *, flow: bool) -> str:
    """YAML text that this library's loader reads back as exactly ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        text = str(value)
        # '5' would read back as an int; the tag keeps it a decimal with the same digits
        return text if any(c in text for c in ".eE") else f"!!float {text}"
    if isinstance(value, date):
        return value.isoformat()
    if _plain_ok(value, flow):
        return value
    return _quoted(value)


def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text != text.strip() or text[0] in _INDICATORS:
        return False
    if ": " in text or " #" in text or text.endswith(":") or "\t" in text:
        return False
    if flow and any(c in _FLOW_ONLY for c in text):
        return False
    return _reads_back(text)


@lru_cache(maxsize=4096)
def _reads_back(text: str) -> bool:
    """True if ``text`` written plain reads back as the same string (not a number, date...)."""
    try:
        root = parse_yaml(f"v: {text}\n", "<check>")
    except PolicyLoadError:
        return False
    if not isinstance(root, YMap) or "v" not in root.entries:
        return False
    node = root.entries["v"].node
    return isinstance(node, YScalar) and isinstance(node.value, str) and node.value == text


def _quoted(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif (code < 0x20 or 0x7F <= code < 0xA0 or ch in "\u2028\u2029\ufeff"
              or 0xD800 <= code < 0xE000 or code in (0xFFFE, 0xFFFF)):
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _width(text: str) -> int:
    """Columns on a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
