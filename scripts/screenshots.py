"""Make the screenshots of docs/reports.md: each report page in headless Chromium.

Usage: ``python scripts/screenshots.py [OUT_DIR]`` (default ``docs/images``). Needs the
``reports`` extra and Debian's ``chromium`` (with ``fonts-noto-cjk`` for Chinese). The
pages are built from the shipped policies and the example portfolio, so re-running the
script after a change keeps the pictures current.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

import followup_policy as fp  # noqa: E402
from tests.chromium import render  # noqa: E402

POLICIES = ROOT / "policies"


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        pages = {
            "handbook": fp.report(POLICIES / "branches" / "shenzhen.yaml"),
            "compare": fp.report(POLICIES / "head_office.yaml",
                                 compare=sorted((POLICIES / "branches").glob("*.yaml"))),
        }
        loans = work / "loans.jsonl"
        with open(ROOT / "examples" / "portfolio.jsonl", encoding="utf-8") as source:
            loans.write_text("".join(islice(source, 400)), encoding="utf-8")
        forecast_page = work / "forecast.html"
        fp.forecast(POLICIES / "head_office.yaml", loans, as_of=date(2026, 11, 28), months=6,
                    output=forecast_page, dataframe=False)
        pages["forecast"] = forecast_page.read_text(encoding="utf-8")
        for name, html in pages.items():
            page = work / f"{name}.html"
            page.write_text(html, encoding="utf-8")
            shot = out / f"{name}.png"
            rendered = render(page, work / name, shot, width=1280, height=1800)
            if rendered.console:
                print(f"{name}: console messages: {rendered.console}", file=sys.stderr)
                return 1
            print(f"wrote {shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images"))
