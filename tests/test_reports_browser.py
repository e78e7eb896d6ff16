"""Each report page opened in real headless Chromium: renders, no console errors,
charts present, known values visible; screenshots saved under the test's tmp folder."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

import followup_policy as fp
from followup_policy.layering import read_policy_chain
from followup_policy.reports.comparison import branch_changes
from tests.chromium import chromium_path, print_pdf, render

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
BRANCHES = sorted((POLICIES / "branches").glob("*.yaml"))
SHENZHEN = POLICIES / "branches" / "shenzhen.yaml"

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="no Chromium on this machine: .ci/run installs Debian's 'chromium' package")


def _text(dom: str) -> str:
    """The visible text of a DOM dump, tags dropped, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", dom).split())


def _open(html: str, tmp_path: Path, name: str) -> tuple[str, str]:
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / f"{name}.png"
    rendered = render(page, tmp_path / f"chromium-{name}", shot)
    assert rendered.console == [], rendered.console   # no errors, no refused fetches
    assert shot.stat().st_size > 10_000
    assert "<svg" in rendered.dom
    return rendered.dom, _text(rendered.dom)


def test_handbook_of_the_head_office(tmp_path: Path) -> None:
    policy = fp.load_policy(POLICIES / "head_office.yaml")
    dom, text = _open(fp.report(POLICIES / "head_office.yaml"), tmp_path, "handbook")
    assert policy.title in text and policy.digest in text and policy.version in text
    # the timeline chart draws every node, y1 sits at the "1年" tick of the x axis
    timeline = dom[dom.index("<svg"):dom.index("</svg>")]
    for node in policy.document.timing_nodes:
        assert node.id in timeline
    y1 = next(n for n in policy.document.timing_nodes if n.id == "y1")
    assert str(y1.after) == "1 year" and "1 year" in text
    assert "1年" in timeline and f"y1 {y1.title}" in timeline
    for rule in policy.document.rules:
        assert rule.id in text
        if rule.reference:
            assert " ".join(rule.reference.split()) in text
    for checklist in policy.document.checklists.values():
        assert checklist.title in text
    for name, param in policy.document.parameters.items():
        assert name in text
        for row in param.values or ():
            assert f"{row.from_.isoformat()} 起 {row.value}" in text  # each dated value


def test_handbook_of_shenzhen_names_origins_and_its_tightened_floor(tmp_path: Path) -> None:
    merged = fp.load_policy(SHENZHEN).document.parameters["second_home_min_down_payment"]
    head = fp.load_policy(POLICIES / "head_office.yaml").document.parameters[
        "second_home_min_down_payment"]
    assert merged.values and head.values
    on = date(2023, 12, 1)  # Shenzhen's 40% from 2023-11-23 against the national 30%
    assert (fp.load_policy(SHENZHEN).parameters.value_at("second_home_min_down_payment", on)
            > fp.load_policy(POLICIES / "head_office.yaml").parameters.value_at(
                "second_home_min_down_payment", on))  # the branch raised the floor
    _, text = _open(fp.report(SHENZHEN), tmp_path, "shenzhen")
    for row in merged.values:
        assert f"{row.from_.isoformat()} 起 {row.value}" in text
    assert re.search(r"分行 branches/shenzhen\.yaml:\d+", text)  # value set by the branch
    assert re.search(r"总行 head_office\.yaml:\d+", text)         # value inherited
    assert re.search(r"window ← 分行 branches/shenzhen\.yaml:\d+", text)  # a key it overrode
    # everything the branch changed is listed, e.g. the raised floor as overridden
    changes = branch_changes(read_policy_chain(POLICIES / "head_office.yaml"),
                             read_policy_chain(SHENZHEN))
    assert changes
    for change in changes:
        assert change.path in text
    floor = next(c for c in changes
                 if c.path == "parameters[second_home_min_down_payment].values")
    assert floor.kind == "overridden" and "覆盖 overridden" in text


def test_comparison_page(tmp_path: Path) -> None:
    html = fp.report(POLICIES / "head_office.yaml", compare=BRANCHES)
    _, text = _open(html, tmp_path, "compare")
    for path in BRANCHES:
        assert fp.load_policy(path).id in text
    head = read_policy_chain(POLICIES / "head_office.yaml")
    for path in BRANCHES:
        for change in branch_changes(head, read_policy_chain(path)):
            assert change.path in text
    assert "parameters[second_home_min_down_payment].values" in text
    sz = fp.load_policy(SHENZHEN).document.parameters["second_home_min_down_payment"]
    assert sz.values is not None
    assert str(sz.values[0].value) in text
    for label in ("新增 added", "收紧 tightened", "覆盖 overridden", "锁定 locked"):
        assert label in text


def test_forecast_page(tmp_path: Path) -> None:
    loans = [line for line in (ROOT / "examples" / "portfolio.jsonl").read_text(
        encoding="utf-8").splitlines()[:40]]
    portfolio = tmp_path / "loans.jsonl"
    portfolio.write_text("\n".join(loans) + "\n", encoding="utf-8")
    out = tmp_path / "forecast-page.html"
    rows = fp.forecast(POLICIES / "head_office.yaml", portfolio, as_of=date(2026, 11, 28),
                       months=3, output=out, dataframe=False)
    _, text = _open(out.read_text(encoding="utf-8"), tmp_path, "forecast")
    backlog = sum(r["tasks"] for r in rows if r["granularity"] == "backlog"
                  and r["status"] == "overdue")
    monthly = sum(r["tasks"] for r in rows if r["granularity"] == "month")
    assert f"逾期积压 overdue backlog: {backlog}" in text
    assert f"预测任务合计 forecast tasks {monthly}" in text
    assert "2026-W49" in text and "2027-01" in text


def test_handbook_prints(tmp_path: Path) -> None:
    page = tmp_path / "handbook.html"
    page.write_text(fp.report(POLICIES / "head_office.yaml"), encoding="utf-8")
    pdf = tmp_path / "handbook.pdf"
    assert print_pdf(page, tmp_path / "chromium-pdf", pdf) == []
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") > 2  # several A4 pages
