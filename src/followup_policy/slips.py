"""Input-method slips (输入法误输入) in policy YAML, found on the line where they are.

Compliance staff type policies with a Chinese input method switched on, so the same
few mistakes recur: a full-width colon ``window：30 days``, no space after the colon,
a full-width space (U+3000) as indentation, ``－`` as a list dash, ``，`` between flow
items, ``＃`` for a comment. YAML parsers report these as jargon at the wrong line
("could not find expected ':'" on the *next* line), or not at all (``[是，否]`` is
one value). This module looks at the text itself and names the slip where it is,
with the fix in plain words, in English and Chinese.

:func:`find_slips` reports the slips that are never legitimate in a policy; the loader
runs it before parsing. :func:`explain_syntax_error` is used only once the YAML parser
has failed, for mistakes that are legitimate text elsewhere (an indentation one space
off), to name the line the parser should have named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from .errors import Issue

__all__ = ["Slip", "explain_syntax_error", "find_slips"]


@dataclass(frozen=True, slots=True)
class Slip:
    """One slip: where (1-based line and column) and what to do, in both languages."""

    line: int
    column: int
    message: str
    message_zh: str

    def issue(self, file: str) -> Issue:
        return Issue(file, self.line, self.column, self.message, message_zh=self.message_zh)


_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\']|\'\')*\'')
_BLOCK_HEADER_RE = re.compile(r"[|>][+-]?[0-9]?\s*(?:#.*)?$")
_INDENT_RE = re.compile(r"[ \u3000]*")
_KEY_CHARS = r"[^\s:：#'\"{}\[\],，]+"
_BLOCK_FULLWIDTH_KEY_RE = re.compile(rf"((?:[-－—]\s+)*)({_KEY_CHARS})：")
_FLOW_FULLWIDTH_KEY_RE = re.compile(rf"[{{,，]\s*({_KEY_CHARS})：")
_ITEM_DASH_RE = re.compile(r"[－—–・•](?=[\s\u3000])")
_FULLWIDTH_HASH_RE = re.compile(r"(?<=[\s\u3000])＃")
_GLUED_DASH_RE = re.compile(rf"-({_KEY_CHARS}):")
_COMMENT_RE = re.compile(r"(?:^|(?<=[\s\u3000]))#.*")
_NEAR = 2  # a misindented line this far above a syntax error is taken as its cause


@cache
def _format_keys() -> frozenset[str]:
    """Every key the policy format knows, from the schema models (for ``key:value``)."""
    from pydantic import BaseModel

    from . import schema

    keys: set[str] = set()
    for value in vars(schema).values():
        if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel:
            for name, info in value.model_fields.items():
                keys.add(info.alias or name)
    keys.update(("format", "policy", "fields", "parameters", "checklists", "timing_nodes",
                 "risk_tiers", "frequency", "rules"))
    return frozenset(keys)


def _no_space_re() -> re.Pattern[str]:
    names = "|".join(sorted(map(re.escape, _format_keys()), key=len, reverse=True))
    return re.compile(rf"(?:^|(?<=[{{,\s-]))({names}):(?=[^\s:])")


def _masked(line: str) -> str:
    """The line without its comment, quoted strings blanked out (same length)."""
    if '"' in line or "'" in line:
        line = _QUOTED_RE.sub(lambda m: " " * len(m.group()), line)
    return _COMMENT_RE.sub("", line) if "#" in line else line


def _content_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, line, :func:`_masked` line) of every line outside block scalars
    (``|`` and ``>`` bodies)."""
    block_indent: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        indent = len(_INDENT_RE.match(line).group())  # type: ignore[union-attr]
        if block_indent is not None:
            if indent > block_indent or not line.strip(" \u3000\t"):
                continue
            block_indent = None
        masked = _masked(line)
        if (("|" in masked or ">" in masked) and ":" in line
                and _BLOCK_HEADER_RE.search(masked.rstrip())):
            block_indent = indent
        yield number, line, masked


_SUSPECT_RE = re.compile("[\u3000－—–・•：，＃]|:[^\\s:]|^[ \u3000]*-\\S")
"""A cheap test every slip passes on the masked line: a character only a slip uses, a
colon glued to what follows, or a dash glued to a list item. Most lines fail it and
skip the full checks of :func:`_line_slips`."""


def find_slips(text: str) -> list[Slip]:
    """The slips in ``text`` that are never legitimate policy YAML, in line order."""
    slips: list[Slip] = []
    no_space = _no_space_re()
    suspect = _SUSPECT_RE.search
    for number, line, masked in _content_lines(text):
        if suspect(masked):
            slips.extend(_line_slips(number, line, masked, no_space))
    return slips


def _line_slips(number: int, line: str, masked: str,
                no_space: re.Pattern[str]) -> list[Slip]:
    indent = _INDENT_RE.match(line).group()  # type: ignore[union-attr]
    body = masked[len(indent):]
    slips: list[Slip] = []
    if "\u3000" in indent:
        slips.append(Slip(number, indent.find("\u3000") + 1,
                          "a full-width space (U+3000) is used for indentation; indent "
                          "with ordinary spaces",
                          "缩进里有全角空格（U+3000）；请改用半角空格缩进"))
        return slips  # the rest of the line is shifted; one message is enough
    glued = _GLUED_DASH_RE.match(body)
    if glued and glued.group(1) in _format_keys():
        slips.append(Slip(number, len(indent) + 2,
                          f"no space after the list dash in '-{glued.group(1)}:'; write "
                          f"'- {glued.group(1)}: ...'",
                          f"列表符号“-”后面缺少空格；请写成“- {glued.group(1)}: ...”"))
    dash = _ITEM_DASH_RE.match(body)
    if dash:
        slips.append(Slip(number, len(indent) + 1,
                          f"'{dash.group()}' is not a list dash; write '-' (ASCII hyphen) "
                          "followed by a space",
                          f"“{dash.group()}”不是列表符号；请写半角减号“-”，后面加一个空格"))
    key = _BLOCK_FULLWIDTH_KEY_RE.match(body)
    if key:
        column = len(indent) + key.end() - 1 + 1
        slips.append(_fullwidth_colon(number, column, key.group(2)))
    for flow in _FLOW_FULLWIDTH_KEY_RE.finditer(masked):
        slips.append(_fullwidth_colon(number, flow.end(), flow.group(1)))
    for match in no_space.finditer(masked):
        column = match.end(1) + 1
        slips.append(Slip(number, column,
                          f"no space after '{match.group(1)}:'; YAML needs a space after "
                          f"the colon: '{match.group(1)}: ...'",
                          f"“{match.group(1)}:”后面缺少空格；YAML 要求冒号后加一个空格："
                          f"“{match.group(1)}: ...”"))
    colon_space = masked.find(":\u3000")
    if colon_space >= 0:
        slips.append(Slip(number, colon_space + 2,
                          "a full-width space (U+3000) follows ':'; use an ordinary space",
                          "冒号后面是全角空格（U+3000）；请改用半角空格"))
    slips.extend(_flow_commas(number, masked))
    hashes = _FULLWIDTH_HASH_RE.search(masked)
    if hashes:
        slips.append(Slip(number, hashes.start() + 1,
                          "'＃' (full-width) does not start a comment; write '#' (ASCII)",
                          "全角“＃”不能开始注释；请写半角“#”"))
    return slips


def _fullwidth_colon(number: int, column: int, key: str) -> Slip:
    return Slip(number, column,
                f"full-width colon '：' after '{key}'; write an ASCII colon and a space: "
                f"'{key}: ...'",
                f"“{key}”后面是全角冒号“：”；请改成半角冒号加空格：“{key}: ...”")


def _flow_commas(number: int, masked: str) -> Iterator[Slip]:
    """``，`` between items of ``[...]``, or before a known key inside ``{...}``."""
    depth: list[str] = []
    keys = _format_keys()
    for index, char in enumerate(masked):
        if char in "[{":
            depth.append(char)
        elif char in "]}" and depth:
            depth.pop()
        elif char == "，" and depth:
            after = re.match(rf"\s*({_KEY_CHARS})\s*[:：]", masked[index + 1:])
            if depth[-1] == "[" or (after is not None and after.group(1) in keys):
                yield Slip(number, index + 1,
                           "full-width comma '，' between items; separate items with an "
                           "ASCII comma ','",
                           "条目之间用了全角逗号“，”；请改用半角逗号“,”")


def explain_syntax_error(text: str, error_line: int) -> Slip | None:
    """A likely cause of a YAML syntax error reported at ``error_line``, if one is found.

    Only looks at indentation, which the parser reports a line late or at a
    misleading column: the first line at or before the error whose indentation matches
    neither its previous sibling, nor a child position, nor any enclosing level.
    """
    levels: list[int] = [0]  # indentation of the open block levels
    previous: tuple[int, bool] | None = None  # (indent of content, opens a block)
    flow_depth = 0  # lines inside a multi-line [...] or {...} may be indented freely
    for number, line, masked_line in _content_lines(text):
        if number > error_line:
            break
        masked = masked_line.rstrip()
        stripped = masked.strip()
        if not stripped:
            continue
        inside_flow = flow_depth > 0
        flow_depth = max(0, flow_depth + sum(masked.count(c) for c in "[{")
                         - sum(masked.count(c) for c in "]}"))
        if inside_flow:
            continue
        indent = len(line) - len(line.lstrip(" "))
        content = indent + _dash_width(stripped)
        opens = stripped.endswith(":") or stripped in ("-",)
        if previous is not None:
            _, prev_opens = previous
            if prev_opens and indent > levels[-1]:
                levels.append(indent)
            else:
                nearest = levels[-1]
                while levels and indent < levels[-1]:
                    nearest = levels.pop()
                if (not levels or indent != levels[-1]) and number >= error_line - _NEAR:
                    above = levels[-1] if levels else 0
                    expected = min((nearest, above), key=lambda level: abs(level - indent))
                    return Slip(number, indent + 1,
                                f"this line is indented by {indent} spaces, but the lines "
                                f"it belongs with are indented by {expected}; line them up",
                                f"这一行缩进了 {indent} 个空格，而同一层的其他行缩进 "
                                f"{expected} 个空格；请对齐")
            if content != indent and content > levels[-1]:
                levels.append(content)
        previous = (content, opens)
    return None


def _dash_width(stripped: str) -> int:
    """How far ``- - key`` moves the content of a list item to the right."""
    width = 0
    while stripped.startswith("- ") or stripped == "-":
        rest = stripped[2:]
        width += 2 + len(rest) - len(rest.lstrip(" "))
        stripped = rest.lstrip(" ")
    return width
