"""Untrusted policies and paths (issue 14): extends stays inside its root, bad shapes,
special files and odd names are located load errors, errors cross process pools."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import pytest

import followup_policy as fp
from followup_policy import loading
from followup_policy.cli import run
from followup_policy.errors import ConditionError, Issue, Location, SnapshotError
from followup_policy.testing import CaseFileError

from .conftest import ROOT

POLICIES = ROOT / "policies"
SECRET = "root:x:0:0:secret-account-line"


def header(extends: str, ident: str = "b") -> str:
    return f'policy: {{id: {ident}, title: t, version: "1", extends: "{extends}"}}\n'


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """repo/ with a head office, and a file outside it that must never be read."""
    repo = tmp_path / "repo"
    shutil.copytree(POLICIES, repo, ignore=shutil.ignore_patterns(".followup-policy-root"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(f"{SECRET}\nother: line\n", encoding="utf-8")
    return repo


def load_issue(path: Path, **kwargs: object) -> Issue:
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.load_policy(path, **kwargs)  # type: ignore[arg-type]
    assert len(caught.value.issues) == 1, caught.value
    return caught.value.issues[0]


# -- extends stays inside its root (defect 5) -----------------------------------------


def test_an_absolute_extends_is_refused_where_it_is_written(layout: Path) -> None:
    branch = layout / "abs.yaml"
    branch.write_text(header(str(layout.parent / "outside" / "secret.yaml")), encoding="utf-8")
    issue = load_issue(branch)
    assert (issue.file, issue.line) == (str(branch), 1)
    assert issue.column == branch.read_text(encoding="utf-8").index('"/') + 1
    assert "absolute path" in issue.message and SECRET not in str(issue)


def test_dotdot_out_of_the_root_is_refused_without_reading_the_target(layout: Path) -> None:
    branch = layout / "up.yaml"
    branch.write_text(header("../outside/secret.yaml"), encoding="utf-8")
    issue = load_issue(branch)
    assert "leaves the policy root" in issue.message and str(layout) in issue.message
    assert SECRET not in issue.message and "unknown section" not in issue.message


def test_a_symlink_out_of_the_root_is_refused(layout: Path) -> None:
    (layout / "link.yaml").symlink_to(layout.parent / "outside" / "secret.yaml")
    branch = layout / "via_link.yaml"
    branch.write_text(header("link.yaml"), encoding="utf-8")
    issue = load_issue(branch)
    assert "symbolic link" in issue.message and SECRET not in issue.message
    with pytest.raises(fp.PolicyLoadError) as caught:  # a repository obeys the same rule
        fp.PolicyRepository.from_directory(layout)
    text = str(caught.value)
    assert f"{layout / 'link.yaml'}:1:1: the policy file is outside the policy root" in text
    assert SECRET not in text


def test_without_a_marker_the_root_is_the_policy_folder_and_a_named_root_widens_it(
        layout: Path) -> None:
    branch = layout / "branches" / "shenzhen.yaml"
    assert "leaves the policy root" in load_issue(branch).message
    assert fp.load_policy(branch, root=layout).id == "sz-branch-mortgage"
    (layout / ".followup-policy-root").touch()
    assert fp.load_policy(branch).id == "sz-branch-mortgage"
    issue = load_issue(layout / "head_office.yaml", root=layout / "branches")
    assert issue.message.startswith("the policy file is outside the policy root")


def test_the_shipped_policies_carry_their_root_marker() -> None:
    """policies/branches/*.yaml extend ../head_office.yaml: the marker makes that legal."""
    assert (POLICIES / ".followup-policy-root").is_file()
    assert fp.load_policy(POLICIES / "branches" / "guangzhou.yaml").id == "gz-branch-mortgage"


def test_cli_policy_root_before_or_after_the_command(layout: Path) -> None:
    branch = str(layout / "branches" / "chengdu.yaml")
    for argv in (["validate", branch], ["--policy-root", str(layout), "validate", branch],
                 ["validate", "--policy-root", str(layout), branch]):
        out, err = io.StringIO(), io.StringIO()
        code = run(argv, out, err)
        if "--policy-root" in argv:
            assert code == 0 and ": ok (cd-branch-mortgage" in out.getvalue(), err.getvalue()
        else:
            assert code == 2 and "leaves the policy root" in out.getvalue()


# -- a severity written as a mapping (defect 6) ---------------------------------------


def test_a_branch_severity_mapping_is_a_located_load_error(layout: Path) -> None:
    branch = layout / "branches" / "sev.yaml"
    body = "frequency:\n  正常: {severity: {level: high}}\n"
    branch.write_text(header("../head_office.yaml") + body, encoding="utf-8")
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.load_policy(branch, root=layout)
    first = caught.value.issues[0]
    assert (first.file, first.line, first.column) == (str(branch), 3, 18)
    assert "severity" in first.message


# -- errors and policies cross process boundaries (defect 7) ---------------------------


def test_errors_survive_a_pickle_round_trip() -> None:
    issues = [Issue("b.yaml", 3, 4, "bad", "good", Location("a.yaml", 1, 2), "坏")]
    for error in (fp.PolicyLoadError(issues), CaseFileError(issues),
                  SnapshotError("field 'x': bad", loan_id="L1", field="x", value=3),
                  ConditionError("unknown name", 5, 2, "days_past_due")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert copy.__dict__ == error.__dict__


def _load_in_worker(path: str) -> str:
    if path.endswith("case"):
        raise CaseFileError([Issue(path, 2, 1, "the case file is broken")])
    return fp.load_policy(path).id


def test_one_failing_worker_does_not_break_the_pool(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("policy: {id: x}\nnonsense: 1\n", encoding="utf-8")
    paths = [str(POLICIES / "head_office.yaml"), str(broken), str(tmp_path / "a.case"),
             str(POLICIES / "branches" / "chengdu.yaml")]
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_load_in_worker, path) for path in paths]
        assert futures[0].result() == "head-office-mortgage"
        error = futures[1].exception()
        assert isinstance(error, fp.PolicyLoadError)
        assert any(i.file == str(broken) and "nonsense" in i.message for i in error.issues)
        assert isinstance(futures[2].exception(), CaseFileError)
        assert futures[3].result() == "cd-branch-mortgage"  # the pool still works


# -- special files, odd names, limits (defect 10) -------------------------------------


def test_validate_on_a_fifo_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "policy.yaml"
    os.mkfifo(fifo)
    result: list[tuple[int, str, str]] = []

    def validate() -> None:
        out, err = io.StringIO(), io.StringIO()
        result.append((run(["validate", str(fifo)], out, err), out.getvalue(), err.getvalue()))

    worker = threading.Thread(target=validate, daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():  # unblock the reader so the test process can end
        with open(fifo, "w", encoding="utf-8") as writer:
            writer.write("x: 1\n")
        pytest.fail("validate blocked on a FIFO")
    code, out, err = result[0]
    assert code == 2 and err == ""
    assert out == f"{fifo}:1:1: cannot read the file: it must be a regular file" \
                  " (this is a FIFO (named pipe))\n"


def test_a_nul_in_a_policy_name_is_a_load_error() -> None:
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.load_policy("x\0y")
    assert "NUL character" in str(caught.value)
    out, err = io.StringIO(), io.StringIO()
    assert run(["validate", "x\0y"], out, err) == 2
    assert "NUL character" in out.getvalue() + err.getvalue()


def test_the_node_limit_says_which_limit_and_how_to_raise_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A legitimately large policy (the report: 4.9 MB, 41,960 rules) is refused naming
    MAX_NODES and how to raise it, not "an alias bomb?"; raised, the same file loads."""
    text = (POLICIES / "head_office.yaml").read_text(encoding="utf-8")
    bulk = "".join(f"  - id: bulk_{i}\n    when: days_past_due > {i}\n    action: {{kind: "
                   f"phone_call, after: {i} days, window: 10 days}}\n    severity: low\n"
                   "    category: risk\n" for i in range(40))
    big = tmp_path / "big.yaml"
    big.write_text(text.replace("\nrules:\n", "\nrules:\n" + bulk, 1), encoding="utf-8")
    nodes = loading.MAX_NODES
    monkeypatch.setattr(loading, "MAX_NODES", 500)
    issue = load_issue(big)
    assert "more than 500 nodes (0 of them repeated through aliases)" in issue.message
    assert "MAX_NODES" in issue.message and "raise followup_policy.loading.MAX_NODES" \
        in issue.message
    assert "alias bomb?" not in issue.message
    monkeypatch.setattr(loading, "MAX_NODES", nodes)
    assert len(fp.load_policy(big).document.rules) > 40


def test_a_json_message_never_says_at_at() -> None:
    from followup_policy.records import json_problem

    _, problem, _ = json_problem('{"loan_id": "a')
    assert problem == "not valid JSON: Unterminated string starting at column 13"
    _, problem, _ = json_problem('{"loan_id": ')
    assert problem == "not valid JSON: Expecting value at column 13"


def test_a_csv_cell_over_the_csv_limit_is_one_reject_and_the_run_goes_on(
        tmp_path: Path) -> None:
    source = tmp_path / "loans.csv"
    source.write_text("loan_id,disbursement_date,loan_type\nA1,2026-01-01,residential\n"
                      f"A2,2026-01-01,{'x' * 140_000}\nA3,2026-01-01,residential\n",
                      encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run(["evaluate", "-p", str(POLICIES / "head_office.yaml"), str(source),
                "--as-of", "2026-03-01"], out, err)
    assert code == 1
    assert [line[:16] for line in out.getvalue().splitlines()] == ['{"loan_id":"A1",',
                                                                    '{"loan_id":"A3",']
    rejects = [line for line in err.getvalue().splitlines() if line.startswith("{")]
    assert len(rejects) == 1 and '"line": 3' in rejects[0]
    assert "longer than 131,072 characters" in rejects[0]


@pytest.mark.parametrize("padding", [0, 70_000], ids=["in the sample", "after the sample"])
def test_invalid_utf8_in_one_jsonl_line_is_one_reject(tmp_path: Path, padding: int) -> None:
    """Defect 4: one corrupt line used to end the run and lose every good line before it."""
    good = ('{"loan_id": "A%d", "disbursement_date": "2026-01-01", "loan_type": "residential",'
            ' "note": "%s"}\n')
    source = tmp_path / "loans.jsonl"
    source.write_bytes((good % (1, "x" * padding)).encode() + b'{"loan_id": "A\xff2"}\n'
                       + (good % (3, "贷款")).encode())
    out, err = io.StringIO(), io.StringIO()
    code = run(["evaluate", "-p", str(POLICIES / "head_office.yaml"), str(source),
                "--as-of", "2026-03-01"], out, err)
    assert code == 1
    assert [line[:16] for line in out.getvalue().splitlines()] == ['{"loan_id":"A1",',
                                                                    '{"loan_id":"A3",']
    (reject,) = [line for line in err.getvalue().splitlines() if line.startswith("{")]
    assert '"line": 2' in reject and "not valid UTF-8 (byte 0xFF" in reject


@pytest.mark.parametrize("given", [None, "gb18030", "gbk"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_bad_byte_in_a_gb18030_file_is_one_reject(tmp_path: Path, given: str | None,
                                                    fmt: str) -> None:
    """A corrupt byte in a GBK/GB18030 export (detected or named) rejects only its record."""
    if fmt == "jsonl":
        line = '{"loan_id": "%s", "disbursement_date": "2026-01-01", "loan_type": "residential"}\n'
        head = b""
    else:
        line = "%s,2026-01-01,residential\n"
        head = "loan_id,disbursement_date,loan_type\n".encode("gbk")
    source = tmp_path / f"贷款.{fmt}"
    source.write_bytes(head + (line % "贷款1").encode("gbk") + (line % "贷款2").encode("gbk")
                       .replace("款".encode("gbk"), b"\xff\x20") + (line % "贷款3").encode("gbk"))
    out, err = io.StringIO(), io.StringIO()
    extra = [] if given is None else ["--encoding", given]
    code = run(["evaluate", "-p", str(POLICIES / "head_office.yaml"), str(source),
                "--as-of", "2026-03-01", *extra], out, err)
    assert code == 1, err.getvalue()
    assert [json.loads(text)["loan_id"] for text in out.getvalue().splitlines()] == [
        "贷款1", "贷款3"]
    (reject,) = [json.loads(text) for text in err.getvalue().splitlines()
                 if text.startswith("{")]
    assert reject["line"] == (2 if fmt == "jsonl" else 3)
    if fmt == "jsonl":  # the line cannot be parsed
        assert "not valid GB18030 (byte 0xFF" in reject["error"]
    else:  # the cell is read, and refused by the field it is for
        assert reject["field"] == "loan_id"
        assert "a byte the file's encoding cannot decode (byte 0xFF at position 2" in reject[
            "error"]


@pytest.mark.parametrize("given", [None, "utf-8", "UTF8"])
def test_a_bad_byte_in_a_utf8_csv_named_utf8_is_one_reject(tmp_path: Path,
                                                           given: str | None) -> None:
    """``--encoding utf-8`` reads like the detected UTF-8: a bad byte costs its record, not
    the file (it was decoded strictly, and the whole file was refused as "cannot decode
    the header")."""
    source = tmp_path / "loans.csv"
    source.write_bytes(b"loan_id,disbursement_date,loan_type\nA1,2026-01-01,residential\n"
                       b"A\xff2,2026-01-01,residential\nA3,2026-01-01,residential\n")
    out, err = io.StringIO(), io.StringIO()
    extra = [] if given is None else ["--encoding", given]
    code = run(["evaluate", "-p", str(POLICIES / "head_office.yaml"), str(source),
                "--as-of", "2026-03-01", *extra], out, err)
    assert code == 1, err.getvalue()
    assert [json.loads(text)["loan_id"] for text in out.getvalue().splitlines()] == ["A1", "A3"]
    (reject,) = [json.loads(text) for text in err.getvalue().splitlines()]
    assert (reject["line"], reject["field"]) == (3, "loan_id")


def test_a_branch_value_with_an_undecodable_byte_does_not_crash_the_tasks_writer(
        tmp_path: Path) -> None:
    source = tmp_path / "loans.csv"
    source.write_bytes(b"loan_id,disbursement_date,loan_type,branch\n"
                       b"A1,2025-01-01,residential,\xe6\xb7\xb1SZ\xff\n")
    out, err = io.StringIO(), io.StringIO()
    code = run(["tasks", "-p", str(POLICIES / "head_office.yaml"), str(source), "--as-of",
                "2026-03-01", "--branch-field", "branch", "-f", "jsonl"], out, err)
    assert code == 0, err.getvalue()
    branches = {json.loads(line)["branch"] for line in out.getvalue().splitlines()}
    assert branches == {"深SZ\\xff"}


def test_forecast_reads_an_undecodable_byte_as_evaluate_and_tasks_do(tmp_path: Path) -> None:
    """One reader for every command: a bad byte in a CSV cell the policy does not read (the
    branch) keeps its loan, the branch shown escaped; in a JSONL line it rejects that line."""
    source = tmp_path / "loans.csv"
    source.write_bytes(b"loan_id,disbursement_date,loan_type,branch\n"
                       b"A1,2025-01-01,residential,SZ01\nA2,2025-01-01,residential,S\xffZ\n")
    result = fp.reports.compute_forecast(POLICIES / "head_office.yaml", source,
                                         as_of=date(2026, 3, 1), months=1,
                                         engine="per-loan")
    assert result.loans == 2 and not result.rejects
    assert {task.branch for task in result.backlog + result.tasks} == {"SZ01", "S\\xffZ"}
    lines = tmp_path / "loans.jsonl"
    lines.write_bytes(b'{"loan_id": "A1", "disbursement_date": "2025-01-01",'
                      b' "loan_type": "residential"}\n'
                      b'{"loan_id": "A\xff2", "disbursement_date": "2025-01-01",'
                      b' "loan_type": "residential"}\n')
    result = fp.reports.compute_forecast(POLICIES / "head_office.yaml", lines,
                                         as_of=date(2026, 3, 1), months=1,
                                         engine="per-loan")
    assert result.loans == 1 and len(result.rejects) == 1
    assert "not valid UTF-8 (byte 0xFF" in result.rejects[0].message


def test_forecast_reads_a_gbk_csv_in_its_detected_encoding(tmp_path: Path) -> None:
    """A GBK export (as banks' systems write them) is read as GBK, not refused line by line
    as invalid UTF-8; ``--encoding`` names it when detection cannot."""
    text = ("loan_id,disbursement_date,loan_type,branch\n"
            "贷款1,2025-01-01,residential,深圳分行\n贷款2,2025-01-01,residential,成都分行\n")
    source = tmp_path / "贷款.csv"
    source.write_bytes(text.encode("gbk"))
    result = fp.reports.compute_forecast(POLICIES / "head_office.yaml", source,
                                         as_of=date(2026, 3, 1), months=1,
                                         engine="per-loan")
    assert result.loans == 2 and not result.rejects
    assert {task.branch for task in result.backlog} == {"深圳分行", "成都分行"}
    out, err = io.StringIO(), io.StringIO()
    code = run(["forecast", "-p", str(POLICIES / "head_office.yaml"), str(source), "--as-of",
                "2026-03-01", "--months", "1", "--csv", "-", "--encoding", "gbk",
                "--engine", "per-loan"], out, err)
    assert code == 0, err.getvalue()
    assert "深圳分行" in out.getvalue() and "2 loans, 0 rejected" in err.getvalue()


def test_policy_root_context_reaches_functions_that_take_paths(layout: Path) -> None:
    from followup_policy.layering import policy_root

    branch = layout / "branches" / "chengdu.yaml"
    with pytest.raises(fp.PolicyLoadError, match="leaves the policy root"):
        fp.resolve_text(branch)
    with policy_root(layout):
        assert "cd-branch-mortgage" in fp.resolve_text(branch)
    with pytest.raises(fp.PolicyLoadError, match="leaves the policy root"):  # reset after
        fp.resolve_text(branch)
