"""JSONL in, JSONL out through the real command line, with one process and with ``--jobs``.

Writes a file of ``count`` loans (the benchmark portfolio with fresh loan ids), runs
``followup-policy evaluate`` on it as a child process, and samples the resident memory
of the command and its workers while it runs, so "memory flat" can be read off: the peak
over the first half of the run against the peak over the whole run.

The baseline is the same job done by hand in one process (``python cli_stream.py
--baseline POLICY LOANS OUT AS_OF``): read the file line by line, ``json.loads`` each
line with ``Decimal`` numbers, ``head_office_baseline`` (check, convert, evaluate) and
``json.dumps`` of the result, one line each, into a file; run and timed the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CliRun", "run_cli", "write_loans"]

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CliRun:
    jobs: int
    loans: int
    seconds: float
    peak_quarter_mb: float  # peak over the first half of the run
    peak_mb: float
    output_lines: int
    cpu_s: float = 0.0  # CPU time of the command and its workers (Linux/Unix)
    main_cpu_s: float = 0.0  # of the command's own process, as last sampled (Linux)

    @property
    def worker_cpu_s(self) -> float:
        return max(self.cpu_s - self.main_cpu_s, 0.0)


def write_loans(path: Path, count: int, pool: list[str]) -> None:
    """``count`` JSONL loans cycling through ``pool``, each with its own loan id."""
    import json

    with path.open("w", encoding="utf-8") as handle:
        for index in range(count):
            loan = json.loads(pool[index % len(pool)])
            loan["loan_id"] = f"B{index:08d}"
            handle.write(json.dumps(loan, ensure_ascii=False) + "\n")


def _tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and its descendants (Linux /proc), in MiB."""
    total = 0
    pids = [root]
    seen: set[int] = set()
    while pids:
        pid = pids.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as children:
                pids.extend(int(child) for child in children.read().split())
        except OSError:
            continue
    return total / 1024


def run_cli(policy: Path, loans_file: Path, count: int, jobs: int, as_of: str,
            baseline: bool = False, options: Sequence[str] = (),
            out_file: Path | None = None) -> CliRun:
    """Run the command once (or the hand-written baseline); time it and sample its memory
    every 50 ms. ``options`` are more arguments of ``evaluate`` (e.g. ``--engine``); the
    output is kept in ``out_file`` when one is given."""
    with tempfile.TemporaryDirectory() as folder:
        out = out_file or Path(folder) / "out.jsonl"
        env = dict(os.environ)
        env["PYTHONPATH"] = str(HERE.parent / "src") + os.pathsep + env.get("PYTHONPATH", "")
        command = [sys.executable, "-m", "followup_policy", "evaluate", "--policy", str(policy),
                   "--as-of", as_of, "--jobs", str(jobs), *options, "-o", str(out),
                   str(loans_file)]
        if baseline:
            command = [sys.executable, str(Path(__file__).resolve()), "--baseline", str(policy),
                       str(loans_file), str(out), as_of]
        samples: list[tuple[float, float]] = []
        main_cpu = [0.0]
        cpu_before = _children_cpu_s()
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)

        def sample() -> None:
            while proc.poll() is None:
                samples.append((time.perf_counter() - start, _tree_rss_mb(proc.pid)))
                main_cpu[0] = _process_cpu_s(proc.pid) or main_cpu[0]
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = proc.communicate()
        seconds = time.perf_counter() - start
        sampler.join()
        cpu = _children_cpu_s() - cpu_before
        if proc.returncode not in (0, 1):
            raise SystemExit(f"ABORT: followup-policy evaluate failed: {err.strip()}")
        with out.open(encoding="utf-8") as handle:
            lines = sum(1 for _ in handle)
    # workers start during the first part of a run, so compare the peak of the first half
    # (everything up and running) with the peak of the second: growth there is leakage
    first = [rss for when, rss in samples if when <= seconds / 2] or [0.0]
    return CliRun(jobs, count, seconds, max(first), max((rss for _, rss in samples),
                                                        default=0.0), lines, cpu, main_cpu[0])


def _children_cpu_s() -> float:
    """CPU seconds of every finished child and the children they waited for (0 without
    ``resource``)."""
    try:
        import resource
    except ImportError:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_cpu_s(pid: int) -> float | None:
    """CPU seconds used so far by process ``pid`` alone (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def baseline_command(policy_file: Path, loans_file: Path, out_file: Path, as_of: str) -> None:
    """The hand-written contender: what ``followup-policy evaluate`` does, in plain Python."""
    import json
    from datetime import date
    from decimal import Decimal

    sys.path.insert(0, str(HERE))
    sys.path.insert(1, str(HERE.parent / "src"))
    from head_office_baseline import BadSnapshot, Baseline, coerce

    import followup_policy as fp

    on = date.fromisoformat(as_of)
    baseline = Baseline(policy_file, fp.load_policy(policy_file).digest)
    evaluate = baseline.evaluate
    # built once: json.loads/json.dumps with options build a new decoder/encoder per call
    loads = json.JSONDecoder(parse_float=Decimal).decode
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                             default=date.isoformat).encode
    with loans_file.open(encoding="utf-8") as source, \
            out_file.open("w", encoding="utf-8") as out:
        for index, line in enumerate(source):
            raw = loads(line)
            try:
                result = evaluate(coerce(raw), on)
            except BadSnapshot as exc:
                sys.stderr.write(json.dumps({"index": index, "error": str(exc)}) + "\n")
                continue
            out.write(dumps(result) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "--baseline":
        raise SystemExit("usage: cli_stream.py --baseline POLICY LOANS OUT AS_OF")
    baseline_command(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5])
