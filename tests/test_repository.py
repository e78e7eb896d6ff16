"""The policy repository: the policy for a branch on a date, and refusing ambiguity."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

import followup_policy as fp

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


@pytest.fixture(scope="module")
def repo() -> fp.PolicyRepository:
    return fp.PolicyRepository.from_directory(POLICIES)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(POLICIES, tmp_path / "policies")
    return tmp_path / "policies"


def _version(folder: Path, name: str, *, version: str, period: str, extra: str = "") -> Path:
    """A copy of the head office policy with another version and effective period."""
    text = (POLICIES / "head_office.yaml").read_text(encoding="utf-8")
    text = text.replace('  version: "2026.1"\n  effective_from: 2026-01-01\n',
                        f'  version: "{version}"\n{period}{extra}')
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_policies_form_a_repository(repo: fp.PolicyRepository) -> None:
    assert [p.id for p in repo.policies] == [
        "cd-branch-mortgage", "gd-province-mortgage", "gz-branch-mortgage",
        "head-office-mortgage", "sz-branch-mortgage", "us-regulation-x-example"]
    assert len(repo) == 6 and list(repo) == list(repo.policies)


@pytest.mark.parametrize(("branch", "expected"), [
    ("SZ01", "sz-branch-mortgage"),
    ("SZ02", "sz-branch-mortgage"),
    ("CD01", "cd-branch-mortgage"),
    ("FS01", "gd-province-mortgage"),  # the province's own list
    ("GZ01", "gz-branch-mortgage"),    # the city, which extends the province
    ("BJ01", "head-office-mortgage"),  # named by no one: the policy without applies_to
    ("US01", "us-regulation-x-example"),  # the US book, under the US example policy
])
def test_policy_for_a_branch(repo: fp.PolicyRepository, branch: str, expected: str) -> None:
    assert repo.policy_for(branch, date(2026, 3, 1)).id == expected


def test_which_policy_governs_loan_x_of_branch_sz01_in_one_call(
        repo: fp.PolicyRepository) -> None:
    loan = {"loan_id": "X", "disbursement_date": "2026-01-31", "loan_type": "residential",
            "purchase_restriction_eligible": False, "property_district": "福田区"}
    decision = repo.evaluate(loan, branch="SZ01", as_of=date(2026, 3, 1))
    assert decision.policy_id == "sz-branch-mortgage"
    assert decision.action("purchase_restriction_check") is not None


def test_no_policy_in_force_is_a_clear_error(repo: fp.PolicyRepository) -> None:
    with pytest.raises(fp.PolicyError, match=r"no policy governs branch 'SZ01' on 2025-12-31"):
        repo.policy_for("SZ01", date(2025, 12, 31))
    with pytest.raises(fp.PolicyError, match="the repository is empty"):
        fp.PolicyRepository([]).policy_for("SZ01", date(2026, 1, 1))


def test_versions_are_picked_by_date_with_inclusive_ends(folder: Path) -> None:
    _version(folder, "head_office.yaml", version="2026.1",
             period="  effective_from: 2026-01-01\n  effective_to: 2026-06-30\n")
    _version(folder, "head_office_2026_2.yaml", version="2026.2",
             period="  effective_from: 2026-07-01\n")
    repo = fp.PolicyRepository.from_directory(folder)
    assert repo.policy_for("BJ01", date(2026, 6, 30)).version == "2026.1"
    assert repo.policy_for("BJ01", date(2026, 7, 1)).version == "2026.2"
    # the branches extend whichever file they name; their own period is their own
    assert repo.policy_for("SZ01", date(2026, 7, 1)).id == "sz-branch-mortgage"


def test_overlapping_versions_of_one_policy_are_an_error_naming_both(folder: Path) -> None:
    new = _version(folder, "head_office_2026_2.yaml", version="2026.2",
                   period="  effective_from: 2026-07-01\n")
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.PolicyRepository.from_directory(folder)
    (issue,) = caught.value.issues
    old = folder / "head_office.yaml"
    assert (issue.file, issue.line) == (str(new), 14)
    assert issue.related == fp.Location(str(old), 14, 19)
    assert "two versions of policy 'head-office-mortgage'" in issue.message
    assert "2026.1: 2026-01-01..open; 2026.2: 2026-07-01..open" in issue.message
    assert str(old) in str(issue)


def test_two_policies_naming_one_branch_are_an_error(folder: Path) -> None:
    text = (folder / "branches" / "guangdong.yaml").read_text(encoding="utf-8")
    (folder / "branches" / "guangdong.yaml").write_text(
        text.replace("applies_to: [GD01,", "applies_to: [GZ01, GD01,"), encoding="utf-8")
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.PolicyRepository.from_directory(folder)
    (issue,) = caught.value.issues
    assert "'gd-province-mortgage' and 'gz-branch-mortgage' both name GZ01" in issue.message
    assert issue.related is not None
    assert {issue.file, issue.related.file} == {str(folder / "branches" / "guangdong.yaml"),
                                                str(folder / "branches" / "guangzhou.yaml")}


def test_two_policies_for_every_branch_are_an_error(folder: Path) -> None:
    text = (folder / "head_office.yaml").read_text(encoding="utf-8")
    (folder / "other.yaml").write_text(text.replace("id: head-office-mortgage",
                                                    "id: other-mortgage"), encoding="utf-8")
    with pytest.raises(fp.PolicyLoadError, match="both govern every branch"):
        fp.PolicyRepository.from_directory(folder)


def test_every_problem_of_every_file_at_once(folder: Path) -> None:
    (folder / "branches" / "chengdu.yaml").write_text(
        (folder / "branches" / "chengdu.yaml").read_text(encoding="utf-8").replace(
            "window: 7 days", "window: 12 days"), encoding="utf-8")
    (folder / "broken.yaml").write_text("policy: {id: Broken}\n", encoding="utf-8")
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.PolicyRepository.from_directory(folder)
    files = {issue.file for issue in caught.value.issues}
    assert files == {str(folder / "branches" / "chengdu.yaml"), str(folder / "broken.yaml")}


def test_a_broken_head_office_is_reported_once(folder: Path) -> None:
    head = folder / "head_office.yaml"
    head.write_text(head.read_text(encoding="utf-8").replace("channel: letter}",
                                                             "channel: leter}", 1),
                    encoding="utf-8")
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.PolicyRepository.from_directory(folder)
    issues = caught.value.issues
    assert len(issues) == len(set(issues)) == 1
    assert issues[0].file == str(head)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(fp.PolicyError, match="is not a directory"):
        fp.PolicyRepository.from_directory(tmp_path / "missing")
