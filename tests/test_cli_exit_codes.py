"""Exit codes 0/1/2/3, broken pipes and a full stderr (issue 14, defect 9)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import followup_policy.cli as cli
from followup_policy.cli import EXIT_INTERNAL, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, run

from .conftest import HEAD_OFFICE, PORTFOLIO, ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
CLI = [sys.executable, "-m", "followup_policy"]
EVALUATE = ["evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28"]
BAD = '{"loan_id": "BAD", "disbursement_date": "9999-12-31", "loan_type": "residential"}\n'


def test_an_internal_error_exits_3_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_: object) -> object:
        raise KeyError("a bug\nover two lines")

    monkeypatch.setattr(cli, "policy_json_schema", broken)
    out, err = io.StringIO(), io.StringIO()
    assert run(["schema"], out, err) == EXIT_INTERNAL
    [line] = err.getvalue().splitlines()
    assert line.startswith("followup-policy: internal error (KeyError: ")
    assert "please report it" in line and "Traceback" not in line


def test_usage_load_and_unreadable_input_exit_2(tmp_path: Path) -> None:
    for argv in (["evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "9999-12-31", "-"],
                 [*EVALUATE, str(tmp_path / "missing.jsonl")],
                 [*EVALUATE, str(tmp_path)]):
        err = io.StringIO()
        assert run(argv, io.StringIO(), err, io.StringIO(BAD)) == EXIT_USAGE, argv
        assert len(err.getvalue().splitlines()) == 1, err.getvalue()
    csv_file = tmp_path / "bad.csv"
    csv_file.write_bytes(b"loan_id,\xff\n1,2\n")
    err = io.StringIO()
    assert run([*EVALUATE, str(csv_file)], io.StringIO(), err) == EXIT_USAGE
    assert len(err.getvalue().splitlines()) == 1 and "header" in err.getvalue()


def _head_1(source: Path) -> tuple[int, bytes, bytes]:
    """``followup-policy evaluate ... SOURCE | head -1``: read one line, close the pipe."""
    process = subprocess.Popen([*CLI, *EVALUATE, str(source)], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout and process.stderr
    first = process.stdout.readline()
    process.stdout.close()
    errors = process.stderr.read()
    process.stderr.close()
    return process.wait(), first, errors


def test_broken_pipe_is_quiet_with_the_code_earned_so_far(tmp_path: Path) -> None:
    # 3,000 loans: far more output than a pipe holds
    code, first, errors = _head_1(PORTFOLIO)
    assert (code, errors) == (EXIT_OK, b"") and json.loads(first)["loan_id"] == "L000001"
    source = tmp_path / "in.jsonl"
    source.write_text(BAD + PORTFOLIO.read_text(encoding="utf-8"), encoding="utf-8")
    code, first, errors = _head_1(source)
    assert code == EXIT_REJECTED and json.loads(first)["loan_id"] == "L000001"
    [reject] = errors.decode().splitlines()  # the reject before the pipe broke, no traceback
    assert json.loads(reject)["loan_id"] == "BAD"


def test_stderr_on_dev_full_is_exit_2_and_keeps_the_previous_output(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n", encoding="utf-8")
    with open("/dev/full", "w", encoding="utf-8") as full:
        process = subprocess.run([*CLI, *EVALUATE, "-", "-o", str(target)], env=ENV,
                                 input=(BAD * 3).encode(), stderr=full, check=False)
    assert process.returncode == EXIT_USAGE  # the rejects could not be written
    assert target.read_text(encoding="utf-8") == "previous\n"
    some = "".join(PORTFOLIO.read_text(encoding="utf-8").splitlines(keepends=True)[:50])
    with open("/dev/full", "w", encoding="utf-8") as full:
        process = subprocess.run([*CLI, *EVALUATE, "-", "-o", str(target)], env=ENV,
                                 input=some.encode(), stderr=full, check=False)
    assert process.returncode == EXIT_OK  # nothing needed stderr
    assert len(target.read_text(encoding="utf-8").splitlines()) == 50
