"""Atomic output files: write a temporary file beside the target, rename on success.

Every file the library or the CLI writes (decisions, rejects, tasks, reports,
portfolio outputs, JUnit XML) goes through here, so a run that is killed, runs
out of disk or fails half-way never leaves a short file that parses cleanly and
looks complete: the previous good output stays in place until the new one is
whole. The rename is atomic on POSIX and on Windows (``os.replace``) because the
temporary file lives in the same folder as the target.

Usage::

    with atomic_text("decisions.jsonl") as out:      # UTF-8, newlines as written
        out.write(...)
    with atomic_bytes("book.xlsx") as out:
        workbook.save(out)
    with atomic_path("tasks.parquet") as tmp:          # for libraries that want a path
        table.write_parquet(tmp)

Targets that are not regular files (``/dev/null``, a FIFO, a terminal) cannot be
replaced; they are written directly.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = [
    "atomic_bytes",
    "atomic_path",
    "atomic_text",
    "atomic_write_bytes",
    "atomic_write_text",
]


def _umask() -> int:
    """The process umask, read without changing it where the platform allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no way to read it without setting it
    os.umask(mask)
    return mask


def _target(path: str | os.PathLike[str]) -> tuple[Path, bool]:
    """The real file to replace (through symlinks), and whether it can be replaced."""
    target = Path(os.path.realpath(os.fspath(path)))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target, True
    return target, stat.S_ISREG(mode)


def _new_mode(target: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0666 & ~umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _fsync_dir(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened; rename is durable enough
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    On any exception (including ``KeyboardInterrupt``) the temporary file is
    removed and ``path`` is left as it was. For writers that insist on opening
    the file themselves (Parquet, Excel libraries); others use :func:`atomic_text`.
    """
    target, replaceable = _target(path)
    if not replaceable:
        yield target
        return
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                        dir=target.parent)
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as written:  # flush the data before the rename
            os.fsync(written.fileno())
        os.chmod(temporary, _new_mode(target))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _fsync_dir(target.parent)


@contextlib.contextmanager
def _atomic_text(path: str | os.PathLike[str], encoding: str,
                 newline: str | None) -> Iterator[IO[str]]:
    with atomic_path(path) as temporary, \
            open(temporary, "w", encoding=encoding, newline=newline) as handle:
        yield handle


@contextlib.contextmanager
def _atomic_bytes(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        yield handle


def atomic_text(path: str | os.PathLike[str], encoding: str = "utf-8",
                newline: str | None = "") -> contextlib.AbstractContextManager[IO[str]]:
    """A text file (UTF-8, newlines as written) that replaces ``path`` on success."""
    return _atomic_text(path, encoding, newline)


def atomic_bytes(path: str | os.PathLike[str]) -> contextlib.AbstractContextManager[IO[bytes]]:
    """A binary file that replaces ``path`` on success."""
    return _atomic_bytes(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically."""
    with atomic_text(path, encoding) as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_bytes(path) as handle:
        handle.write(data)
