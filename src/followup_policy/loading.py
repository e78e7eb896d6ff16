"""YAML with a location for every node.

Policies are written by hand, so every error must point at ``file:line:column``,
even at a token inside a ``when:`` string. PyYAML's constructors forget where
things came from (and can build arbitrary objects), so the tree is built here
from PyYAML *events* instead: each node keeps its location, mapping keys keep
theirs, and scalars are resolved like the YAML 1.2 core schema (``yes``/``no``
stay strings, numbers become exact :class:`~decimal.Decimal`).

The builder is iterative and bounded (size, depth, node count including those
reached through aliases), and every problem of a file is reported at once in one
:class:`~followup_policy.errors.PolicyLoadError`.

>>> root = parse_yaml("policy:\\n  id: demo\\n  rate: 0.25\\n", "p.yaml")
>>> to_plain(root)
{'policy': {'id': 'demo', 'rate': Decimal('0.25')}}
>>> str(location_of(root, ("policy", "rate")))
'p.yaml:3:9'
"""

from __future__ import annotations

import bisect
import codecs
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeAlias

import yaml

from .errors import Issue, Location, PolicyLoadError, did_you_mean
from .slips import explain_syntax_error, find_slips

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "ScalarValue",
    "YEntry",
    "YMap",
    "YNode",
    "YScalar",
    "YSeq",
    "check_policy_path",
    "location_of",
    "node_at",
    "parse_yaml",
    "read_yaml_file",
    "to_plain",
    "yaml_files_under",
]

MAX_FILE_BYTES: Final = 5 * 1024 * 1024
MAX_DEPTH: Final = 64
MAX_NODES: Final = 500_000

ScalarValue: TypeAlias = bool | int | Decimal | str | date | None

# The C event parser when libyaml is available: much faster, same events.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STD = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_STD + n for n in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ = _STD + "map", _STD + "seq"
_SCALAR_TAGS: Final = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL})
_ALLOWED_TAGS = "!!str, !!int, !!float, !!bool, !!null, !!map, !!seq"

_BREAKS = "\r\n\x85\u2028\u2029"  # what PyYAML and libyaml count as line breaks
_LINE_BREAK_RE = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
_NON_PRINTABLE_RE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_BAD_BYTE_RE = re.compile("[\udc80-\udcff]")  # bytes kept by errors="surrogateescape"
_PROPERTY_RE = re.compile(
    r"(?:&[^\s,\[\]{}]+|!<[^>]*>|![^\s,\[\]{}]*)"
    r"(?:[ \t\r\n\x85\u2028\u2029]+|#[^\r\n\x85\u2028\u2029]*)*"
)
_MAX_ENCODING_ISSUES = 20

_NULLS: Final = frozenset({"", "~", "null", "Null", "NULL"})
_TRUES: Final = frozenset({"true", "True", "TRUE"})
_FALSES: Final = frozenset({"false", "False", "FALSE"})
_INT_RE = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOAT_RE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_TIMESTAMP_RE = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}"
    r"(?::[0-9]{2}(?:\.[0-9]*)?)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?\Z"
)
_MAX_INT_DIGITS = 4000  # below Python's int/str conversion limit
_MAX_EXPONENT = 1000  # far beyond any policy figure; keeps later decimal arithmetic finite


class _Source:
    """The decoded text of one file, to turn character indexes into locations."""

    __slots__ = ("_starts", "file", "text")

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self._starts: list[int] | None = None

    def location(self, index: int) -> Location:
        """The 1-based line and column of character ``index``, counting breaks as PyYAML does."""
        if self._starts is None:  # built lazily: only needed for errors inside values
            self._starts = [0, *(m.end() for m in _LINE_BREAK_RE.finditer(self.text))]
        line = bisect.bisect_right(self._starts, index) - 1
        return Location(self.file, line + 1, index - self._starts[line] + 1)


class _RawSpan:
    """Where a scalar's text sits in the source, to map value offsets back to it."""

    __slots__ = ("_map", "end", "source", "start", "style", "text")

    def __init__(self, source: _Source, start: int, end: int, style: str, text: str) -> None:
        self.source = source
        self.start = start
        self.end = end
        self.style = style
        self.text = text
        self._map: list[int] | None = None

    def position_of(self, offset: int) -> Location:
        if not self.text:
            return self.source.location(self.start)
        if self._map is None:
            raw = self.source.text[self.start : self.end]
            self._map = _align(self.text, _candidates(raw, self.style))
        offset = min(max(offset, 0), len(self.text) - 1)
        return self.source.location(self.start + self._map[offset])


def _candidates(raw: str, style: str) -> list[tuple[str | None, int]]:
    """The characters a scalar's source can contribute to its value, with their offsets.

    ``None`` stands for an escape sequence (it matches any one value character).
    Indentation and folded line breaks are still present; :func:`_align` skips them.
    """
    out: list[tuple[str | None, int]] = []
    n = len(raw)
    j = 0
    if style in ("|", ">"):
        while j < n and raw[j] not in _BREAKS:  # the header: indicators and a comment
            j += 1
        lines: list[tuple[int, int]] = []  # (start, end) of each content line
        while j < n:
            j += 2 if raw.startswith("\r\n", j) else 1
            start = j
            while j < n and raw[j] not in _BREAKS:
                j += 1
            lines.append((start, j))
        filled = [len(raw[s:e]) - len(raw[s:e].lstrip(" ")) for s, e in lines
                  if raw[s:e].strip(" \t")]
        indent = min(filled, default=0)
        for s, e in lines:
            k = s
            while k < e and k - s < indent and raw[k] == " ":
                k += 1
            out.extend((raw[i], i) for i in range(k, e))
            if e < n:
                out.append(("\n", e))
        return out
    if style in ("'", '"'):
        j, n = 1, max(n - 1, 1)
    while j < n:
        c = raw[j]
        if style == "'" and c == "'" and raw.startswith("''", j):
            out.append(("'", j))
            j += 2
        elif style == '"' and c == "\\" and j + 1 < n:
            nxt = raw[j + 1]
            if nxt in _BREAKS:  # an escaped line break contributes nothing
                j += 3 if raw.startswith("\r\n", j + 1) else 2
                while j < n and raw[j] in " \t":
                    j += 1
            else:
                out.append((None, j))
                j += {"x": 4, "u": 6, "U": 10}.get(nxt, 2)
        elif c in _BREAKS:
            out.append(("\n", j))
            j += 2 if raw.startswith("\r\n", j) else 1
        else:
            out.append((c, j))
            j += 1
    return out


def _align(value: str, candidates: list[tuple[str | None, int]]) -> list[int]:
    """Map each character of ``value`` to a source offset.

    Folding only ever drops whitespace and line breaks or turns a break into a
    space, so a greedy walk that skips unmatched source characters lines up every
    visible character exactly.
    """
    out: list[int] = []
    k = 0
    for v in value:
        while k < len(candidates):
            c, pos = candidates[k]
            k += 1
            if c is None or c == v or (c == "\n" and v == " "):
                out.append(pos)
                break
        else:
            out.append(out[-1] if out else 0)
    return out


@dataclass(frozen=True)
class YScalar:
    """A scalar with the location of its first character.

    ``position_of`` points inside the value, so an error in a ``when:`` string can
    name the exact line and column of the offending token.
    """

    value: ScalarValue
    location: Location
    _raw: _RawSpan | None = field(default=None, repr=False, compare=False)

    def position_of(self, offset: int) -> Location:
        """The file location of character ``offset`` of the parsed string value.

        Exact for single-line scalars (quotes and escapes accounted for), best
        effort through line folding; offsets past the end are clamped to the last
        character.
        """
        if self._raw is not None:
            return self._raw.position_of(offset)
        text = "" if self.value is None else str(self.value)
        offset = min(max(offset, 0), max(len(text) - 1, 0))
        loc = self.location
        return Location(loc.file, loc.line, loc.column + offset)


@dataclass(frozen=True)
class YEntry:
    """A mapping value with the location of its key (to point at unknown keys)."""

    key_location: Location
    node: YNode


@dataclass(frozen=True)
class YMap:
    """A mapping; ``entries`` keeps the file's order and string keys."""

    location: Location
    entries: Mapping[str, YEntry]


@dataclass(frozen=True)
class YSeq:
    """A sequence and its items."""

    location: Location
    items: tuple[YNode, ...]


YNode: TypeAlias = YScalar | YMap | YSeq


class _Abort(Exception):
    """Stops the build after a problem that makes going on pointless or unsafe."""


class _Frame:
    """A mapping or sequence whose end event has not been seen yet."""

    __slots__ = ("anchor", "entries", "is_map", "items", "key", "key_location", "key_state",
                 "location", "size")

    def __init__(self, is_map: bool, location: Location, anchor: str | None) -> None:
        self.is_map = is_map
        self.location = location
        self.anchor = anchor
        self.items: list[YNode] = []
        self.entries: dict[str, YEntry] = {}
        self.size = 1
        self.key = ""
        self.key_location = location
        self.key_state = _EXPECT_KEY


_EXPECT_KEY, _HAVE_KEY, _SKIP_VALUE = 0, 1, 2


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag


class _Builder:
    """Turns a PyYAML event stream into located nodes, collecting every issue."""

    def __init__(self, source: _Source) -> None:
        self.source = source
        self.file = source.file
        self.issues: list[Issue] = []
        self.anchors: dict[str, tuple[YNode, int]] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.total = 0
        self.repeated = 0  # nodes counted again through aliases
        self.documents = 0
        self.root: YNode | None = None

    def issue(self, location: Location, message: str, *, suggestion: str | None = None,
              related: Location | None = None) -> None:
        self.issues.append(Issue(location.file, location.line, location.column, message,
                                 suggestion, related))

    def mark(self, mark: Any) -> Location:
        return Location(self.file, mark.line + 1, mark.column + 1)

    def run(self) -> YNode | None:
        loader = _LOADER(self.source.text)  # what yaml.parse does, without its generator
        scalar, start, end = self.scalar, self.start, self.end
        try:
            while loader.check_event():
                event = loader.get_event()
                kind = type(event)
                if kind is yaml.ScalarEvent:
                    scalar(event)
                elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                    start(event, kind is yaml.MappingStartEvent)
                elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                    end()
                elif kind is yaml.AliasEvent:
                    self.alias(event)
                elif kind is yaml.DocumentStartEvent:
                    self.documents += 1
                    if self.documents > 1:
                        self.issue(self.mark(event.start_mark),
                                   "a policy file holds one YAML document; remove the second"
                                   " document (after '---') or move it to its own file")
                        raise _Abort
        finally:
            loader.dispose()
        return self.root

    def count(self, size: int, location: Location) -> None:
        self.total += size
        if self.total > MAX_NODES:
            self.issues.append(Issue(
                location.file, location.line, location.column,
                f"the document has more than {MAX_NODES} nodes ({self.repeated} of them"
                " repeated through aliases): that is the limit MAX_NODES, which stops alias"
                " bombs; split the policy into files, or raise"
                " followup_policy.loading.MAX_NODES (see docs/security.md)",
                message_zh=f"文档超过 {MAX_NODES} 个节点（其中 {self.repeated} 个经别名重复）："
                "这是防止别名炸弹的上限 MAX_NODES；请把政策拆成多个文件，或调高"
                " followup_policy.loading.MAX_NODES（见 docs/security.md）"))
            raise _Abort

    def check_tag(self, tag: str | None, location: Location, allowed: frozenset[str]) -> bool:
        """True if ``tag`` may be used here; otherwise record why not."""
        if tag is None or tag in allowed:
            return True
        if tag in _SCALAR_TAGS or tag in (_MAP, _SEQ):
            what = {_MAP: "a mapping", _SEQ: "a list"}.get(tag, "a single value")
            self.issue(location, f"the tag {_show_tag(tag)} marks {what}, "
                                 "but the node here is not one")
        else:
            self.issue(location, f"the tag {_show_tag(tag)} is not allowed: tags such as "
                                 f"!!python/object are not allowed; use only {_ALLOWED_TAGS}")
        return False

    def start(self, event: Any, is_map: bool) -> None:
        location = self.mark(event.start_mark)
        self.count(1, location)
        if len(self.stack) >= MAX_DEPTH:
            self.issue(location, f"the document is nested more than {MAX_DEPTH} levels deep")
            raise _Abort
        self.check_tag(event.tag, location, frozenset({_MAP if is_map else _SEQ}))
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(is_map, location, event.anchor))

    def end(self) -> None:
        frame = self.stack.pop()
        node: YNode
        if frame.is_map:
            node = YMap(frame.location, frame.entries)
        else:
            node = YSeq(frame.location, tuple(frame.items))
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (node, frame.size)
        self.attach(node, frame.size)

    def alias(self, event: Any) -> None:
        location = self.mark(event.start_mark)
        name = event.anchor
        found = self.anchors.get(name)
        if found is None:
            if name in self.open_anchors:
                self.issue(location, f"the alias *{name} is inside the node it refers to; "
                                     "recursive structures are not allowed")
            else:
                self.issue(location, f"unknown alias *{name}; define &{name} before using it",
                           suggestion=did_you_mean(name, self.anchors))
            found = (YScalar(None, location), 1)
        node, size = found
        self.repeated += size
        self.count(size, location)
        top = self.stack[-1] if self.stack else None
        if top is not None and top.is_map and top.key_state == _EXPECT_KEY:
            if isinstance(node, YScalar):
                text = node._raw.text if node._raw is not None else str(node.value)
                self.take_key(top, text, location, plain=False, size=size)
                return
            self.issue(location, "a mapping key must be a single value, "
                                 "not a mapping or a list")
            top.key_state = _SKIP_VALUE
            top.size += size
            return
        self.attach(node, size)

    def scalar(self, event: Any) -> None:
        source = self.source
        start, end = event.start_mark.index, event.end_mark.index
        mark = self.mark(event.start_mark)  # where the tag is, and the value when untagged
        tag = event.tag
        anchor = event.anchor
        if anchor is not None or tag is not None:
            text = source.text
            while start < end and text[start] in "&!":
                match = _PROPERTY_RE.match(text, start, end)
                if match is None or match.end() == start:
                    break
                start = match.end()
            start = min(start, end)
            location = source.location(start)
        else:
            location = mark
        self.total += 1
        if self.total > MAX_NODES:
            self.count(0, location)
        style = event.style or ""
        stack = self.stack
        top = stack[-1] if stack else None
        if top is not None and top.is_map and top.key_state == _EXPECT_KEY:
            if tag is not None:
                self.check_tag(tag, mark, _SCALAR_TAGS)
            if anchor is not None:
                raw = _RawSpan(source, start, end, style, event.value)
                self.anchors[anchor] = (YScalar(event.value, location, raw), 1)
            self.take_key(top, event.value, location, plain=not style and tag is None,
                          size=1)
            return
        raw = _RawSpan(source, start, end, style, event.value)
        if tag is None and not style:
            value = self.resolve_plain(event.value, location)
        else:
            value = self.resolve(event, style, mark, location)
        node = YScalar(value, location, raw)
        if anchor is not None:
            self.anchors[anchor] = (node, 1)
        self.attach(node, 1)

    def resolve(self, event: Any, style: str, tag_location: Location,
                location: Location) -> ScalarValue:
        """The value of a scalar: core-schema resolution for plain ones, else its tag."""
        text: str = event.value
        tag: str | None = event.tag
        if tag is None:
            return self.resolve_plain(text, location) if not style else text
        if not self.check_tag(tag, tag_location, _SCALAR_TAGS) or tag == _STR:
            return text
        value = self.resolve_plain(text, location)
        if (tag == _NULL and value is None) or (tag == _BOOL and isinstance(value, bool)):
            return value
        if not isinstance(value, bool) and isinstance(value, int | Decimal):
            if tag == _INT and isinstance(value, int):
                return value
            if tag == _FLOAT:
                return Decimal(value)
        self.issue(location, f"'{text}' does not fit its tag {_show_tag(tag)}")
        return text

    def resolve_plain(self, text: str, location: Location) -> ScalarValue:
        """YAML 1.2 core schema, plus exact decimals and ISO dates (``yes`` stays a string)."""
        if text in _NULLS:
            return None
        first = text[0]
        if first in "tTfF":
            if text in _TRUES:
                return True
            if text in _FALSES:
                return False
            return text
        if first not in "0123456789+-.":
            return text
        if _INT_RE.match(text):
            if len(text) > _MAX_INT_DIGITS:
                self.issue(location, "this number is too long")
                return text
            return int(text)
        if _FLOAT_RE.match(text):
            number = Decimal(text)
            if number and abs(number.adjusted()) > _MAX_EXPONENT:
                self.issue(location, f"'{text}' is out of range for a policy number")
                return text
            return number
        if _SPECIAL_FLOAT_RE.match(text):
            self.issue(location, f"'{text}' is not allowed: numbers must be finite")
            return text
        match = _DATE_RE.match(text)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError as error:
                self.issue(location, f"'{text}' is not a valid date: {error}")
                return text
        if _TIMESTAMP_RE.match(text):
            self.issue(location, f"'{text}' has a time of day; use a date YYYY-MM-DD")
        return text

    def take_key(self, top: _Frame, text: str, location: Location, *, plain: bool,
                 size: int) -> None:
        top.size += size
        if plain and text == "<<":
            self.issue(location, "merge keys are not supported; repeat the keys")
            top.key_state = _SKIP_VALUE
            return
        first = top.entries.get(text)
        if first is not None:
            where = first.key_location
            at = f"line {where.line}"
            if where.line == location.line:
                at += f", column {where.column}"
            self.issue(location, f"duplicate key '{text}' (first at {at})",
                       related=where)
            top.key_state = _SKIP_VALUE
            return
        top.key = text
        top.key_location = location
        top.key_state = _HAVE_KEY

    def attach(self, node: YNode, size: int) -> None:
        if not self.stack:
            self.root = node
            return
        top = self.stack[-1]
        top.size += size
        if not top.is_map:
            top.items.append(node)
        elif top.key_state == _EXPECT_KEY:
            self.issue(node.location, "a mapping key must be a single value, "
                                      "not a mapping or a list")
            top.key_state = _SKIP_VALUE
        else:
            if top.key_state == _HAVE_KEY:
                top.entries[top.key] = YEntry(top.key_location, node)
            top.key_state = _EXPECT_KEY


def _decode(data: bytes, file: str) -> str:
    """UTF-8 (with or without a BOM); every undecodable line is reported with its column."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="surrogateescape")
    source = _Source(text, file)
    issues: list[Issue] = []
    last_line = 0
    for match in _BAD_BYTE_RE.finditer(text):
        loc = source.location(match.start())
        if loc.line == last_line:
            continue
        last_line = loc.line
        byte = ord(match.group()) - 0xDC00
        issues.append(Issue(file, loc.line, loc.column,
                            f"the file is not valid UTF-8 (byte 0x{byte:02X}); save it as "
                            "UTF-8 (it may be in GBK or another legacy encoding)"))
        if len(issues) >= _MAX_ENCODING_ISSUES:
            break
    raise PolicyLoadError(issues)


def _check_characters(source: _Source) -> None:
    """Refuse control characters up front, with locations (the parsers would stop at one)."""
    issues: list[Issue] = []
    last_line = 0
    for match in _NON_PRINTABLE_RE.finditer(source.text):
        loc = source.location(match.start())
        if loc.line == last_line:
            continue
        last_line = loc.line
        issues.append(Issue(loc.file, loc.line, loc.column,
                            f"the character U+{ord(match.group()):04X} is not allowed in YAML; "
                            "remove it"))
        if len(issues) >= _MAX_ENCODING_ISSUES:
            break
    if issues:
        raise PolicyLoadError(issues)


def _syntax_issue(error: yaml.YAMLError, source: _Source) -> Issue:
    """A PyYAML error as a located issue: callers never see ``yaml.*`` exceptions."""
    file = source.file
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return Issue(file, 1, 1, f"YAML syntax error: {problem}")
    message = f"YAML syntax error: {problem}"
    context = getattr(error, "context", None)
    context_mark = getattr(error, "context_mark", None)
    related = None
    if context:
        if context_mark is not None and (context_mark.line, context_mark.column) != (
            mark.line, mark.column
        ):
            related = Location(file, context_mark.line + 1, context_mark.column + 1)
            context += f" that starts at line {related.line}, column {related.column}"
        message += f" ({context})"
    if source.text[mark.index : mark.index + 1] == "\t":
        message += "; indent with spaces, not tabs"
    return Issue(file, mark.line + 1, mark.column + 1, message, related=related)


def parse_yaml(text: str | bytes, file: str, *, slips: bool = True) -> YNode:
    """Parse one YAML document into located nodes.

    With ``slips`` (the default, for files people type) input-method slips such as
    ``window：30 days`` are reported where they are (see :mod:`.slips`); without it,
    any YAML that PyYAML accepts is read, e.g. data that legitimately holds ``：``.

    Raises:
        PolicyLoadError: with every problem found (syntax, duplicate keys, tags,
            invalid dates, limits...), each at its line and column.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise PolicyLoadError([_oversize(file, len(text))])
        text = _decode(text, file)
    elif len(text) > MAX_FILE_BYTES // 4:
        size = len(text.encode("utf-8", errors="surrogatepass"))
        if size > MAX_FILE_BYTES:
            raise PolicyLoadError([_oversize(file, size)])
    text = text.removeprefix("\ufeff")
    source = _Source(text, file)
    _check_characters(source)
    found = find_slips(text) if slips else []
    if found:  # the parser would report these as jargon at the wrong line, or not at all
        raise PolicyLoadError([slip.issue(file) for slip in found])
    builder = _Builder(source)
    root: YNode | None = None
    try:
        root = builder.run()
    except _Abort:
        pass
    except yaml.YAMLError as error:
        issue = _syntax_issue(error, source)
        cause = explain_syntax_error(text, issue.line) if slips else None
        builder.issues.append(issue if cause is None else cause.issue(file))
    if not builder.issues and (root is None or _is_empty(root)):
        builder.issues.append(Issue(file, 1, 1, "the file is empty"))
    if builder.issues or root is None:
        raise PolicyLoadError(builder.issues)
    return root


def _is_empty(root: YNode) -> bool:
    """A document that is only ``---`` (or comments) holds an empty plain scalar."""
    return (isinstance(root, YScalar) and root.value is None and root._raw is not None
            and root._raw.text == "" and root._raw.style == "")


def check_policy_path(file: str) -> None:
    """Refuse a path no file system can hold (a NUL character) as a load error, not the
    ``ValueError`` the ``os`` functions raise."""
    if "\0" in file:
        shown = file.replace("\0", "\\0")
        raise PolicyLoadError([Issue(shown, 1, 1, "cannot read the file: its name contains"
                                                  " a NUL character")])


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def _oversize(file: str, size: int) -> Issue:
    return Issue(file, 1, 1, f"the file is {size} bytes; a policy file may be at most "
                             f"{MAX_FILE_BYTES} bytes (the limit MAX_FILE_BYTES; raise"
                             " followup_policy.loading.MAX_FILE_BYTES, see docs/security.md)",
                 message_zh=f"文件有 {size} 字节；政策文件最多 {MAX_FILE_BYTES} 字节（上限"
                 " MAX_FILE_BYTES；可调高 followup_policy.loading.MAX_FILE_BYTES，见"
                 " docs/security.md）")


def read_yaml_file(path: str | os.PathLike[str]) -> YNode:
    """Read and parse a policy file, refusing an oversized one before reading it.

    The file is named in locations exactly as ``path`` was given.

    Raises:
        PolicyLoadError: the file is too big, unreadable, not UTF-8 or not valid YAML.
    """
    file = os.fspath(path)
    check_policy_path(file)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise PolicyLoadError([Issue(file, 1, 1, "cannot read the file: it must be"
                                                     " a regular file (this is a "
                                                     f"{_file_kind(info.st_mode)})")])
        if info.st_size > MAX_FILE_BYTES:
            raise PolicyLoadError([_oversize(file, info.st_size)])
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # a file may grow, or lie about its size
    except OSError as error:
        reason = error.strerror or str(error)
        raise PolicyLoadError([Issue(file, 1, 1, f"cannot read the file: {reason}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise PolicyLoadError([_oversize(file, len(data))])
    return parse_yaml(data, file)


def to_plain(node: YNode) -> Any:
    """Plain dicts, lists and scalars, for pydantic validation."""
    if isinstance(node, YScalar):
        return node.value
    if isinstance(node, YMap):
        return {key: to_plain(entry.node) for key, entry in node.entries.items()}
    return [to_plain(item) for item in node.items]


def _walk(root: YNode, path: Sequence[str | int]) -> tuple[YNode, YEntry | None, bool]:
    """The deepest node along ``path``, the entry that holds it, and whether path ended."""
    node, entry = root, None
    for step in path:
        if isinstance(node, YMap) and isinstance(step, str) and step in node.entries:
            entry = node.entries[step]
            node = entry.node
        elif (isinstance(node, YSeq) and isinstance(step, int) and not isinstance(step, bool)
              and 0 <= step < len(node.items)):
            entry = None
            node = node.items[step]
        else:
            return node, entry, False
    return node, entry, True


def node_at(root: YNode, path: Sequence[str | int]) -> YNode | None:
    """The node at a path like ``("timing_nodes", 2, "when")``, or None if it is absent.

    >>> node_at(parse_yaml("a: [x, y]", "f"), ("a", 1))
    YScalar(value='y', location=Location(file='f', line=1, column=8))
    """
    node, _, complete = _walk(root, path)
    return node if complete else None


def location_of(root: YNode, path: Sequence[str | int], *, key: bool = False) -> Location:
    """Where the node at ``path`` is (``key=True``: its mapping key).

    If the path does not fully exist, the location of the deepest node that does,
    so an error about a missing field points at the mapping that lacks it.
    """
    node, entry, complete = _walk(root, path)
    if complete and key and entry is not None:
        return entry.key_location
    return node.location


def yaml_files_under(folder: str | os.PathLike[str]) -> list[Path]:
    """Every ``*.yaml`` / ``*.yml`` file below ``folder``, in path order."""
    return sorted(p for p in Path(folder).rglob("*")
                  if p.suffix in (".yaml", ".yml") and p.is_file())
