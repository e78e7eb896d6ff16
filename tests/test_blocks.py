"""JSONL files evaluated in blocks of bytes give exactly what the record path gives.

The record path (a text stream read line by line, still used for stdin) is the
reference: for any file, cut into blocks anywhere, the block path must write the same
decisions, the same rejects with the same index and line, and the same summary.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from followup_policy import blocks
from followup_policy.blocks import read_blocks
from followup_policy.cli import run

from .conftest import HEAD_OFFICE, PORTFOLIO, ROOT

_LOANS = [line.encode() for line in PORTFOLIO.read_text(encoding="utf-8").splitlines()[:6]]
_BAD_RECORD = json.dumps({"loan_id": "BAD", "disbursement_date": "2026-01-15",
                          "loan_type": "residential", "days_past_due": "many"}).encode()
_PIECES = [
    *_LOANS,
    _BAD_RECORD,
    b"",  # a blank line
    b"  \t ",
    b"{not json",
    b'{"loan_id": "X\xff"}',  # a byte that is not UTF-8
    b"\xef\xbb\xbf" + _LOANS[0],  # a byte-order mark in front of a line
    b"\xef\xbb\xbf\xef\xbb\xbf{}",
    b"[" * 3000,  # nested too deeply
    b"\x0c" + _LOANS[1],  # form feed: whitespace to json, not a line end
]
_ENDS = [b"\n", b"\r\n", b"\r"]


def _evaluate(source: str, stdin: io.TextIOWrapper | None = None,
              *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--summary",
                *extra, source], out, err, stdin)
    return code, out.getvalue(), err.getvalue()


def _by_record_path(data: bytes, *extra: str) -> tuple[int, str, str]:
    """The reference: the same bytes through stdin, read as a text stream line by line."""
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape",
                             newline="")
    return _evaluate("-", stdin, *extra)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                               HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_ENDS)),
                      min_size=1, max_size=14),
       last_end=st.booleans(), size=st.integers(min_value=1, max_value=3000))
def test_blocks_cut_anywhere_give_what_the_record_path_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[tuple[bytes, bytes]],
        last_end: bool, size: int) -> None:
    data = b"".join(piece + end for piece, end in lines)
    if not last_end:
        data = data[:-len(lines[-1][1])]
    if data.startswith(b"\xef\xbb\xbf"):  # a file that starts with a BOM is read as
        data = b" \n" + data                # utf-8-sig, strictly: the record path's case
    source = tmp_path / "loans.jsonl"
    source.write_bytes(data)
    monkeypatch.setattr(blocks, "BLOCK_BYTES", size)
    assert _evaluate(str(source)) == _by_record_path(data)


def test_read_blocks_cuts_only_after_a_line_end_and_keeps_every_byte() -> None:
    data = b"ab\r\ncd\reee\n\nf" + b"g" * 50 + b"\r\nh"
    for size in range(1, len(data) + 2):
        parts = list(read_blocks(io.BytesIO(data), size))
        assert b"".join(parts) == data
        for part in parts[:-1]:
            assert part.endswith((b"\n", b"\r"))
        for first, second in itertools.pairwise(parts):
            assert not (first.endswith(b"\r") and second.startswith(b"\n"))  # \r\n is one end


def test_jobs_and_blocks_agree_on_a_gb18030_file_with_mapping(tmp_path: Path) -> None:
    """A GBK export with Chinese column names and a bad byte: blocks, workers and the
    record path (stdin) agree."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns: {贷款编号: loan_id}\n", encoding="utf-8")
    rows = []
    for line in _LOANS:
        loan = json.loads(line)
        loan["贷款编号"] = loan.pop("loan_id") + "号"
        rows.append(json.dumps(loan, ensure_ascii=False).encode("gb18030"))
    rows.insert(2, '{"贷款编号": "坏'.encode("gb18030") + b"\x81\x0a")
    data = b"\n".join(rows) + b"\n"
    source = tmp_path / "loans.jsonl"
    source.write_bytes(data)
    extra = ("--mapping", str(mapping))
    single = _evaluate(str(source), None, *extra)
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="gb18030", errors="surrogateescape",
                             newline="")
    assert _evaluate("-", stdin, *extra) == single
    assert _evaluate(str(source), None, "--jobs", "2", *extra) == single
    code, out, err = single
    assert code == 1 and "L000001号" in out and "not valid GB18030 (byte 0x81" in err


def test_an_output_encoding_that_cannot_hold_a_decision_rejects_it_like_the_record_path(
        tmp_path: Path) -> None:
    """stdout in ASCII: every decision with Chinese text is a reject, written in place."""
    data = b"\n".join([*_LOANS[:3], _BAD_RECORD]) + b"\n"
    source = tmp_path / "loans.jsonl"
    source.write_bytes(data)
    env = {**os.environ, "PYTHONIOENCODING": "ascii",
           "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "followup_policy", "evaluate", "--policy", str(HEAD_OFFICE),
               "--as-of", "2026-11-28", "--summary"]
    by_block = subprocess.run([*command, str(source)], env=env, capture_output=True,
                              check=False)
    by_record = subprocess.run([*command, "-"], env=env, capture_output=True, input=data,
                               check=False)
    assert (by_block.returncode, by_block.stdout, by_block.stderr) == (
        by_record.returncode, by_record.stdout, by_record.stderr)
    rejects = [json.loads(line) for line in by_block.stderr.splitlines()[:-1]]
    assert any("could not be written" in r["error"] for r in rejects)
    assert len(rejects) + len(by_block.stdout.splitlines()) == 4


def _on_a_terminal(command: list[str], stdin: Path | None = None) -> list[str]:
    """What a terminal shows when stdout and stderr both go to it."""
    pty = pytest.importorskip("pty", reason="needs a POSIX pseudo-terminal")
    leader, follower = pty.openpty()
    with (stdin.open("rb") if stdin else open(os.devnull, "rb")) as source:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        env.pop("PYTHONUNBUFFERED", None)  # stdout buffered, as Python makes it by default
        process = subprocess.Popen(command, stdout=follower, stderr=follower, stdin=source,
                                   env=env)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command has exited
                break
            if not chunk:
                break
            shown += chunk
        process.wait()
    os.close(leader)
    return [line[:30] for line in shown.decode().splitlines()]


def test_a_terminal_shows_decisions_and_rejects_in_input_order(tmp_path: Path) -> None:
    """Small decisions (a policy that requires nothing) stay in the output buffer unless
    it is flushed before a reject is written."""
    policy = tmp_path / "tiny.yaml"
    policy.write_text('policy:\n  id: tiny\n  title: t\n  version: "1"\n', encoding="utf-8")
    source = tmp_path / "loans.jsonl"
    loans = [json.dumps({"loan_id": f"S{i}", "disbursement_date": "2026-11-27"}).encode()
             for i in range(4)]
    source.write_bytes(b"\n".join([*loans[:2], b"{not json", *loans[2:]]) + b"\n")
    command = [sys.executable, "-m", "followup_policy", "evaluate", "--policy", str(policy),
               "--as-of", "2026-11-28"]
    shown = _on_a_terminal([*command, str(source)])
    assert shown == _on_a_terminal([*command, "-"], source)  # the record path, line-buffered
    assert [line.startswith('{"index": 2') for line in shown] == [False] * 2 + [True] + [False] * 2
