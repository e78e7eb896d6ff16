"""The generated per-loan engine against the interpreter, and its safety.

The interpreter (``engine="interpreter"``) is the reference semantics; the generated
function must give the same decision JSON, byte for byte, and the same errors
(snapshot rejects with their messages, fields and loan ids), for any policy and any
snapshot.
"""

from __future__ import annotations

import decimal
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import followup_policy as fp
from followup_policy.errors import SnapshotError

from .conftest import PORTFOLIO, ROOT
from .generated_policies import PolicySpec, as_of_values, policies, snapshots_for
from .test_generated_contexts import HOSTILE

SHIPPED = sorted((ROOT / "policies").rglob("*.yaml"))


def outcome(policy: fp.Policy, raw: Any, as_of: Any, engine: str) -> str:
    """The decision JSON, or the error with everything a caller can see of it."""
    try:
        return policy.evaluate(raw, as_of=as_of, engine=engine).model_dump_json()  # type: ignore[arg-type]
    except SnapshotError as exc:
        return f"SnapshotError {exc} loan={exc.loan_id!r} field={exc.field!r}"
    except (ArithmeticError, ValueError, OverflowError) as exc:
        return f"{type(exc).__name__} {exc}"


def load(spec: PolicySpec) -> fp.Policy:
    try:
        return fp.loads_policy(spec.text, "generated.yaml")
    except fp.PolicyLoadError as exc:  # e.g. a constant divisor folding to zero
        assume(False)
        raise AssertionError("unreachable") from exc


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), spec=policies())
def test_generated_engine_matches_the_interpreter(data: st.DataObject, spec: PolicySpec) -> None:
    policy = load(spec)
    raws = data.draw(st.lists(snapshots_for(spec), min_size=1, max_size=12))
    for raw in raws:
        as_of = data.draw(as_of_values)
        expected = outcome(policy, raw, as_of, "interpreter")
        with decimal.localcontext(HOSTILE):  # whatever the caller's decimal context
            got = outcome(policy, raw, as_of, "generated")
        assert got == expected, policy.source_code()


APPLY_WITH_CONDITIONAL_CHECKLIST = """\
policy: {id: p, title: t, version: '1'}
fields:
  score: {type: int, required: true, default: 3}
  note: {type: string}
checklists:
  c1:
    title: 清单
    items:
      - {id: i0, text: 检查 0, when: score < len(note)}
      - {id: i1, text: 检查 1}
rules:
  - id: r0
    when: 0 < score
    action: {kind: letter, after: 0 days, window: 0 days, anchor: disbursement_date,
             checklist: c1}
    severity: high
    category: regulatory
    when_unknown: apply
"""


def test_a_checklist_condition_does_not_overwrite_the_rule_verdict() -> None:
    """Found by the differential test: an undecidable checklist item after a rule that
    held made the generated reasons say the rule itself could not be decided."""
    policy = fp.loads_policy(APPLY_WITH_CONDITIONAL_CHECKLIST, "p.yaml")
    raw = {"loan_id": "L1", "disbursement_date": "2024-02-29"}
    for engine in ("interpreter", "generated"):
        action = policy.evaluate(raw, as_of="2024-03-01", engine=engine).actions[0]
        assert action.reasons[0] == "0 < score holds (score=3)", engine


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), spec=policies())
def test_evaluate_many_matches_the_interpreter(data: st.DataObject, spec: PolicySpec) -> None:
    policy = load(spec)
    raws = data.draw(st.lists(snapshots_for(spec), max_size=8))
    as_of = data.draw(as_of_values)
    generated = [item.model_dump_json() for item in policy.evaluate_many(raws, as_of)]
    interpreted = [item.model_dump_json() for item in
                   policy.evaluate_many(raws, as_of, engine="interpreter")]
    assert generated == interpreted
    assert len(generated) == len(raws)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_policies_on_the_example_portfolio(path: Path) -> None:
    policy = fp.load_policy(path)
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()
    for as_of in (None, date(2026, 11, 29)):
        for line in lines:
            raw = json.loads(line, parse_float=Decimal)
            assert (outcome(policy, raw, as_of, "generated")
                    == outcome(policy, raw, as_of, "interpreter")), raw.get("loan_id")


# -- policy text never becomes code ----------------------------------------------------------

PAYLOADS = (
    "x'); __import__('os').system('echo pwned'); ('",
    'x"); __import__("os").system("echo pwned"); ("',
    "x\n    raise SystemExit('pwned')\n#",
    '"""; INJECTED = 1; """',
    "{__import__('os').getcwd()}",
    "\\'; INJECTED = 2 #",
)


def injected_policy(payload: str) -> str:
    """A policy carrying ``payload`` in every place a policy can hold text."""
    import yaml

    literal = '"' + payload.replace("\\", "\\\\").replace('"', '\\"').replace(
        "\n", "\\n") + '"'  # the payload as a string of the condition language
    word = "".join("_" if ch.isspace() else ch for ch in payload)
    document = {
        "policy": {"id": "injection", "title": payload, "version": payload},
        "fields": {"region": {"type": "enum", "values": [payload, "plain"]},
                   "opened": {"type": "date"}},
        "parameters": {"label": {"value": payload}},
        "checklists": {word: {"title": payload, "items": [
            {"id": word, "text": payload, "when": f"region == {literal}"}]}},
        "timing_nodes": [{"id": word, "title": payload, "kind": payload, "after": "1 day",
                          "anchor": "disbursement_date", "checklist": word,
                          "channel": "phone",
                          "when": f"region == {literal} or params.label == {literal}"}],
        "risk_tiers": [{"tier": word, "when": f"region == {literal}"}, {"tier": "plain"}],
        "frequency": {word: {"every": "1 month", "title": payload, "checklist": word,
                             "channel": "phone"},
                      "plain": {"every": "1 month", "channel": "sms"}},
        "rules": [{"id": "r" + word, "title": payload, "reference": payload,
                   "when": f"region == {literal} and not (params.label != {literal})",
                   "severity": "high", "action": {"kind": payload, "after": "2 days",
                                                  "anchor": "opened", "checklist": word}}],
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_policy_text_never_reaches_the_generated_source(payload: str,
                                                        capfd: pytest.CaptureFixture[str]
                                                        ) -> None:
    policy = fp.loads_policy(injected_policy(payload), "injection.yaml")
    source = policy.source_code()
    for text in {payload, payload.replace(" ", "_"), "pwned", "INJECTED", "__import__"}:
        assert text not in source
    raw = {"loan_id": "L1", "disbursement_date": "2026-01-01", "opened": "2026-01-05",
           "region": payload}
    decision = policy.evaluate(raw, as_of="2026-03-01")
    assert decision.model_dump_json() == policy.evaluate(
        raw, as_of="2026-03-01", engine="interpreter").model_dump_json()
    assert decision.tier is not None and decision.tier != "plain"
    assert {action.title for action in decision.actions} == {payload}
    assert decision.policy_version == payload
    assert "pwned" not in capfd.readouterr().out
    assert "INJECTED" not in globals()


def test_the_generated_source_is_readable_python() -> None:
    policy = fp.load_policy(ROOT / "policies" / "head_office.yaml")
    source = policy.source_code()
    compile(source, "<check>", "exec")
    assert "def evaluate(raw, as_of):" in source and "def _decide(" in source
    assert "# rules[0]" in source and "# timing_nodes[0]" in source
    assert policy.source_code() is source  # generated once, then kept


# -- pickling, as_of, engine choice ----------------------------------------------------------


def test_policy_pickles_and_evaluates_the_same_after() -> None:
    import pickle

    policy = fp.load_policy(ROOT / "policies" / "head_office.yaml")
    copy = pickle.loads(pickle.dumps(policy))
    assert copy.digest == policy.digest and copy.id == policy.id
    for line in PORTFOLIO.read_text(encoding="utf-8").splitlines()[:200]:
        raw = json.loads(line, parse_float=Decimal)
        assert copy.evaluate(raw, date(2026, 11, 29)) == policy.evaluate(raw, date(2026, 11, 29))


def _evaluate_in_child(policy: fp.Policy, raw: dict[str, Any]) -> str:
    return policy.evaluate(raw, as_of="2026-11-29").model_dump_json()


def test_policy_crosses_process_boundaries() -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    policy = fp.load_policy(ROOT / "policies" / "head_office.yaml")
    raws = [json.loads(line) for line in
            PORTFOLIO.read_text(encoding="utf-8").splitlines()[:20]]
    context = multiprocessing.get_context("spawn")  # spawn must pickle the policy
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        remote = list(pool.map(_evaluate_in_child, [policy] * len(raws), raws))
    assert remote == [_evaluate_in_child(policy, raw) for raw in raws]


def test_as_of_takes_a_date_or_an_iso_string(head_office: fp.Policy) -> None:
    raw = json.loads(PORTFOLIO.read_text(encoding="utf-8").splitlines()[0])
    assert head_office.evaluate(raw, "2026-11-29") == head_office.evaluate(raw, date(2026, 11, 29))
    assert head_office.evaluate(raw, " 2026-11-29 ").as_of == date(2026, 11, 29)
    assert next(iter(head_office.evaluate_many([raw], "2026-11-29"))) == head_office.evaluate(
        raw, date(2026, 11, 29))


@pytest.mark.parametrize(("value", "error", "message"), [
    ("2026-02-30", ValueError, "as_of must be an ISO date YYYY-MM-DD, got '2026-02-30'"),
    ("29/11/2026", ValueError, "as_of must be an ISO date"),
    ("20261129", ValueError, "as_of must be an ISO date"),
    (20261129, TypeError, "as_of must be a date or an ISO date string YYYY-MM-DD, got int"),
    (__import__("datetime").datetime(2026, 11, 29, 8), TypeError, "not a datetime"),
])
def test_a_bad_as_of_is_refused_by_name(head_office: fp.Policy, value: Any,
                                        error: type[Exception], message: str) -> None:
    raw = json.loads(PORTFOLIO.read_text(encoding="utf-8").splitlines()[0])
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        head_office.evaluate(raw, value)
    with pytest.raises(error, match="as_of"):
        head_office.evaluate_many([raw], value)  # at once, before any record is read
    with pytest.raises(error, match="as_of"):
        head_office.explain(raw, value)


def test_an_unknown_engine_is_refused(head_office: fp.Policy) -> None:
    raw = json.loads(PORTFOLIO.read_text(encoding="utf-8").splitlines()[0])
    with pytest.raises(ValueError, match="engine must be 'generated' or 'interpreter'"):
        head_office.evaluate(raw, "2026-11-29", engine="fast")  # type: ignore[call-overload]


def test_results_built_by_generated_code_behave_like_validated_models(
        head_office: fp.Policy) -> None:
    import pickle

    raw = json.loads(PORTFOLIO.read_text(encoding="utf-8").splitlines()[3])
    fast = head_office.evaluate(raw, "2026-11-29")
    reference = head_office.evaluate(raw, "2026-11-29", engine="interpreter")
    assert fast == reference and hash(fast) == hash(reference)
    assert fp.Decision.model_validate(fast.model_dump()) == fast
    assert pickle.loads(pickle.dumps(fast)) == fast
    assert fast.model_dump_json() == reference.model_dump_json()
    with pytest.raises(AttributeError):
        fast.actions[0].status = "due"  # type: ignore[misc]


def test_results_are_built_as_plain_tuples_only_when_the_class_just_packs_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from followup_policy.decisions import Action, Decision
    from followup_policy.engines.generated._writer import packs_its_fields

    assert packs_its_fields(Action) and packs_its_fields(Decision)
    source = fp.loads_policy(APPLY_WITH_CONDITIONAL_CHECKLIST, "p.yaml").source_code()
    assert "_new_tuple(_Action, (" in source and "_new_tuple(_Decision, (" in source
    original = Action.__new__

    def rotating(cls: type[Action], *fields: Any) -> Action:  # a constructor doing more
        made = tuple(original(cls, *fields))
        return tuple.__new__(cls, (*made[1:], made[0]))

    monkeypatch.setattr(Action, "__new__", staticmethod(rotating))
    assert not packs_its_fields(Action)
    policy = fp.loads_policy(APPLY_WITH_CONDITIONAL_CHECKLIST, "p.yaml")
    assert "_new_tuple(_Action" not in policy.source_code()
    assert "_Action(" in policy.source_code()


def _rules_policy(rules: list[tuple[str, str, str]]) -> str:
    """Rules that always fire: (anchor, after, window) each."""
    lines = ["policy: {id: order, title: 顺序, version: '1'}",
             "fields: {opened: {type: date, required: true}}", "rules:"]
    for index, (anchor, after, window) in enumerate(rules):
        lines.append(f"  - {{id: r{index}, when: 'true', severity: low, action: {{kind: k,"
                     f" anchor: {anchor}, after: {after}, window: {window}}}}}")
    return "\n".join(lines) + "\n"


ORDERS = [  # rules, whether they are appended in order, a loan where sorting matters
    ([("disbursement_date", "1 days", "5 days"), ("disbursement_date", "2 days", "4 days"),
      ("disbursement_date", "1 weeks", "0 days")], True),
    ([("disbursement_date", "10 days", "0 days"), ("disbursement_date", "1 days", "0 days")],
     False),
    ([("disbursement_date", "1 months", "0 days"), ("disbursement_date", "30 days", "0 days")],
     False),
    ([("opened", "0 days", "0 days"), ("disbursement_date", "1 days", "0 days")], False),
]


@pytest.mark.parametrize(("rules", "in_order"), ORDERS)
def test_a_sort_is_skipped_only_when_actions_come_in_order(
        rules: list[tuple[str, str, str]], in_order: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from followup_policy.engines.generated import _writer

    raws = [{"loan_id": "L1", "disbursement_date": "2026-01-05", "opened": "2026-01-20"},
            {"loan_id": "L2", "disbursement_date": "2026-01-05", "opened": "2026-01-20",
             "follow_ups": [{"action": "r0", "date": "2026-01-06", "outcome": "refused"}]}]

    def disagreements() -> list[str]:
        policy = fp.loads_policy(_rules_policy(rules), "order.yaml")
        assert _writer.appended_in_order(policy.parts) is in_order
        return [raw["loan_id"] for raw in raws
                if outcome(policy, raw, "2026-03-01", "generated")
                != outcome(policy, raw, "2026-03-01", "interpreter")]

    assert disagreements() == []
    if not in_order:  # the mutant: told they come in order, the decisions are wrong
        monkeypatch.setattr(_writer, "appended_in_order", lambda parts: True)
        in_order = True
        assert disagreements() == ["L1"]


def test_exact_class_shortcuts_return_what_the_coercer_would() -> None:
    from followup_policy import snapshots
    from followup_policy.engines.generated._writer import _EXACT

    samples = {int: [0, -5, 10**30], date: [date(2024, 2, 29)], str: ["", "x", " 中文 "],
               bool: [True, False]}
    for coerce, kind in _EXACT.items():
        for value in samples[kind]:
            assert coerce(value) is value
    assert snapshots.coerce_date(snapshots.MAX_DATE) is snapshots.MAX_DATE


def test_cli_prints_the_generated_source() -> None:
    import io

    from followup_policy.cli import run

    out, err = io.StringIO(), io.StringIO()
    path = ROOT / "policies" / "head_office.yaml"
    assert run(["source", str(path)], out, err) == 0
    assert out.getvalue() == fp.load_policy(path).source_code()
    missing = io.StringIO()
    assert run(["source", str(ROOT / "no-such.yaml")], io.StringIO(), missing) == 2
    assert len(missing.getvalue().strip().splitlines()) == 1


_DECLARED = fp.loads_policy("""\
policy: {id: fast-paths, title: 声明字段捷径, version: "1"}
fields:
  level: {type: enum, values: [低, 中, high]}
  count: {type: int, min: -5, max: 1000000}
  ratio: {type: decimal, min: 0, max: 1}
  amount: {type: decimal}
  plain: {type: int}
  note: {type: string, default: 无}
  flag: {type: bool}
  opened: {type: date}
  blank_member: {type: enum, values: [" ", a]}
rules:
  - id: r1
    when: 'level == "低" or count > 3 or ratio > 0.5 or amount > 0'
    severity: low
    action: {kind: check, anchor: disbursement_date, after: 1 days, window: 5 days}
  - id: r2
    when: 'plain > 2 or note == "x" or flag or opened < date("2026-01-01") or blank_member == "a"'
    severity: low
    action: {kind: check, anchor: disbursement_date, after: 1 days, window: 5 days}
  - id: shown  # always holds, so its reasons show every value as read
    when: >-
      (is_set(level) or not is_set(level)) and
      (is_set(count) or not is_set(count)) and
      (is_set(ratio) or not is_set(ratio)) and
      (is_set(amount) or not is_set(amount)) and
      (is_set(plain) or not is_set(plain)) and
      (is_set(note) or not is_set(note)) and
      (is_set(flag) or not is_set(flag)) and
      (is_set(opened) or not is_set(opened)) and
      (is_set(blank_member) or not is_set(blank_member))
    severity: low
    action: {kind: check, anchor: disbursement_date, after: 1 days, window: 5 days}
""", "fast-paths.yaml")

_ANY_VALUE = (st.none() | st.booleans() | st.integers(-(10**101), 10**101)
              | st.decimals(allow_nan=True, allow_infinity=True)
              | st.builds(lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
                          st.integers(-(10**105), 10**105), st.integers(-130, 130))
              | st.floats() | st.sampled_from(["低", "中", "high", " 低", "HIGH", "3", "0.5", "",
                                                " ", "a", "true", "2025-12-31", " 2026-01-02"])
              | st.text(max_size=5) | st.dates() | st.datetimes())


_FIELDS = ("level", "count", "ratio", "amount", "plain", "note", "flag", "opened",
           "blank_member")


@settings(max_examples=300, deadline=None)
@given(values=st.fixed_dictionaries({}, optional=dict.fromkeys(_FIELDS, _ANY_VALUE)))
def test_declared_field_shortcuts_read_as_the_reader(values: dict[str, Any]) -> None:
    _same_as_the_reader(values)


_TRICKY = (None, "", " ", "\t", "a", " a", "低", " 低", "x", "true", "false", "3", " 3", "0.5",
           True, False, 0, 1, 3, -6, 10**100 - 1, 10**100, 2.5, float("nan"), Decimal("0.5"),
           Decimal("1E+3"), Decimal("NaN"), Decimal("-0"), Decimal("1E-101"), Decimal("7"),
           date(2025, 12, 31), date(1899, 12, 31), datetime(2025, 12, 31), "2025-12-31",
           " 2025-12-31", "2025-12-31 ", "x" * 10_001)


@pytest.mark.parametrize("field", _FIELDS)
def test_each_field_reads_awkward_values_as_the_reader(field: str) -> None:
    for value in _TRICKY:
        _same_as_the_reader({field: value})


def _same_as_the_reader(values: dict[str, Any]) -> None:
    """Enum members, ints, plain decimals, ASCII text, booleans and dates are taken as they
    are by the generated reader, before the test for a missing or blank value; whatever
    the value, the result (or the reject) is the reader's."""
    raw = {"loan_id": "L1", "disbursement_date": "2026-01-05", **values}
    outcomes = []
    for engine in ("generated", "interpreter"):
        try:
            outcomes.append(_DECLARED.evaluate(raw, "2026-01-09", engine=engine)
                            .model_dump_json())
        except SnapshotError as exc:
            outcomes.append(f"{type(exc).__name__}: {exc}")
    assert outcomes[0] == outcomes[1], values
