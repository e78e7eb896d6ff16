"""Open a page in real headless Chromium (Debian's package): its DOM, console, screenshot.

Driven with Chromium's own flags, no extra Python package: ``--dump-dom`` prints the
DOM after the page loaded, ``--screenshot`` saves a PNG, and ``--enable-logging``
puts every console message (errors, Content-Security-Policy refusals of any
fetch) on stderr. Each run gets a fresh profile, and the flags keep Chromium off
the network (which is closed anyway). Used by the browser tests and by
``scripts/screenshots.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CHROMIUM", "Rendered", "chromium_path", "print_pdf", "render"]

CHROMIUM = "/usr/bin/chromium"
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--enable-logging=stderr", "--v=0")
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\] (.*)")


@dataclass(frozen=True)
class Rendered:
    dom: str
    console: list[str]
    screenshot: Path | None


def chromium_path() -> str | None:
    """The Chromium executable, if this machine has one."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


def _run(page: Path, profile: Path, extra: list[str]) -> subprocess.CompletedProcess[str]:
    exe = chromium_path()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    command = [exe, *_FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "LANG": "C.UTF-8"})


def render(page: Path, workdir: Path, screenshot: Path | None = None,
           width: int = 1280, height: int = 2200) -> Rendered:
    """Load ``page``; return its DOM and console messages, and save a screenshot."""
    workdir.mkdir(parents=True, exist_ok=True)
    dumped = _run(page, workdir / "profile-dom", ["--dump-dom"])
    console = _CONSOLE.findall(dumped.stderr)
    if screenshot is not None:
        shot = _run(page, workdir / "profile-shot",
                    [f"--screenshot={screenshot}", f"--window-size={width},{height}"])
        console += _CONSOLE.findall(shot.stderr)
        if not screenshot.exists():
            raise RuntimeError(f"chromium saved no screenshot: {shot.stderr[-2000:]}")
    return Rendered(dumped.stdout, console, screenshot)


def print_pdf(page: Path, workdir: Path, target: Path) -> list[str]:
    """Print ``page`` to PDF as a browser would (print stylesheet); the console messages."""
    workdir.mkdir(parents=True, exist_ok=True)
    done = _run(page, workdir / "profile-pdf", [f"--print-to-pdf={target}",
                                                "--no-pdf-header-footer"])
    if not target.exists():
        raise RuntimeError(f"chromium printed no PDF: {done.stderr[-2000:]}")
    return _CONSOLE.findall(done.stderr)
