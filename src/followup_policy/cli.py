"""The ``followup-policy`` command line.

``main()`` only calls ``sys.exit(run(argv, stdout, stderr))`` so every command is
testable in-process. Exit codes (docs/cli.md): 0 ok, 1 a rejected record or failed
test case, 2 usage, load error, unreadable input or unwritable output, 3 an internal
error (a bug: one line on stderr, never a traceback). A broken pipe ends the run
quietly with the code it had earned so far.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import __version__
from .atomic import atomic_text
from .batch import describe_internal_error, evaluate_record, unwritable
from .decisions import RecordError
from .errors import PolicyError, PolicyLoadError, SnapshotError
from .io import INPUT_FORMATS, ColumnMapping, load_mapping, open_records
from .layering import policy_root
from .loading import yaml_files_under
from .messages import (
    choose_language,
    localize_parser,
    render_issue,
    split_language_option,
    translate_lines,
)
from .output import OutputFormat, make_writer
from .policy import Policy
from .records import Record, Unreadable
from .schema_export import policy_json_schema
from .snapshots import MAX_DATE, MIN_DATE, loan_id_of

if TYPE_CHECKING:
    from .engines.portfolio.tables import FollowUpTable

__all__ = ["EXIT_INTERNAL", "EXIT_OK", "EXIT_REJECTED", "EXIT_USAGE", "main", "run"]

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so ``run`` returns exit code 2."""

    def error(self, message: str) -> Any:
        raise _UsageError(f"{self.prog}: {message}")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="followup-policy",
                     description="Mortgage post-loan follow-up policies: validate, evaluate.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser("validate", help="check policy files; print file:line:col")
    validate.add_argument("paths", nargs="+", metavar="PATH",
                          help="policy files or directories (*.yaml, *.yml)")
    validate.add_argument("--strict", action="store_true",
                          help="also run 'analyze' (needs followup-policy[analysis])")

    analyze = commands.add_parser(
        "analyze", help="prove what policies can and cannot do (needs the analysis extra)")
    analyze.add_argument("paths", nargs="+", metavar="POLICY",
                         help="policy files or directories (*.yaml, *.yml)")
    analyze.add_argument("--json", action="store_true", help="one JSON object per policy")
    analyze.add_argument("--timeout-ms", type=int, default=None,
                         help="solver time per question; beyond it the answer is unknown")

    schema = commands.add_parser("schema", help="print the JSON Schema of the policy format")
    schema.add_argument("--branch", action="store_true",
                        help="print the branch variant of the schema: every key optional, "
                             "for files with extends")

    evaluate = commands.add_parser("evaluate", help="evaluate borrower snapshots")
    evaluate.add_argument("--policy", "-p", required=True, help="policy file")
    evaluate.add_argument("--as-of", type=_iso_date, default=None,
                          help="evaluation date (default: each snapshot's as_of, else today)")
    _add_input_arguments(evaluate)
    evaluate.add_argument("--format", "-f", choices=("jsonl", "csv", "table", "parquet"),
                          default="jsonl",
                          help="output format (default: jsonl; parquet: the actions table,"
                               " portfolio engine only)")
    evaluate.add_argument("--engine", choices=("portfolio", "per-loan"), default=None,
                          help="portfolio: the policy compiled to SQL on DuckDB (default for"
                               " Parquet); per-loan: one snapshot at a time (default otherwise)")
    evaluate.add_argument("-o", "--output", default=None, help="write decisions here")
    evaluate.add_argument("--rejects", default=None,
                          help="write rejected records here as JSON lines (default: stderr)")
    evaluate.add_argument("--summary", action="store_true",
                          help="print counts of records, actions and statuses to stderr")
    evaluate.add_argument("--follow-ups", default=None, metavar="FILE",
                          help="follow-up history as a long table (loan_id, action, date,"
                               " channel, outcome; Parquet, JSONL, CSV or JSON, UTF-8): its"
                               " rows are added to each loan's follow_ups; rows naming no"
                               " loan of INPUT are reported with the rejects")
    evaluate.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="N",
                          help="evaluate in N worker processes (0: one per CPU); output order"
                               " is kept")
    sql = commands.add_parser("sql", help="print the SQL the portfolio engine runs for a policy")
    sql.add_argument("--dialect", choices=("duckdb", "spark"), default="duckdb")
    sql.add_argument("path", metavar="POLICY")
    resolve = commands.add_parser(
        "resolve", help="print the effective merged policy with each value's origin")
    resolve.add_argument("path", metavar="POLICY")
    diff = commands.add_parser("diff", help="list what differs between two policies")
    diff.add_argument("old", metavar="A", help="e.g. the head-office policy or an old version")
    diff.add_argument("new", metavar="B", help="e.g. a branch policy or a new version")

    test = commands.add_parser("test", help="run policy test cases; print failures and coverage")
    test.add_argument("paths", nargs="+", metavar="PATH",
                      help="test case files or directories (*.yaml, *.yml)")
    test.add_argument("--junit", metavar="FILE", default=None,
                      help="also write the results as JUnit XML, for CI systems")
    test.add_argument("-k", "--case", dest="name_contains", metavar="TEXT", default=None,
                      help="run only the cases whose name contains TEXT")
    test.add_argument("--explain", action="store_true",
                      help="print the full explanation under each failing case")
    test.add_argument("--min-coverage", type=_percentage, default=None, metavar="N",
                      help="fail the run if any coverage category of a policy is below N percent")

    report = commands.add_parser(
        "report", help="HTML handbook of a policy, or --compare HEAD BRANCH... (offline page)")
    report.add_argument("paths", nargs="+", metavar="POLICY")
    report.add_argument("--compare", action="store_true",
                        help="the first policy is the head office, the others its branches")
    report.add_argument("-o", "--output", default=None, help="HTML file (default: stdout)")

    forecast = commands.add_parser("forecast", help="workload the policy creates (HTML, CSV)")
    forecast.add_argument("--policy", "-p", required=True, help="policy file")
    forecast.add_argument("portfolio", metavar="PORTFOLIO",
                          help="JSONL, CSV, JSON, Excel or Parquet snapshots")
    forecast.add_argument("--months", type=int, default=12, help="forecast length (default 12)")
    forecast.add_argument("--as-of", type=_iso_date, default=None,
                          help="the forecast starts after this date (default: today)")
    forecast.add_argument("-o", "--output", default=None, help="HTML page (default: stdout)")
    forecast.add_argument("--csv", default=None, metavar="FILE",
                          help="the numbers as CSV (- for stdout)")
    forecast.add_argument("--branch-field", default="branch",
                          help="snapshot column naming the branch (default: branch)")
    forecast.add_argument("--engine", choices=("auto", "per-loan", "portfolio"), default="auto",
                          help="auto: the portfolio SQL engine when installed, else per-loan")
    forecast.add_argument("--encoding", default=None,
                          help="text encoding of a CSV/JSONL portfolio (default: detected;"
                          " UTF-8, GBK/GB18030)")

    explain = commands.add_parser("explain", help="why each action was or was not required")
    explain.add_argument("--policy", "-p", required=True, help="policy file")
    explain.add_argument("--as-of", type=_iso_date, default=None,
                         help="evaluation date (default: the snapshot's as_of, else today)")
    explain.add_argument("--loan", required=True, help="loan_id of the record to explain")
    _add_input_arguments(explain)
    explain.add_argument("--json", action="store_true", help="print the explanation as JSON")
    source = commands.add_parser("source", help="print the Python generated from a policy")
    source.add_argument("path", metavar="POLICY")

    tasks = commands.add_parser("tasks", help="one row per follow-up task, sorted by deadline")
    tasks.add_argument("--policy", "-p", required=True, help="policy file")
    tasks.add_argument("--as-of", type=_iso_date, default=None,
                       help="evaluation date (default: each snapshot's as_of, else today)")
    _add_input_arguments(tasks)
    tasks.add_argument("--rejects", default=None,
                       help="write rejected records here as JSON lines (default: stderr)")
    from .tasks_cli import add_task_arguments

    add_task_arguments(tasks)
    _add_policy_root(parser, commands)
    return parser


_POLICY_ROOT_HELP = ("the folder `extends` may reach (default: the nearest folder above the"
                     " policy holding a .followup-policy-root file, else the policy's folder)")


def _add_policy_root(parser: argparse.ArgumentParser,
                     commands: argparse._SubParsersAction[_Parser]) -> None:
    """``--policy-root DIR`` before or after the command name."""
    parser.add_argument("--policy-root", metavar="DIR", default=None, help=_POLICY_ROOT_HELP)
    for command in commands.choices.values():
        command.add_argument("--policy-root", metavar="DIR", default=argparse.SUPPRESS,
                             help=_POLICY_ROOT_HELP)


def _percentage(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"'{text}' is not a percentage from 0 to 100")
    return value


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT",
                        help="JSONL, CSV, JSON, .xlsx or .parquet file, or - for stdin")
    parser.add_argument("--input-format", choices=INPUT_FORMATS, default=None,
                        help="input format (default: from the file name; stdin is JSONL)")
    parser.add_argument("--encoding", default=None,
                        help="text encoding of CSV/JSONL input (default: detected; UTF-8,"
                        " UTF-8 with BOM or GB18030/GBK)")
    parser.add_argument("--mapping", "-m", default=None, metavar="FILE",
                        help="column mapping (YAML): source headers, date formats and value"
                        " codes onto snapshot fields")


def _iso_date(text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date YYYY-MM-DD") from None
    if not MIN_DATE <= value <= MAX_DATE:
        raise argparse.ArgumentTypeError(
            f"'{text}' is outside the supported dates {MIN_DATE}..{MAX_DATE}")
    return value


def main() -> None:
    code = run(sys.argv[1:], sys.stdout, sys.stderr)
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # keep the interpreter from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(code)


class _Earned:
    """The exit code a run has earned so far, for when a broken pipe cuts it short."""

    code = EXIT_OK


class _Earning(argparse.Namespace):
    earned: _Earned


def run(argv: Sequence[str], stdout: IO[str], stderr: IO[str],
        stdin: IO[str] | None = None) -> int:
    """Run one command; returns the exit code instead of exiting.

    ``--lang en|zh`` (anywhere in ``argv``; default from the locale) chooses the
    language of help, load errors, test reports and explanations.
    """
    requested, argv = split_language_option(argv)
    try:
        lang = choose_language(requested)
    except ValueError as exc:
        _say(stderr, f"followup-policy: {exc}")
        return EXIT_USAGE
    parser = _build_parser()
    localize_parser(parser, lang)
    try:
        args = parser.parse_args(list(argv), namespace=_Earning())
    except _UsageError as exc:
        _say(stderr, str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    args.lang = lang
    handler = {"validate": _validate, "schema": _schema, "evaluate": _evaluate,
               "explain": _explain, "resolve": _resolve, "diff": _diff,
               "test": _test, "analyze": _analyze, "report": _report,
               "forecast": _forecast, "source": _source, "tasks": _tasks,
               "sql": _sql}[args.command]
    args.earned = _Earned()
    try:
        with policy_root(args.policy_root):
            return handler(args, stdout, stderr, stdin or sys.stdin)
    except BrokenPipeError:  # e.g. `| head`: the reader has what it wanted
        return args.earned.code
    except _UsageError as exc:
        _say(stderr, str(exc))
        return EXIT_USAGE
    except PolicyLoadError as exc:
        _say(stderr, "".join(f"{render_issue(issue, lang)}\n" for issue in exc.issues)[:-1])
        return EXIT_USAGE
    except (PolicyError, OSError, ImportError) as exc:  # unreadable input, unwritable output;
        _say(stderr, f"followup-policy: {_one_line(exc)}")  # ImportError: a missing extra
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line, never a traceback
        _say(stderr, f"followup-policy: {describe_internal_error(exc)}")
        return EXIT_INTERNAL


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _say(stderr: IO[str], line: str) -> None:
    """Write a message line; an unwritable stderr (``2>/dev/full``) must not crash the run."""
    try:
        stderr.write(line + "\n")
        stderr.flush()
    except (OSError, ValueError):
        pass


def _policy_files(paths: Sequence[str]) -> Iterator[Path]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from yaml_files_under(path)
        else:
            yield path


def _validate(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], _: IO[str]) -> int:
    from . import load_policy

    failed = False
    for path in _policy_files(args.paths):
        try:
            policy = load_policy(path)
        except PolicyLoadError as exc:
            failed = True
            for issue in exc.issues:
                stdout.write(f"{render_issue(issue, args.lang)}\n")
            continue
        except (PolicyError, OSError) as exc:
            failed = True
            stdout.write(f"{path}:1:1: {_one_line(exc)}\n")
            continue
        finally:
            args.earned.code = EXIT_USAGE if failed else EXIT_OK
        stdout.write(f"{path}: ok ({policy.id} {policy.version})\n")
    if failed:
        return EXIT_USAGE
    if args.strict:
        from .analysis.command import run_analyze

        return run_analyze(_policy_files(args.paths), stdout, stderr)
    return EXIT_OK


def _analyze(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], _: IO[str]) -> int:
    from .analysis.command import run_analyze

    return run_analyze(_policy_files(args.paths), stdout, stderr, as_json=args.json,
                       timeout_ms=args.timeout_ms)


def _schema(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], _: IO[str]) -> int:
    schema = policy_json_schema(branch=args.branch)
    stdout.write(json.dumps(schema, ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK


def _open_out(name: str | None, default: IO[str]) -> contextlib.AbstractContextManager[IO[str]]:
    """``default`` for ``-`` or no name; else a file replaced only when the run succeeds."""
    if name is None or name == "-":
        return contextlib.nullcontext(default)
    return atomic_text(name)


@contextlib.contextmanager
def _open_in(args: argparse.Namespace, stdin: IO[str], policy: Policy,
             history: FollowUpTable | None = None) -> Iterator[Iterator[Record | Unreadable]]:
    """The input records, through ``--encoding`` and ``--mapping``, with the rows of the
    ``--follow-ups`` table (``history``) added to each loan's history."""
    mapping: ColumnMapping | None = None
    if args.mapping is not None:
        mapping = load_mapping(args.mapping, policy)
    with open_records(args.input, fmt=args.input_format, encoding=args.encoding,
                      mapping=mapping, stdin=stdin) as records:
        if history is None:
            yield records
        else:
            from .engines.portfolio.tables import with_history

            yield with_history(records, history)


def _follow_up_table(args: argparse.Namespace) -> FollowUpTable | None:
    """The ``--follow-ups`` table grouped by loan, or None; a file that cannot be read is
    an input error (exit 2, one line)."""
    if args.follow_ups is None:
        return None
    from .engines.portfolio.tables import FollowUpTable
    from .io.errors import InputError

    try:
        return FollowUpTable(args.follow_ups)
    except OSError as exc:
        raise InputError(f"cannot read {args.follow_ups}: {exc.strerror or exc}") from None


class _Progress:
    """A one-line progress counter on a terminal; silent when stderr is not a TTY."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._enabled = bool(getattr(stream, "isatty", lambda: False)())
        self._start = time.monotonic()
        self._last = self._start

    def tick(self, count: int) -> None:
        if not self._enabled or count % 1000:
            return
        self.at(count)

    def at(self, count: int) -> None:
        """Show ``count`` records done, at most twice a second."""
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last >= 0.5:
            self._last = now
            rate = count / max(now - self._start, 1e-9)
            self._stream.write(f"\r{count:,} records  {rate:,.0f}/s")
            self._stream.flush()

    def done(self) -> None:
        if self._enabled and self._last != self._start:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _evaluate(args: _Earning, stdout: IO[str], stderr: IO[str], stdin: IO[str]) -> int:
    from . import load_policy

    policy = load_policy(args.policy)
    out_fmt: OutputFormat = args.format
    if _engine(args) == "portfolio":
        return _evaluate_portfolio(args, policy, stdout, stderr, stdin)
    if out_fmt == "parquet":  # type: ignore[comparison-overlap]
        raise _UsageError("--format parquet needs the portfolio engine (--engine portfolio)")
    counts: dict[str, int] = {"records": 0, "decisions": 0, "rejected": 0, "actions": 0}
    history = _follow_up_table(args)
    codec = _block_codec(args, out_fmt) if history is None else None
    if codec is not None:
        _evaluate_blocks(policy, args, codec, stdout, stderr, counts)
        if args.summary:
            stderr.write(_summary(counts) + "\n")
        return EXIT_REJECTED if counts["rejected"] else EXIT_OK
    with _open_in(args, stdin, policy, history) as source, \
            _open_out(args.output, stdout) as out, _open_out(args.rejects, stderr) as rejects:
        writer = make_writer(out, out_fmt)
        if args.jobs != 1 and out_fmt != "table":
            _evaluate_in_processes(policy, args, source, out, rejects, counts, stderr)
        else:
            for raw, decision in _decisions(policy, source, args.as_of, rejects, counts,
                                            stderr, args.earned):
                try:
                    writer.write(decision)
                except OSError:  # the output itself failed (disk full, broken pipe): end it
                    raise
                except Exception as exc:  # e.g. text the output encoding cannot hold
                    _reject_unwritable(rejects, counts, raw, exc)
                    args.earned.code = EXIT_REJECTED
                    continue
                counts["decisions"] += 1
                counts["actions"] += len(decision.actions)
                for action in decision.actions:
                    counts[action.status] = counts.get(action.status, 0) + 1
        writer.close()
        if history is not None:
            from .engines.portfolio.command import write_unmatched

            write_unmatched(rejects, history.unmatched(), counts)
    if args.summary:
        stderr.write(_summary(counts) + "\n")
    return EXIT_REJECTED if counts["rejected"] or counts.get("unmatched_follow_ups") else EXIT_OK


def _engine(args: argparse.Namespace) -> str:
    from .engines.portfolio.command import choose_engine
    from .io.formats import guess_format

    return choose_engine(args.engine, args.input_format or guess_format(args.input))


def _evaluate_portfolio(args: _Earning, policy: Policy, stdout: IO[str],
                        stderr: IO[str], stdin: IO[str]) -> int:
    """The portfolio engine, or per loan (saying why) when it cannot run this policy."""
    from .engines.portfolio.command import evaluate_command, output_refusal, portfolio_refusal

    why = portfolio_refusal(policy)
    if why is None and args.output in (None, "-"):
        why = output_refusal(args.format, stdout)
    if why is not None:
        stderr.write(f"followup-policy: {why}; evaluating per loan instead\n")
        args.engine = "per-loan"
        return _evaluate(args, stdout, stderr, stdin)

    def summary(counts: dict[str, int]) -> None:
        if args.summary:
            stderr.write(_summary(counts) + "\n")

    from .engines.portfolio.conditions import Unsupported

    parquet_out = args.format == "parquet"
    try:
        table = _typed_table(args)
        if table is not None and args.format in ("parquet", "jsonl"):  # written by DuckDB
            from .engines.portfolio.command import export_command

            with _open_out(None if parquet_out else args.output, stdout) as out, \
                    _open_out(args.rejects, stderr) as rejects:
                code = export_command(policy, table, args.follow_ups, args.output,
                                      args.as_of, rejects, summary,
                                      None if parquet_out else out)
            if code is not None:
                return code
        if table is not None:  # a Parquet or JSONL file as it is: checked in SQL
            from .engines.portfolio.command import typed_table_result, write_result

            result = typed_table_result(policy, table, args.as_of, args.follow_ups)
            if result is not None:
                with _open_out(None if parquet_out else args.output, stdout) as out, \
                        _open_out(args.rejects, stderr) as rejects:
                    return write_result(result, None if parquet_out else out, args.output,
                                        args.format, rejects, summary)
        history = _follow_up_table(args)
        with _open_in(args, stdin, policy, history) as records, \
                _open_out(None if parquet_out else args.output, stdout) as out, \
                _open_out(args.rejects, stderr) as rejects:
            return evaluate_command(policy, records, None if parquet_out else out,
                                    args.output, args.format, rejects, args.as_of, summary,
                                    history)
    except Unsupported as exc:  # found while running: nothing was written yet
        if args.input in (None, "-"):
            stderr.write(f"followup-policy: the portfolio engine cannot evaluate this input:"
                         f" {exc}; pass --engine per-loan\n")
            return EXIT_USAGE
        stderr.write(f"followup-policy: {exc}; evaluating per loan instead\n")
        args.engine = "per-loan"
        return _evaluate(args, stdout, stderr, stdin)


def _typed_table(args: argparse.Namespace) -> Any:
    """A Parquet file read as it is, or a JSONL file read by DuckDB (no column mapping);
    None for any other input, read record by record."""
    from .io.formats import guess_format

    if args.input in (None, "-") or args.mapping is not None:
        return None
    fmt = args.input_format or guess_format(args.input)
    if fmt == "jsonl":
        from .engines.portfolio.jsonl import jsonl_file

        return jsonl_file(args.input, args.encoding)
    return args.input if fmt == "parquet" else None


def _sql(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], _: IO[str]) -> int:
    from . import load_policy
    from .engines.portfolio.command import sql_command

    return sql_command(load_policy(args.path), args.dialect, stdout, stderr)


def _decisions(policy: Policy, records: Iterator[Record | Unreadable], as_of: date | None,
               rejects: IO[str], counts: dict[str, int], stderr: IO[str],
               earned: _Earned | None = None) -> Iterator[tuple[Any, Any]]:
    """(raw record, decision) for each good record; each bad one goes to ``rejects``.

    The batch contract: whatever a record holds, it ends as one decision or one
    reject (:mod:`followup_policy.batch`); only failures of the output streams
    themselves (``OSError``: disk full, broken pipe) end the run.
    """
    progress = _Progress(stderr)
    for item in records:
        counts["records"] += 1
        progress.tick(counts["records"])
        if isinstance(item, Unreadable):
            counts["rejected"] += 1
            if earned is not None:
                earned.code = EXIT_REJECTED
            _reject(rejects, item.index, item.line, None, item.message)
            continue
        result = evaluate_record(policy.evaluate, item.data, _as_of_for(item.data, as_of),
                                 item.index)
        if isinstance(result, RecordError):
            counts["rejected"] += 1
            if earned is not None:
                earned.code = EXIT_REJECTED
            _reject(rejects, item.index, item.line, result.loan_id, result.message,
                    result.field)
            continue
        counts["current_index"], counts["current_line"] = item.index, item.line or 0
        yield item.data, result
    progress.done()


def _block_codec(args: argparse.Namespace, out_fmt: str) -> str | None:
    """The codec to read the input in blocks with, or None for the record path."""
    from .blocks import block_codec
    from .io.formats import guess_format, text_codec

    if out_fmt not in ("jsonl", "csv") or args.input in (None, "-"):
        return None
    if (args.input_format or guess_format(args.input)) != "jsonl":
        return None
    return block_codec(*text_codec(args.input, args.encoding))


def _evaluate_blocks(policy: Policy, args: _Earning, codec: str, stdout: IO[str],
                     stderr: IO[str], counts: dict[str, int]) -> None:
    """A JSONL file in blocks (:mod:`followup_policy.blocks`), in this process or in
    ``--jobs`` workers; the same output, rejects and counts as the record path."""
    from .blocks import BlockEvaluator, evaluate_blocks, output_encoding, read_blocks, write_results
    from .io.errors import InputError

    mapping = load_mapping(args.mapping, policy) if args.mapping is not None else None
    try:
        source = open(args.input, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"cannot read {args.input}: {exc.strerror or exc}") from None
    with source, _open_out(args.output, stdout) as out, \
            _open_out(args.rejects, stderr) as rejects:
        writer = make_writer(out, args.format)
        evaluator = BlockEvaluator(policy, args.as_of, _as_of_for, args.format, codec,
                                   output_encoding(out), mapping)
        jobs = args.jobs or os.cpu_count() or 1
        if jobs == 1:
            results = evaluate_blocks(evaluator, read_blocks(source))
        else:
            from .parallel import evaluate_blocks_in_processes

            results = evaluate_blocks_in_processes(evaluator, read_blocks(source), jobs)

        def reject(index: int, line: int | None, loan_id: str | None, message: str,
                   field: str | None) -> None:
            args.earned.code = EXIT_REJECTED
            _reject(rejects, index, line, loan_id, message, field)

        progress = _Progress(stderr)
        write_results(results, out, counts, reject, progress.at)
        progress.done()
        writer.close()


def _evaluate_in_processes(policy: Policy, args: _Earning,
                           source: Iterator[Record | Unreadable], out: IO[str], rejects: IO[str],
                           counts: dict[str, int], stderr: IO[str]) -> None:
    from .parallel import Outcome, evaluate_in_processes

    progress = _Progress(stderr)
    jobs = args.jobs or os.cpu_count() or 1
    for outcome in evaluate_in_processes(policy, source, args.as_of, _as_of_for, args.format,
                                         jobs):
        counts["records"] += 1
        progress.tick(counts["records"])
        if outcome.reject is None:
            assert outcome.text is not None
            try:
                out.write(outcome.text)
            except OSError:  # the output itself failed (disk full, broken pipe): end the run
                raise
            except Exception as exc:  # e.g. text the output encoding cannot hold
                index, line, loan_id = outcome.where
                outcome = Outcome(None, reject=(index, line, loan_id, unwritable(exc), None))
        if outcome.reject is not None:
            counts["rejected"] += 1
            args.earned.code = EXIT_REJECTED
            _reject(rejects, *outcome.reject)
            continue
        counts["decisions"] += 1
        counts["actions"] += len(outcome.statuses)
        for status in outcome.statuses:
            counts[status] = counts.get(status, 0) + 1
    progress.done()


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of jobs (0 = one per CPU)")
    return value


def _reject_unwritable(rejects: IO[str], counts: dict[str, int], raw: Any,
                       exc: Exception) -> None:
    """The reject for a decision the output could not hold; the run goes on."""
    counts["rejected"] += 1
    _reject(rejects, counts["current_index"], counts["current_line"] or None, loan_id_of(raw),
            unwritable(exc))


def _as_of_for(data: Any, as_of: date | None) -> date | None:
    """``--as-of``, else the snapshot's own ``as_of``, else today.

    Only the command line falls back to the clock; the library never reads it.
    """
    if as_of is None and not (isinstance(data, dict) and data.get("as_of")):
        return date.today()
    return as_of


def _reject(stream: IO[str], index: int, line: int | None, loan_id: str | None, message: str,
            field: str | None = None) -> None:
    entry = {"index": index, "line": line, "loan_id": loan_id, "field": field, "error": message}
    text = json.dumps(entry, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # keep the reject writable whatever text it quotes
        text = json.dumps(entry)
    stream.write(text + "\n")


def _summary(counts: dict[str, int]) -> str:
    statuses = ", ".join(f"{name} {counts.get(name, 0)}"
                         for name in ("overdue", "due", "upcoming"))
    unmatched = counts.get("unmatched_follow_ups", 0)
    orphans = f"; {unmatched} follow-up rows reached no loan" if unmatched else ""
    return (f"{counts['records']} records: {counts['decisions']} evaluated,"
            f" {counts['rejected']} rejected; {counts['actions']} actions ({statuses})"
            f"{orphans}")


def _explain(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], stdin: IO[str]) -> int:
    from . import load_policy

    policy = load_policy(args.policy)
    with _open_in(args, stdin, policy) as source:
        for item in source:
            if not isinstance(item, Record) or not isinstance(item.data, dict):
                continue
            if str(item.data.get("loan_id")) != args.loan:
                continue
            try:
                explanation = policy.explain(item.data, as_of=_as_of_for(item.data, args.as_of))
            except SnapshotError as exc:
                stderr.write(f"followup-policy: {exc}\n")
                return EXIT_REJECTED
            if args.json:
                stdout.write(json.dumps(explanation.model_dump(mode="json"), ensure_ascii=False,
                                        indent=2) + "\n")
            else:
                stdout.write(translate_lines(explanation.to_text(), args.lang))
            return EXIT_OK
    stderr.write(f"followup-policy: loan '{args.loan}' not found in {args.input}\n")
    return EXIT_USAGE


def _resolve(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], _: IO[str]) -> int:
    from .resolving import resolve_text

    stdout.write(resolve_text(args.path))
    return EXIT_OK


def _diff(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], _: IO[str]) -> int:
    """Exit 1 when the policies differ, like diff(1)."""
    from .diffing import diff_policies, format_differences

    differences = diff_policies(args.old, args.new)
    stdout.write(format_differences(differences))
    return EXIT_REJECTED if differences else EXIT_OK


def _source(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], _: IO[str]) -> int:
    from . import load_policy

    stdout.write(load_policy(args.path).source_code())
    return EXIT_OK


def _test(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], _: IO[str]) -> int:
    from .testing import run_test_command

    return run_test_command(args.paths, args.junit, stdout, stderr,
                            name_contains=args.name_contains, explain=args.explain,
                            min_coverage=args.min_coverage, lang=args.lang)


def _report(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], _: IO[str]) -> int:
    from .reports.commands import report_command

    return report_command(args.paths, args.compare, args.output, stdout, stderr)


def _forecast(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], _: IO[str]) -> int:
    from .reports.commands import forecast_command

    return forecast_command(args.policy, args.portfolio, args.months,
                            args.as_of or date.today(), args.output, args.csv,
                            args.branch_field, stdout, stderr, args.engine, args.encoding)


def _tasks(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], stdin: IO[str]) -> int:
    from . import load_policy
    from .tasks_cli import collect_tasks, write_tasks

    if args.format == "xlsx" and args.output in (None, "-"):
        raise _UsageError("followup-policy tasks: --format xlsx needs -o FILE.xlsx")
    policy = load_policy(args.policy)
    counts: dict[str, int] = {"records": 0, "rejected": 0}
    with _open_in(args, stdin, policy) as source, _open_out(args.rejects, stderr) as rejects:
        rows = collect_tasks(_decisions(policy, source, args.as_of, rejects, counts, stderr),
                             args)
    if args.format == "xlsx":
        write_tasks(rows, args, None)
    else:
        with _open_out(args.output, stdout) as out:
            write_tasks(rows, args, out)
    return EXIT_REJECTED if counts["rejected"] else EXIT_OK
