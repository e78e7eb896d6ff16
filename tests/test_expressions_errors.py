"""Compile-time errors of the condition language: messages, offsets and suggestions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, ClassVar

import pytest

from followup_policy.errors import ConditionError
from followup_policy.expressions import (
    BOOL,
    DATE,
    DECIMAL,
    INT,
    STRING,
    Environment,
    ValueType,
    compile_condition,
    parse,
)
from followup_policy.expressions._parser import MAX_DEPTH, MAX_LENGTH

TIERS = ValueType.enum(("low", "medium", "high"))


class Params:
    """Two parameters, enough for the did-you-mean cases."""

    types: ClassVar[dict[str, ValueType]] = {
        "high_risk_score": INT, "second_home_min_down_payment": DECIMAL,
    }

    def names(self) -> Iterable[str]:
        return self.types

    def type_of(self, name: str) -> ValueType | None:
        return self.types.get(name)

    def value_at(self, name: str, on: date) -> Any:
        return None


ENV = Environment({
    "as_of": DATE, "disbursement_date": DATE, "loan_id": STRING, "tier": TIERS,
    "risk_tier": TIERS, "days_past_due": INT, "score": INT, "region": STRING, "p": BOOL,
    "q": BOOL, "a": INT, "b": INT, "x": DECIMAL, "tags": ValueType.list_of(STRING),
}, Params())


def error_of(text: str) -> ConditionError:
    with pytest.raises(ConditionError) as caught:
        compile_condition(text, ENV)
    return caught.value


def at(error: ConditionError, text: str) -> str:
    """The source slice an error points at."""
    return text[error.offset:error.offset + error.length]


# Each case: condition, a fragment of the message, the token the error must point at.
TYPE_ERRORS = [
    ("disbursement_date > 5", "cannot compare date with int", ">"),
    ("days_past_due == \"high\"", "cannot compare int with string", "=="),
    ("a > 1 and region == 3", "cannot compare string with int", "=="),
    ('disbursement_date < "2024-05-17"', "cannot compare date with string", "<"),
    ("p < q", "needs numbers, dates or strings, got bool", "<"),
    ('risk_tier >= "medium"', "enum values have no order", ">="),
    ("p and a", "'and' needs true or false on both sides, got int", "a"),
    ("a > 1 or region", "'or' needs true or false on both sides, got string", "region"),
    ("not a", "'not' needs true or false, got int", "a"),
    ("region + 1 > a", "'+' needs numbers, got string", "region"),
    ("a * as_of > 1", "'*' needs numbers, got date", "as_of"),
    ("as_of - disbursement_date > 3", "use days_between(a, b)", "as_of"),
    ("-region == a", "'-' needs a number, got string", "region"),
    ("a + 1", "condition must be true or false, got int", "a + 1"),
    ("region", "condition must be true or false, got string", "region"),
    ("a in 5", "'in' needs a list on the right, got int", "5"),
    ("a in tags", "cannot look for int in list[string]", "in"),
    ('[1, "x"] == tags', "list mixes int and string", '"x"'),
    ("len(a) > 1", "len needs a list or a string, got int", "a"),
    ("days_since(a) > 1", "days_since needs dates, got int", "a"),
    ("days_between(as_of) > 1", "days_between takes 2 arguments", "days_between"),
    ("is_set(a, b)", "is_set takes 1 argument", "is_set"),
    ('param_at("high_risk_score", 5) > a', "param_at needs a date, got int", "5"),
    ("param_at(region, as_of) > a", "parameter name in quotes", "region"),
    ("date(region) < as_of", "date needs a quoted date", "region"),
    ('date("2024-02-30") < as_of', "'2024-02-30' is not a valid date", '"2024-02-30"'),
    ('date("2024/05/17") < as_of', "is not a valid date", '"2024/05/17"'),
    ("a / 0 > 1", "division by zero", "0"),
    ("a % 0 > 1", "remainder by zero", "0"),
    ("a % (2 - 2) > 1", "remainder by zero", "(2 - 2)"),
    ("a(1) > 1", "'a' is a field, not a function", "a"),
    ("days_since > 1", "'days_since' is a function", "days_since"),
    ("params > 1", "write params.NAME", "params"),
]


@pytest.mark.parametrize(("text", "message", "token"), TYPE_ERRORS)
def test_type_errors_point_at_the_offending_token(text: str, message: str, token: str) -> None:
    error = error_of(text)
    assert message in error.message
    assert at(error, text) == token


@pytest.mark.parametrize(("text", "op"), [("a == null", "=="), ("null != a", "!=")])
def test_comparing_with_null_tells_to_use_is_set(text: str, op: str) -> None:
    error = error_of(text)
    assert "is_set" in error.message
    assert at(error, text) == "null"
    assert error.suggestion == ("not is_set(a)" if op == "==" else "is_set(a)")


def test_null_cannot_be_ordered_or_searched() -> None:
    assert "cannot order null" in error_of("a < null").message
    assert "is_set" in error_of("null in [1]").message


def test_date_compared_with_an_iso_string_suggests_date() -> None:
    error = error_of('as_of > "2024-05-17"')
    assert error.suggestion == 'date("2024-05-17")'


# -- names and did-you-mean ---------------------------------------------------------------


def test_unknown_name_suggests_a_close_field() -> None:
    text = "a > 1 and days_pst_due > 30"
    error = error_of(text)
    assert error.message == "unknown name 'days_pst_due'"
    assert error.suggestion == "days_past_due"
    assert at(error, text) == "days_pst_due"
    assert str(error) == "unknown name 'days_pst_due' (did you mean 'days_past_due'?)"


def test_unknown_name_without_close_match_has_no_suggestion() -> None:
    error = error_of("zzzzzz > 1")
    assert error.suggestion is None


def test_parameter_written_as_a_bare_name_suggests_params() -> None:
    error = error_of("score > high_risk_score")
    assert error.suggestion == "params.high_risk_score"


def test_paramz_suggests_params() -> None:
    assert error_of("paramz > 1").suggestion == "params"


def test_unknown_parameter_suggests_a_close_one() -> None:
    text = "score > params.high_risk_scor"
    error = error_of(text)
    assert error.message == "unknown parameter 'high_risk_scor'"
    assert error.suggestion == "high_risk_score"
    assert at(error, text) == "high_risk_scor"
    text = 'score > param_at("high_rsk_score", as_of)'
    error = error_of(text)
    assert error.suggestion == "high_risk_score"
    assert at(error, text) == '"high_rsk_score"'


def test_unknown_function_suggests_a_close_one() -> None:
    text = "days_sinse(as_of) > 3"
    error = error_of(text)
    assert error.message == "unknown function 'days_sinse'"
    assert error.suggestion == "days_since"
    assert at(error, text) == "days_sinse"
    assert error_of("max(a, b) > 1").message == "unknown function 'max'"


@pytest.mark.parametrize(("text", "bad", "suggestion"), [
    ('risk_tier == "hgh"', '"hgh"', "high"),
    ('"meduim" != risk_tier', '"meduim"', "medium"),
    ('risk_tier in ["low", "hihg"]', '"hihg"', "high"),
    ('risk_tier not in ["lwo"]', '"lwo"', "low"),
    ('tier == "HIGH"', '"HIGH"', "high"),
])
def test_enum_values_are_checked_with_did_you_mean(text: str, bad: str, suggestion: str) -> None:
    error = error_of(text)
    assert "is not a value of" in error.message
    assert "low, medium, high" in error.message
    assert error.suggestion == suggestion
    assert at(error, text) == bad


def test_enum_value_unrelated_to_any_gets_no_suggestion() -> None:
    error = error_of('risk_tier == "critical"')
    assert error.suggestion is None


# -- syntax -------------------------------------------------------------------------------

UNSUPPORTED = [
    ("loan.amount > 1", "attribute access is not supported", "."),
    ("params.high_risk_score.real > 1", "attribute access is not supported", "."),
    ("tags[0] == \"a\"", "indexing (x[...]) is not supported", "["),
    ("lambda: a > 1", "lambda is not supported", "lambda"),
    ("[a for a in tags]", "comprehensions are not supported", "for"),
    ("(a for a in tags)", "comprehensions are not supported", "for"),
    ("len(a for a in tags) > 1", "comprehensions are not supported", "for"),
    ("len(x=tags) > 1", "keyword arguments are not supported", "x="),
    ("days_between(as_of, end = as_of) > 1", "keyword arguments are not supported",
     "end ="),
    ("a if p else b", "conditional expressions", "if"),
    ("a is None", "'is' is not supported", "is"),
    ("(a)(1) > 1", "only named functions can be called", "("),
    ("{1: 2}", "braces are not supported", "{"),
    ("a ** 2 > 1", "'**' is not supported", "**"),
    ("a // 2 > 1", "'//' is not supported", "//"),
    ("p && q", "use 'and' instead of '&&'", "&&"),
    ("p || q", "use 'or' instead of '||'", "||"),
    ("!p", "use 'not' instead of '!'", "!"),
    ("a = 1", "use '=='", "="),
    ("(a, b)", "tuples are not supported", ","),
    ("a > 1 # why", "comments are not supported", "#"),
]


@pytest.mark.parametrize(("text", "message", "token"), UNSUPPORTED)
def test_unsupported_python_syntax_is_named(text: str, message: str, token: str) -> None:
    error = error_of(text)
    assert message in error.message
    assert at(error, text) == token


SYNTAX_ERRORS = [
    ("", "condition is empty", ""),
    ("   ", "condition is empty", "   "),
    ("a >", "ends too early", ""),
    ("a > 1 and", "ends too early", ""),
    ("(a > 1", "'(' is never closed", "("),
    ("[1, 2", "'[' is never closed", "["),
    ("len(tags", "'(' is never closed", "("),
    ("a > 1)", "unmatched ')'", ")"),
    ("a > 1 b", "expected an operator or the end of the condition, got 'b'", "b"),
    ("(a > 1 b)", "expected ')' or an operator", "b"),
    ("[1 2]", "expected ',' or ']'", "2"),
    ('region == "abc', "string is never closed", '"abc'),
    (r'region == "a\q"', "unsupported escape", r"\q"),
    ("a > 1e5", "'1e5' is not a number", "1e5"),
    ("a > 1_000", "'1_000' is not a number", "1_000"),
    ("x > 5.", "a decimal needs digits after the point", "5."),
    ("x > .5", "expected a value, got '.'", "."),
    ("a > 1 and and p", "expected a value, got 'and'", "and"),
    ("a not p", "'not' here must be followed by 'in'", "not"),
    ("a == not p", "put 'not ...' in parentheses", "not"),
    ("True", "constants are lowercase", "True"),
    ("a > 1 ＆ p", "unexpected character '＆'", "＆"),
    ("a > 1\u200b", "unexpected character U+200B", "\u200b"),
    ("a （ 1", "full-width '（'", "（"),
    ("params. > 1", "expected a parameter name after 'params.'", ">"),
    ("a > " + "9" * 101, "number is too long", "9" * 101),
]


@pytest.mark.parametrize(("text", "message", "token"), SYNTAX_ERRORS)
def test_syntax_errors_are_located(text: str, message: str, token: str) -> None:
    error = error_of(text)
    assert message in error.message
    assert at(error, text) == token


def test_true_suggests_lowercase() -> None:
    assert error_of("p == True").suggestion == "true"
    assert error_of("a is_set None").message  # any error, never a crash


def test_offsets_count_characters_of_chinese_text() -> None:
    text = 'region == "华东" and 未知 > 1'
    error = error_of(text)
    assert at(error, text) == "未知"


# -- limits -------------------------------------------------------------------------------


def test_too_long_condition_is_rejected() -> None:
    text = "a > 1 or " * (MAX_LENGTH // 9 + 1) + "p"
    error = error_of(text)
    assert "too long" in error.message
    assert error.offset == MAX_LENGTH


@pytest.mark.parametrize("text", [
    "(" * 500 + "p" + ")" * 500,
    "not " * 300 + "p",
    "-" * 1000 + "a > 1",
    "[" * 400 + "]" * 400 + " == tags",
    "len(" * 300 + "tags" + ")" * 300 + " > 1",
    "a + " * 200 + "a > 1",
    "a " + "+ (a " * 80 + ")" * 80 + " > 1",
])
def test_deep_nesting_is_a_condition_error_not_a_crash(text: str) -> None:
    assert "nested too deeply" in error_of(text).message


def test_nesting_up_to_the_limit_compiles() -> None:
    depth = MAX_DEPTH // 2
    text = "(" * depth + "a + " * (depth - 3) + "a" + ")" * depth + " > 1"
    assert compile_condition(text, ENV)({"a": 1, "as_of": None}) is True


def test_long_flat_chains_are_not_deep() -> None:
    text = " and ".join(f"a > {i}" for i in range(300))
    condition = compile_condition(text, ENV)
    assert condition({"a": 1000}) is True
    assert condition({"a": 5}) is False
    assert condition({"a": None}) is None


def test_parse_rejects_non_text() -> None:
    with pytest.raises(ConditionError, match="must be text"):
        parse(5)  # type: ignore[arg-type]
