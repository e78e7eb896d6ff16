"""``followup-policy evaluate --jobs N``: the same output, rejects and summary as one process."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from followup_policy.cli import run

from .conftest import HEAD_OFFICE, PORTFOLIO


def _evaluate(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-29", "--summary",
                *args], out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,200 portfolio loans with an unreadable line, a bad record and blank lines mixed in."""
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:1200]
    bad = json.loads(lines[7])
    bad["days_past_due"] = "many"
    lines[5:5] = ["{not json", "", json.dumps(bad, ensure_ascii=False), "   "]
    path = tmp_path_factory.mktemp("batch") / "loans.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_jobs_give_the_same_output_in_the_same_order(batch: Path, fmt: str) -> None:
    single = _evaluate("--format", fmt, str(batch))
    parallel = _evaluate("--format", fmt, "--jobs", "2", str(batch))
    assert parallel == single
    code, out, err = parallel
    assert code == 1  # two rejects
    rejects = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [(r["index"], r["line"]) for r in rejects] == [(5, 6), (6, 8)]
    assert "1202 records: 1200 evaluated, 2 rejected" in err
    if fmt == "jsonl":  # the bad record was an extra copy of a loan: every original is out
        ids = [json.loads(line)["loan_id"] for line in out.splitlines()]
        originals = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:1200]
        assert ids == [json.loads(line)["loan_id"] for line in originals]

def test_jobs_read_csv_input_and_refuse_a_bad_count(tmp_path: Path) -> None:
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:40]
    rows = [json.loads(line) for line in lines]
    columns = sorted({key for row in rows for key in row if key != "follow_ups"})
    import csv

    path = tmp_path / "loans.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    assert _evaluate("--jobs", "2", str(path)) == _evaluate(str(path))
    code, _, err = _evaluate("--jobs", "two", str(path))
    assert code == 2 and "'two' is not a number of jobs" in err
