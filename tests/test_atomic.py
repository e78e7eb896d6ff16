"""Atomic outputs: a run that fails or is killed leaves the previous output in place."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from followup_policy.atomic import atomic_bytes, atomic_path, atomic_text, atomic_write_text
from followup_policy.cli import run

from .conftest import HEAD_OFFICE, ROOT

GOOD = '{"loan_id": "A%d", "disbursement_date": "2026-01-01", "loan_type": "residential"}\n'


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_success_replaces_and_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n", encoding="utf-8")
    os.chmod(target, 0o640)
    with pytest.raises(RuntimeError), atomic_text(target) as out:
        out.write("half of a new ")
        raise RuntimeError("crash mid-run")
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert _leftovers(tmp_path) == []
    with atomic_text(target) as out:
        out.write("new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # permissions kept
    assert _leftovers(tmp_path) == []


def test_new_file_gets_umask_permissions_and_bytes_and_paths_work(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "é")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
    assert (tmp_path / "a.txt").read_bytes() == "é".encode()
    with atomic_bytes(tmp_path / "b.bin") as handle:
        handle.write(b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    with atomic_path(tmp_path / "c.parquet") as temporary:
        assert temporary.parent == tmp_path and not (tmp_path / "c.parquet").exists()
        temporary.write_bytes(b"PAR1")
    assert (tmp_path / "c.parquet").read_bytes() == b"PAR1"


def test_symlink_target_is_followed_and_special_files_written_directly(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new"
    atomic_write_text(os.devnull, "discarded")  # not replaced by a regular file
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def _cli(*argv: str, **kwargs: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-m", "followup_policy", *argv], env=env,
                            **kwargs)  # type: ignore[call-overload]


def test_sigkill_mid_run_leaves_the_previous_output_intact(tmp_path: Path) -> None:
    target = tmp_path / "decisions.jsonl"
    previous = "".join(f'{{"previous": {i}}}\n' for i in range(100))
    target.write_text(previous, encoding="utf-8")
    process = _cli("evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28", "-",
                   "-o", str(target), stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    try:
        deadline = time.monotonic() + 30
        count = 0
        # keep feeding records (the run cannot finish: stdin stays open) until the new
        # output is being written beside the old one
        while not [p for p in _leftovers(tmp_path) if (tmp_path / p).stat().st_size]:
            assert time.monotonic() < deadline, "the CLI never started writing"
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            process.stdin.write(("".join(GOOD % (count + i) for i in range(200))).encode())
            process.stdin.flush()
            count += 200
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdin.close()
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert target.read_text(encoding="utf-8") == previous


def test_unreadable_input_keeps_the_previous_output(tmp_path: Path) -> None:
    target = tmp_path / "decisions.jsonl"
    target.write_text('{"previous": 1}\n', encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    rejects.write_text('{"previous": 2}\n', encoding="utf-8")
    err = io.StringIO()
    code = run(["evaluate", "--policy", str(HEAD_OFFICE), str(tmp_path), "-o", str(target),
                "--rejects", str(rejects)], io.StringIO(), err)
    assert code == 2 and len(err.getvalue().splitlines()) == 1
    assert json.loads(target.read_text(encoding="utf-8")) == {"previous": 1}
    assert json.loads(rejects.read_text(encoding="utf-8")) == {"previous": 2}
    assert _leftovers(tmp_path) == []


SMALL_POLICY = """\
policy: {id: small, title: 小政策, version: "1"}
timing_nodes:
  - {id: d30, title: 放款后30天回访, after: 30 days, window: 10 days, channel: phone}
"""


def _failing_rename(*_: object) -> None:
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("writer", ["report", "forecast html", "forecast csv", "tasks csv",
                                    "tasks xlsx", "portfolio parquet", "portfolio csv"])
def test_every_writer_keeps_the_previous_file_when_the_write_fails(
        writer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each writer goes through followup_policy.atomic: when the final rename fails (a
    full disk), the old file is still whole and no temporary file is left behind."""
    import followup_policy as fp
    from followup_policy.engines.portfolio.command import write_arrow

    suffix = {"report": ".html", "forecast html": ".html", "tasks xlsx": ".xlsx",
              "portfolio parquet": ".parquet"}.get(writer, ".csv")
    target = tmp_path / f"previous{suffix}"
    target.write_bytes(b"OLD")
    small = tmp_path / "small.yaml"  # a handbook or forecast of the head office takes seconds
    small.write_text(SMALL_POLICY, encoding="utf-8")
    loans = [json.loads(GOOD % i) for i in range(2)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(GOOD % i for i in range(2)), encoding="utf-8")
    monkeypatch.setattr("followup_policy.atomic.os.replace", _failing_rename)
    with pytest.raises(OSError, match="No space left"):
        if writer == "report":
            fp.report(small, output=target)
        elif writer.startswith("forecast"):
            where = {"output" if writer.endswith("html") else "csv": target}
            fp.forecast(small, loans, as_of=date(2026, 3, 1), months=1,
                        engine="per-loan", dataframe=False, **where)  # type: ignore[arg-type]
        elif writer.startswith("tasks"):
            fmt = writer.split()[1]
            code = run(["tasks", "-p", str(HEAD_OFFICE), str(source), "--as-of", "2026-03-01",
                        "--format", fmt, "-o", str(target)], io.StringIO(), io.StringIO())
            assert code == 2
            raise OSError(28, "No space left on device")  # the CLI reported it: exit 2
        else:
            import pyarrow as pa

            write_arrow(pa.table({"loan_id": ["A1"]}), target)
    assert target.read_bytes() == b"OLD"
    assert _leftovers(tmp_path) == []
