"""Report pages without a browser: commands, exit codes, escaping, the missing extra."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

import followup_policy as fp
from followup_policy.cli import run

ROOT = Path(__file__).resolve().parent.parent
HEAD = ROOT / "policies" / "head_office.yaml"
BRANCHES = sorted((ROOT / "policies" / "branches").glob("*.yaml"))
PORTFOLIO_LINES = (ROOT / "examples" / "portfolio.jsonl").read_text(
    encoding="utf-8").splitlines()[:4]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_report_command_writes_a_self_contained_page(tmp_path: Path) -> None:
    target = tmp_path / "handbook.html"
    code, _, err = _run("report", str(HEAD), "-o", str(target))
    assert code == 0, err
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    # nothing to fetch: no script, no external stylesheet, font or image
    assert "<script" not in html and "<link" not in html
    assert "src=\"http" not in html and "url(http" not in html
    assert "default-src 'none'" in html
    assert "@media print" in html


def test_compare_command(tmp_path: Path) -> None:
    target = tmp_path / "branches.html"
    code, _, err = _run("report", "--compare", str(HEAD), *map(str, BRANCHES), "-o",
                        str(target))
    assert code == 0, err
    html = target.read_text(encoding="utf-8")
    for path in BRANCHES:
        assert fp.load_policy(path).id in html


def test_report_usage_errors(tmp_path: Path) -> None:
    code, _, err = _run("report", "--compare", str(HEAD))
    assert code == 2 and "at least one branch" in err
    code, _, err = _run("report", str(HEAD), str(BRANCHES[0]))
    assert code == 2 and "one policy" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: 1\npolicy: {id: x, title: t, version: '1'}\nrules: 3\n",
                      encoding="utf-8")
    code, _, err = _run("report", str(broken))
    assert code == 2 and f"{broken}:3:" in err


def test_forecast_command_csv_and_unreadable_input(tmp_path: Path) -> None:
    loans = tmp_path / "loans.jsonl"
    loans.write_text("\n".join(PORTFOLIO_LINES) + "\n", encoding="utf-8")
    code, out, err = _run("forecast", "--policy", str(HEAD), str(loans), "--months", "2",
                          "--as-of", "2026-11-28", "--csv", "-")
    assert code == 0, err
    assert out.splitlines()[0] == "granularity,period,period_start,status,branch,channel," \
                                  "severity,tasks"
    assert "4 loans, 0 rejected" in err
    code, _, err = _run("forecast", "--policy", str(HEAD), str(tmp_path / "nope.jsonl"))
    assert code == 2 and len(err.splitlines()) == 1 and "nope.jsonl" in err
    code, _, err = _run("forecast", "--policy", str(HEAD), str(loans), "--months", "0")
    assert code == 2 and "--months" in err


def test_policy_text_is_escaped(tmp_path: Path) -> None:
    text = HEAD.read_text(encoding="utf-8").replace(
        "title: 个人住房贷款贷后回访政策（总行）", 'title: "<script>alert(1)</script>"', 1)
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    html = fp.report(path)
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_without_matplotlib_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"followup-policy\[reports\]"):
        fp.report(HEAD)
    code, _, err = _run("report", str(HEAD))
    assert code == 2 and len(err.splitlines()) == 1 and "followup-policy[reports]" in err
    # the forecast table needs no chart library
    rows = fp.forecast(HEAD, [], as_of=__import__("datetime").date(2026, 11, 28),
                       dataframe=False)
    assert rows == []


def test_pages_are_deterministic() -> None:
    assert fp.report(BRANCHES[0]) == fp.report(BRANCHES[0])


def test_handbook_shows_completion_keys_when_a_policy_sets_them(tmp_path: Path) -> None:
    text = HEAD.read_text(encoding="utf-8")
    text = text.replace("timing_nodes:\n",
                        "channels:\n  legal: {title: 法务催收, covers: [letter]}\n"
                        "outcomes:\n  promised_to_pay: {title: 承诺还款, completes: true}\n"
                        "timing_nodes:\n", 1)
    text = text.replace("    channel: site_visit\n    checklist: annual_visit\n    severity: high\n"
                        "    locked: true\n",
                        "    channel: site_visit\n    checklist: annual_visit\n    severity: high\n"
                        "    locked: true\n    completes_with: [video_call]\n"
                        "    escalate_after: 3\n    escalation: {kind: lost_contact_review,"
                        " title: 失联处置, channel: site_visit, after: 3 days}\n", 1)
    path = tmp_path / "with_keys.yaml"
    path.write_text(text, encoding="utf-8")
    html = fp.report(path)
    for shown in ("法务催收", "承诺还款", "completes_with: [video_call]", "escalate_after: 3",
                  "失联处置", "lost_contact_review"):
        assert shown in html
    assert "when_unknown: skip" not in html  # a default is not worth a line
