"""Shared helpers: small inline policies and snapshot builders."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import followup_policy as fp

ROOT = Path(__file__).resolve().parent.parent
HEAD_OFFICE = ROOT / "policies" / "head_office.yaml"
PORTFOLIO = ROOT / "examples" / "portfolio.jsonl"

HEADER = """\
policy:
  id: test-policy
  title: 测试政策
  version: "1"
"""


def make_policy(body: str, header: str = HEADER) -> fp.Policy:
    """Compile a policy from a header and a dedented YAML body."""
    return fp.loads_policy(header + textwrap.dedent(body), "test.yaml")


def snapshot(**values: Any) -> dict[str, Any]:
    """A snapshot with a loan id and disbursement date unless given."""
    data: dict[str, Any] = {"loan_id": "L1", "disbursement_date": "2026-01-31"}
    data.update(values)
    return data


def reached(action: str, on: str, channel: str = "site_visit",
            outcome: str = "reached") -> dict[str, str]:
    """A follow-up entry that completes ``action`` unless a stricter channel is required."""
    return {"action": action, "date": on, "channel": channel, "outcome": outcome}


@pytest.fixture(scope="session")
def head_office() -> fp.Policy:
    return fp.load_policy(HEAD_OFFICE)


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages follow the locale; tests read English unless they ask for Chinese."""
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
