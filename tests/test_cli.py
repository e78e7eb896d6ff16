"""The command line, run in-process through ``cli.run``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from followup_policy.cli import run

from .conftest import HEAD_OFFICE, PORTFOLIO


def _run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err, io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def test_validate_ok_and_located_errors(tmp_path: Path) -> None:
    code, out, _ = _run("validate", str(HEAD_OFFICE))
    assert code == 0 and out.strip().endswith("ok (head-office-mortgage 2026.1)")
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy:\n  id: x\n  title: t\n  version: '1'\n  colour: red\n",
                   encoding="utf-8")
    code, out, _ = _run("validate", str(bad), str(HEAD_OFFICE))
    assert code == 2
    assert f"{bad}:5:3: unknown key 'colour'" in out
    assert "ok (head-office-mortgage" in out


def test_validate_walks_directories(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(HEAD_OFFICE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a policy", encoding="utf-8")
    code, out, _ = _run("validate", str(tmp_path))
    assert code == 0 and out.count("ok (") == 1


def test_schema_is_json_with_descriptions() -> None:
    code, out, _ = _run("schema")
    schema = json.loads(out)
    assert code == 0 and schema["title"].startswith("followup-policy")
    assert "timing_nodes" in schema["properties"]
    node = schema["$defs"]["TimingNode"]["properties"]
    assert node["after"]["pattern"] and node["after"]["examples"]


def test_usage_errors_exit_2() -> None:
    assert _run("evaluate")[0] == 2
    assert _run("nonsense")[0] == 2
    code, _, err = _run("evaluate", "--policy", "missing.yaml", "-")
    assert code == 2 and "missing.yaml" in err


def test_evaluate_example_portfolio_end_to_end(tmp_path: Path) -> None:
    out_file = tmp_path / "decisions.jsonl"
    code, _, err = _run("evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28",
                        str(PORTFOLIO), "-o", str(out_file), "--summary")
    assert code == 0, err
    lines = out_file.read_text(encoding="utf-8").splitlines()
    inputs = PORTFOLIO.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(inputs)
    decisions = [json.loads(line) for line in lines]
    assert [d["loan_id"] for d in decisions] == [json.loads(i)["loan_id"] for i in inputs]
    statuses = {a["status"] for d in decisions for a in d["actions"]}
    assert statuses == {"upcoming", "due", "overdue"}
    assert f"{len(inputs)} records: {len(inputs)} evaluated, 0 rejected" in err


def test_rejects_go_to_stderr_with_line_numbers() -> None:
    good = '{"loan_id": "A", "disbursement_date": "2026-01-01", "loan_type": "residential"}'
    bad_date = '{"loan_id": "B", "disbursement_date": "x"}'
    text = "\n".join([good, '{"loan_id": "X"', "", bad_date, good])
    code, out, err = _run("evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-06-01",
                          "-", stdin=text)
    assert code == 1
    assert len(out.splitlines()) == 2
    rejects = [json.loads(line) for line in err.splitlines()]
    assert [(r["line"], r["loan_id"]) for r in rejects] == [(2, None), (4, "B")]
    assert "disbursement_date" in rejects[1]["error"]
    assert rejects[0]["error"].endswith("at column 16")  # after the unclosed object


def test_csv_in_csv_out_and_rejects_file(tmp_path: Path) -> None:
    source = tmp_path / "loans.csv"
    source.write_text(
        "loan_id,disbursement_date,loan_type,days_past_due\n"
        "A,2026-01-01,residential,0\n"
        "B,2026-01-01,industrial,0\n"
        "C,2025-11-28,commercial,40\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.jsonl"
    code, out, err = _run("evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-06-01",
                          str(source), "--format", "csv", "--rejects", str(rejects))
    assert code == 1 and err == ""
    rows = out.splitlines()
    assert rows[0].startswith("loan_id,as_of,tier,action_id")
    assert {row.split(",")[0] for row in rows[1:]} == {"A", "C"}
    reject = json.loads(rejects.read_text(encoding="utf-8"))
    assert (reject["line"], reject["loan_id"], reject["field"]) == (3, "B", "loan_type")


def test_json_input_and_table_output(tmp_path: Path) -> None:
    source = tmp_path / "loans.json"
    source.write_text(json.dumps([
        {"loan_id": "A", "disbursement_date": "2026-01-01", "loan_type": "residential"},
    ]), encoding="utf-8")
    code, out, _ = _run("evaluate", "--policy", str(HEAD_OFFICE), "--as-of", "2026-04-05",
                        str(source), "--format", "table")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["loan", "tier", "action", "status"]
    assert any("m3" in row and "due" in row for row in rows)


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_exit_0(flag: str) -> None:
    assert _run(flag)[0] == 0


def test_resolve_and_diff_commands() -> None:
    branch = HEAD_OFFICE.parent / "branches" / "chengdu.yaml"
    code, out, _ = _run("resolve", str(branch))
    assert code == 0 and "# head_office.yaml:" in out and "# branches/chengdu.yaml:" in out
    code, out, _ = _run("diff", str(HEAD_OFFICE), str(branch))
    assert code == 1 and "timing_nodes[d15]" in out
    code, out, _ = _run("diff", str(HEAD_OFFICE), str(HEAD_OFFICE))
    assert code == 0 and out.strip() == "no differences"


def test_loads_policy_refuses_extends_without_a_file() -> None:
    import followup_policy as fp

    text = 'policy: {id: b, title: 分行, version: "1", extends: head_office.yaml}\n'
    with pytest.raises(fp.PolicyLoadError, match="must be loaded from a file"):
        fp.loads_policy(text)
