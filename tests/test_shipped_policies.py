"""The shipped policies' own test cases (tests/policies/) pass and cover every policy fully.

They run twice, as the style guide asks: through the Python API (``run_cases``) and
through the function the ``followup-policy test`` command calls.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from followup_policy.testing import PolicyCoverage, TestReport, run_cases, run_test_command

from .conftest import ROOT

CASES = ROOT / "tests" / "policies"
SHIPPED = sorted((ROOT / "policies").rglob("*.yaml"))


@pytest.fixture(scope="module")
def report() -> TestReport:
    return run_cases([CASES])


def _coverage_of(report: TestReport, policy: Path) -> PolicyCoverage | None:
    return next((c for c in report.coverage if Path(c.source).resolve() == policy.resolve()),
                None)


def test_every_case_passes(report: TestReport) -> None:
    assert report.errors == [] and report.warnings == []
    failed = [r for r in report.results if not r.passed]
    assert not failed, "\n".join(str(r.mismatches) for r in failed)
    assert len(report.results) >= 80
    assert report.exit_code == 0


@pytest.mark.parametrize("policy", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_policy_is_fully_covered(report: TestReport, policy: Path) -> None:
    coverage = _coverage_of(report, policy)
    assert coverage is not None, f"no test cases under tests/policies/ name {policy}"
    unexercised = {name: ids for name, ids in coverage.unexercised().items() if ids}
    assert unexercised == {}
    assert [(c.kind, c.id) for c in coverage.one_sided()] == []
    assert coverage.complete


def test_through_the_command(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    junit = tmp_path / "junit.xml"
    code = run_test_command([str(CASES)], str(junit), out, err)
    assert code == 0, out.getvalue() + err.getvalue()
    assert err.getvalue() == ""
    text = out.getvalue()
    assert " 0 failed in " in text and "FAIL" not in text
    assert text.count("everything exercised.") == len(SHIPPED)
    suites = ET.parse(junit).getroot()
    assert suites.get("failures") == "0" and suites.get("errors") == "0"
    assert int(suites.get("tests", "0")) == len(run_cases([CASES]).results)


def test_through_the_cli_once_wired() -> None:
    from followup_policy.cli import run

    out, err = io.StringIO(), io.StringIO()
    code = run(["test", str(CASES)], out, err)
    if code == 2 and "invalid choice" in err.getvalue():
        pytest.skip("`followup-policy test` is not wired into cli.py yet")
    assert code == 0, out.getvalue() + err.getvalue()
    assert " 0 failed in " in out.getvalue()
