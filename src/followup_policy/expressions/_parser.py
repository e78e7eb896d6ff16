"""Tokenizer and Pratt parser: condition text to an untyped syntax tree.

Hand-written rather than generated so every error is a :class:`ConditionError` with
the offset of the offending token, and so Python constructs that policy authors may
try (attribute access, indexing, lambdas, comprehensions, keyword arguments) get a
message saying they are not supported instead of a bare "syntax error".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, NoReturn

from ..errors import ConditionError
from ._ast import (
    Binary,
    BoolOp,
    Call,
    Compare,
    ListExpr,
    Literal,
    Name,
    Node,
    Op,
    Param,
    Unary,
    children,
)

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "Token", "parse", "tokenize"]

MAX_LENGTH = 4000
"""Longest condition text accepted; longer text is a policy smell and a DoS risk."""

MAX_DEPTH = 64
"""Deepest syntax tree accepted, so later stages can recurse without hitting Python's limit."""

_MAX_NESTING = 2 * MAX_DEPTH  # parser recursion; parentheses alone nest without adding depth
_MAX_NUMBER_DIGITS = 100

_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None}
_COMPARE_OPS = frozenset({"==", "!=", "<", "<=", ">", ">="})

# Binding powers: higher binds tighter.
_OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _NEGATE = 1, 2, 3, 4, 5, 6, 7
_ARITH_BP = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "%": _PRODUCT}

_WORD_ERRORS: dict[str, tuple[str, str | None]] = {
    "is": ("'is' is not supported in conditions; use == to compare,"
           " or is_set(x) to test for null", None),
    "if": ("conditional expressions (x if c else y) are not supported in conditions", None),
    "else": ("conditional expressions (x if c else y) are not supported in conditions", None),
    "for": ("comprehensions are not supported in conditions", None),
    "lambda": ("lambda is not supported in conditions", None),
    "True": ("constants are lowercase in conditions", "true"),
    "False": ("constants are lowercase in conditions", "false"),
    "None": ("constants are lowercase in conditions", "null"),
}

_TWO_CHAR_OPS = frozenset({"==", "!=", "<=", ">="})
_ONE_CHAR_OPS = frozenset("<>+-*/%()[],.=")
_BAD_OPS: dict[str, str] = {
    "**": "operator '**' is not supported in conditions",
    "//": "operator '//' is not supported in conditions; '/' divides exactly",
    "&&": "use 'and' instead of '&&'",
    "||": "use 'or' instead of '||'",
    "&": "use 'and' instead of '&'",
    "|": "use 'or' instead of '|'",
    "!": "use 'not' instead of '!'",
    "{": "braces are not supported in conditions; write a list as [a, b]",
    "}": "braces are not supported in conditions; write a list as [a, b]",
    ":": "':' is not supported in conditions (no slices, dicts or lambdas)",
    "#": "comments are not supported in conditions",
}
_FULL_WIDTH = {
    "（": "(", "）": ")", "，": ",", "＝": "=", "＜": "<", "＞": ">", "！": "!",
    "［": "[", "］": "]", "“": '"', "”": '"', "‘": "'", "’": "'", "．": ".",
    "＋": "+", "－": "-", "＊": "*", "／": "/",
}
_MATH_SIGNS = {"≥": ">=", "≤": "<=", "≠": "!=", "≧": ">=", "≦": "<=", "×": "*", "÷": "/"}
_CHINESE_OPERATORS = {
    "且": "and", "并且": "and", "和": "and", "与": "and", "或": "or", "或者": "or",
    "大于": ">", "小于": "<", "等于": "==", "不等于": "!=", "大于等于": ">=", "小于等于": "<=",
}
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token; ``kind`` is int, decimal, string, name, op, error or eof."""

    kind: str
    text: str
    offset: int
    value: Any = None

    @property
    def length(self) -> int:
        return len(self.text)

    @property
    def end(self) -> int:
        return self.offset + len(self.text)

    def is_op(self, text: str) -> bool:
        return self.kind == "op" and self.text == text

    def is_word(self, text: str) -> bool:
        return self.kind == "name" and self.text == text


def _show_char(char: str) -> str:
    return f"'{char}'" if char.isprintable() else f"U+{ord(char):04X}"


def _is_digit(char: str) -> bool:
    # str.isdigit() also accepts '²' and '٣', which int() and Decimal() reject or misread.
    return "0" <= char <= "9"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``eof`` token at ``len(text)``.

    A lexical error ends the list with an ``error`` token (its ``value`` is the
    :class:`ConditionError`) instead of raising, so that the parser, reaching it, can
    first report a better message about what came before (``lambda x: x`` is about
    the lambda, not the colon).
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    try:
        while i < n:
            char = text[i]
            if char.isspace():
                i += 1
                continue
            if _is_digit(char):
                token = _number(text, i)
            elif char.isalpha() or char == "_":
                j = i + 1
                while j < n and (text[j].isalnum() or text[j] == "_"):
                    j += 1
                token = Token("name", text[i:j], i)
            elif char in "\"'":
                token = _string(text, i)
            else:
                token = _operator(text, i)
            tokens.append(token)
            i = token.end
    except ConditionError as error:
        tokens.append(Token("error", text[error.offset:error.offset + error.length],
                            error.offset, error))
        return tokens
    tokens.append(Token("eof", "", n))
    return tokens


def _number(text: str, start: int) -> Token:
    n = len(text)
    j = start
    while j < n and _is_digit(text[j]):
        j += 1
    kind = "int"
    if j < n and text[j] == ".":
        if j + 1 < n and _is_digit(text[j + 1]):
            kind = "decimal"
            j += 1
            while j < n and _is_digit(text[j]):
                j += 1
        else:
            raise ConditionError("a decimal needs digits after the point, e.g. 0.5",
                                 start, j + 1 - start)
    if j < n and (text[j].isalnum() or text[j] in "_."):
        k = j
        while k < n and (text[k].isalnum() or text[k] in "_."):
            k += 1
        raise ConditionError(f"'{text[start:k]}' is not a number; write digits with an"
                             " optional decimal point, e.g. 12 or 0.25", start, k - start)
    literal = text[start:j]
    if j - start > _MAX_NUMBER_DIGITS:
        raise ConditionError(f"number is too long (at most {_MAX_NUMBER_DIGITS} digits)",
                             start, j - start)
    value: int | Decimal = int(literal) if kind == "int" else Decimal(literal)
    return Token(kind, literal, start, value)


def _string(text: str, start: int) -> Token:
    quote = text[start]
    parts: list[str] = []
    n = len(text)
    j = start + 1
    while j < n:
        char = text[j]
        if char == quote:
            return Token("string", text[start:j + 1], start, "".join(parts))
        if char == "\\":
            if j + 1 >= n:
                break
            escaped = _ESCAPES.get(text[j + 1])
            if escaped is None:
                raise ConditionError(
                    f"unsupported escape '\\{text[j + 1]}' in string;"
                    " use \\\" \\' \\\\ \\n or \\t", j, 2)
            parts.append(escaped)
            j += 2
        else:
            parts.append(char)
            j += 1
    raise ConditionError("string is never closed", start, n - start)


def _operator(text: str, start: int) -> Token:
    pair = text[start:start + 2]
    if pair in _TWO_CHAR_OPS:
        return Token("op", pair, start)
    if pair in _BAD_OPS:
        raise ConditionError(_BAD_OPS[pair], start, 2)
    char = text[start]
    if char in _ONE_CHAR_OPS:
        return Token("op", char, start)
    if char in _BAD_OPS:
        raise ConditionError(_BAD_OPS[char], start, 1)
    if char in _MATH_SIGNS:
        raise ConditionError(f"{_show_char(char)} is not an operator here; write"
                             f" '{_MATH_SIGNS[char]}'", start, 1)
    if char in _FULL_WIDTH:
        raise ConditionError(f"full-width {_show_char(char)} is not allowed;"
                             f" use '{_FULL_WIDTH[char]}'", start, 1, _FULL_WIDTH[char])
    raise ConditionError(f"unexpected character {_show_char(char)}", start, 1)


def _describe(token: Token) -> str:
    if token.kind == "eof":
        return "the end of the condition"
    shown = token.text if len(token.text) <= 20 else token.text[:17] + "..."
    return f"'{shown}'"


class _Parser:
    """Pratt parser over a token list; one instance parses one condition."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0
        self.nesting = 0

    def peek(self, ahead: int = 0) -> Token:
        """The token ``ahead`` of the current one; reaching a lexical error raises it."""
        token = self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]
        if token.kind == "error" and ahead == 0:
            raise token.value
        return token

    def advance(self) -> Token:
        token = self.peek()
        if token.kind != "eof":
            self.pos += 1
        return token

    @staticmethod
    def fail(message: str, token: Token, suggestion: str | None = None) -> NoReturn:
        raise ConditionError(message, token.offset, token.length, suggestion)

    # -- expressions ------------------------------------------------------------------------

    def expr(self, min_bp: int) -> Node:
        """An expression whose operators all bind at least as tightly as ``min_bp``."""
        self.nesting += 1
        if self.nesting > _MAX_NESTING:
            self.fail("condition is nested too deeply; split it into simpler conditions",
                      self.peek())
        left = self.prefix(min_bp)
        while True:
            token = self.peek()
            op, bp = self.infix(token)
            if op is None or bp < min_bp:
                break
            if op in ("and", "or"):
                left = self.bool_chain(left, op, bp)
            elif bp == _COMPARE:
                left = self.compare_chain(left)
            else:
                self.advance()
                right = self.expr(bp + 1)
                left = Binary(left.offset, right.end - left.offset, op, token.offset,
                              left, right)
        self.nesting -= 1
        return left

    def infix(self, token: Token) -> tuple[str | None, int]:
        """The infix operator ``token`` starts and its binding power; errors for misuse."""
        if token.kind == "op":
            if token.text in _COMPARE_OPS:
                return token.text, _COMPARE
            if token.text in _ARITH_BP:
                return token.text, _ARITH_BP[token.text]
            if token.text == ".":
                self.fail("attribute access is not supported in conditions"
                          " (only params.NAME)", token)
            if token.text == "[":
                self.fail("indexing (x[...]) is not supported in conditions", token)
            if token.text == "(":
                self.fail("only named functions can be called, e.g. len(x)", token)
            if token.text == "=":
                self.fail("use '==' to compare", token, "==")
            return None, 0
        if token.kind == "name":
            if token.text == "and":
                return "and", _AND
            if token.text == "or":
                return "or", _OR
            if token.text == "in":
                return "in", _COMPARE
            if token.text == "not":
                if self.peek(1).is_word("in"):
                    return "not in", _COMPARE
                self.fail("'not' here must be followed by 'in'", token)
            if token.text in _WORD_ERRORS:
                message, suggestion = _WORD_ERRORS[token.text]
                self.fail(message, token, suggestion)
        return None, 0

    def bool_chain(self, first: Node, op: str, bp: int) -> Node:
        operands = [first]
        while self.peek().is_word(op):
            self.advance()
            operands.append(self.expr(bp + 1))
        last = operands[-1]
        return BoolOp(first.offset, last.end - first.offset, op, tuple(operands))

    def compare_chain(self, first: Node) -> Node:
        operands = [first]
        ops: list[Op] = []
        while True:
            token = self.peek()
            op, bp = self.infix(token)
            if bp != _COMPARE or op is None:
                break
            self.advance()
            end = token.end
            if op == "not in":
                end = self.advance().end
            ops.append(Op(op, token.offset, end - token.offset))
            operands.append(self.expr(_COMPARE + 1))
        last = operands[-1]
        return Compare(first.offset, last.end - first.offset, tuple(operands), tuple(ops))

    def prefix(self, min_bp: int) -> Node:
        """A value, a parenthesised expression, a list, a call or a unary operator."""
        token = self.advance()
        if token.kind in ("int", "decimal", "string"):
            return Literal(token.offset, token.length, token.value)
        if token.kind == "name":
            return self.word(token, min_bp)
        if token.kind == "eof":
            raise ConditionError("the condition ends too early; expected a value",
                                 token.offset, 0)
        if token.text == "(":
            return self.group(token)
        if token.text == "[":
            return self.list_literal(token)
        if token.text == "-":
            operand = self.expr(_NEGATE)
            return Unary(token.offset, operand.end - token.offset, "-", operand)
        if token.text == "=":
            self.fail("use '==' to compare", token, "==")
        if token.text in (")", "]"):
            self.fail(f"unmatched '{token.text}'", token)
        self.fail(f"expected a value, got {_describe(token)}", token)

    def word(self, token: Token, min_bp: int) -> Node:
        text = token.text
        if text in _CONSTANTS:
            return Literal(token.offset, token.length, _CONSTANTS[text])
        if text == "not":
            if min_bp > _NOT:
                self.fail("put 'not ...' in parentheses here", token)
            operand = self.expr(_NOT)
            return Unary(token.offset, operand.end - token.offset, "not", operand)
        if text in _WORD_ERRORS:
            message, suggestion = _WORD_ERRORS[text]
            self.fail(message, token, suggestion)
        if text in _KEYWORDS:
            self.fail(f"expected a value, got '{text}'", token)
        following = self.peek()
        if following.is_op("("):
            return self.call(token)
        if text == "params" and following.is_op("."):
            self.advance()
            name = self.advance()
            if name.kind != "name" or name.text in _KEYWORDS:
                self.fail("expected a parameter name after 'params.'", name)
            return Param(token.offset, name.end - token.offset, name.text, name.offset)
        return Name(token.offset, token.length, text)

    def group(self, opening: Token) -> Node:
        if self.peek().kind == "eof":
            self.fail("'(' is never closed", opening)
        inner = self.expr(0)
        closing = self.peek()
        if closing.is_op(")"):
            self.advance()
            return replace(inner, offset=opening.offset, length=closing.end - opening.offset)
        if closing.is_op(","):
            self.fail("tuples are not supported in conditions; write a list as [a, b]", closing)
        if closing.is_word("for"):
            self.fail(_WORD_ERRORS["for"][0], closing)
        if closing.kind == "eof":
            self.fail("'(' is never closed", opening)
        self.fail(f"expected ')' or an operator, got {_describe(closing)}", closing)

    def list_literal(self, opening: Token) -> Node:
        items: list[Node] = []
        while True:
            if self.peek().is_op("]"):
                break
            if self.peek().kind == "eof":
                self.unexpected_in_sequence(opening, self.peek(), "]")
            items.append(self.expr(0))
            following = self.peek()
            if following.is_op(","):
                self.advance()
                continue
            if following.is_op("]"):
                break
            self.unexpected_in_sequence(opening, following, "]")
        closing = self.advance()
        return ListExpr(opening.offset, closing.end - opening.offset, tuple(items))

    def call(self, name: Token) -> Node:
        opening = self.advance()
        args: list[Node] = []
        while True:
            token = self.peek()
            if token.is_op(")"):
                break
            if token.kind == "eof":
                self.unexpected_in_sequence(opening, token, ")")
            if token.kind == "name" and self.peek(1).is_op("="):
                raise ConditionError("keyword arguments are not supported in conditions",
                                     token.offset, self.peek(1).end - token.offset)
            args.append(self.expr(0))
            following = self.peek()
            if following.is_op(","):
                self.advance()
                continue
            if following.is_op(")"):
                break
            self.unexpected_in_sequence(opening, following, ")")
        closing = self.advance()
        return Call(name.offset, closing.end - name.offset, name.text, tuple(args))

    def unexpected_in_sequence(self, opening: Token, token: Token, closer: str) -> NoReturn:
        if token.is_word("for"):
            self.fail(_WORD_ERRORS["for"][0], token)
        if token.kind == "eof":
            self.fail(f"'{opening.text}' is never closed", opening)
        self.fail(f"expected ',' or '{closer}', got {_describe(token)}", token)


def parse(text: str) -> Node:
    """Parse condition ``text`` into an untyped syntax tree.

    Raises:
        ConditionError: the text is not a well-formed condition; ``offset`` and
            ``length`` locate the offending token.

    >>> parse("days_past_due > 30")
    Compare(offset=0, length=18, operands=(Name(offset=0, length=13, name='days_past_due'), \
Literal(offset=16, length=2, value=30)), ops=(Op(op='>', offset=14, length=1),))
    """
    if not isinstance(text, str):
        raise ConditionError(f"a condition must be text, got {type(text).__name__}", 0, 0)
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"condition is too long ({len(text)} characters;"
                             f" at most {MAX_LENGTH})", MAX_LENGTH, len(text) - MAX_LENGTH)
    tokens = tokenize(text)
    if tokens[0].kind == "eof":
        raise ConditionError("condition is empty", 0, len(text))
    parser = _Parser(text, tokens)
    node = parser.expr(0)
    rest = parser.peek()
    if rest.kind != "eof":
        if rest.text in (")", "]"):
            parser.fail(f"unmatched '{rest.text}'", rest)
        if rest.kind == "name" and rest.text in _CHINESE_OPERATORS:
            parser.fail(f"'{rest.text}' is not an operator; write"
                        f" '{_CHINESE_OPERATORS[rest.text]}'", rest)
        parser.fail(f"expected an operator or the end of the condition, got {_describe(rest)}",
                    rest)
    _check_depth(node)
    return node


def _check_depth(root: Node) -> None:
    """Reject trees deeper than MAX_DEPTH, pointing at the sub-expression that overflows."""
    stack = [(root, 1)]
    while stack:
        node, level = stack.pop()
        if level > MAX_DEPTH:
            raise ConditionError("condition is nested too deeply; split it into simpler"
                                 " conditions", node.offset, node.length)
        stack.extend((child, level + 1) for child in children(node))
