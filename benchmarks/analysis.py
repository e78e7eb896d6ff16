"""How long `analyze` takes on every shipped policy (target: under 10 s in all).

Usage::

    python benchmarks/analysis.py

Needs the analysis extra (``pip install -e '.[analysis]'``). The baseline, measured in
the same run, is loading the same policies (``fp.load_policy``), which analysis must do
first anyway; the ratio says how much the proofs cost on top of reading the files.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
try:
    import followup_policy as fp
except ImportError:  # straight from a clone
    sys.path.insert(0, str(ROOT / "src"))
    import followup_policy as fp

TARGET_S = 10.0


def main() -> int:
    paths = sorted((ROOT / "policies").rglob("*.yaml"))
    started = time.perf_counter()
    policies = [fp.load_policy(path) for path in paths]
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    results = [fp.analyze(policy) for policy in policies]
    analyze_s = time.perf_counter() - started
    total_s = load_s + analyze_s
    for path, result in zip(paths, results, strict=True):
        print(f"  {path.relative_to(ROOT)}: {len(result.problems)} problem(s),"
              f" {len(result.unknowns)} undecided, {len(result.proofs)} proof(s)")
    print(f"analyze {len(paths)} shipped policies: {total_s:.2f} s (load {load_s:.2f} s +"
          f" analysis {analyze_s:.2f} s; {total_s / load_s:.1f}x loading alone);"
          f" target under {TARGET_S:.0f} s: {'met' if total_s < TARGET_S else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
