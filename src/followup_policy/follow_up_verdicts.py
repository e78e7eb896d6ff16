"""What each follow-up entry means for one action, in words an auditor reads (SPEC 5.1).

:func:`~followup_policy.evaluation.verdict_of` decides whether an entry's outcome
and channel complete an action; evaluation applies it to the entries naming the
action, dated from its floor (the anchor, the disbursement, the Nth failed attempt)
up to ``as_of``. An explanation must also say why the *other* entries did not
count, so this module judges every entry the action could have looked at, with
the same :func:`verdict_of`, and adds the reasons evaluation applies before it:
dated after ``as_of``, before the floor, or naming another action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from .evaluation import verdict_of
from .policy import CompiledCompletion, PolicyParts
from .snapshots import FollowUp

__all__ = ["EntryVerdict", "Floor", "judge_entries", "judge_entry"]

VerdictKind = Literal["completes", "failed", "channel_too_weak", "missing_outcome",
                      "missing_channel", "unknown_outcome", "unknown_channel", "before_floor",
                      "after_as_of", "not_this_action"]


@dataclass(frozen=True, slots=True)
class Floor:
    """The date from which an action counts entries, and what that date is.

    ``exclusive`` for the periodic follow-up: a completion on the disbursement date
    itself (a previous loan's history) does not restart the clock.
    """

    date: date
    name: str
    exclusive: bool = False


@dataclass(frozen=True, slots=True)
class EntryVerdict:
    """One entry, what it meant for the action, and that in a sentence."""

    entry: FollowUp
    verdict: VerdictKind
    text: str

    @property
    def completes(self) -> bool:
        return self.verdict == "completes"


def judge_entry(entry: FollowUp, action_id: str, completion: CompiledCompletion,
                parts: PolicyParts, required: str | None, floor: Floor | None, on: date,
                any_action: bool = False) -> EntryVerdict:
    """The verdict on ``entry`` for the action ``action_id``.

    ``any_action``: the periodic follow-up, which a completing entry of any action
    restarts (SPEC 5), while only its own entries count as attempts.
    """
    if entry.date > on:
        return EntryVerdict(entry, "after_as_of",
                            f"after the evaluation date {on.isoformat()}: not counted")
    own = entry.action == action_id
    if not own and not any_action:
        return EntryVerdict(entry, "not_this_action", f"not this action ('{entry.action}')")
    verdict = verdict_of(entry, completion, parts)
    if not own and verdict not in ("completes", "channel_too_weak"):
        return EntryVerdict(entry, "not_this_action", f"not this action ('{entry.action}')")
    if floor is not None and (entry.date < floor.date or (
            floor.exclusive and entry.date == floor.date and verdict == "completes")):
        return EntryVerdict(entry, "before_floor",
                            f"before the floor date {floor.date.isoformat()} ({floor.name}):"
                            " not counted")
    return EntryVerdict(entry, verdict, _text(entry, verdict, required, own))


def judge_entries(follow_ups: Iterable[FollowUp], action_id: str,
                  completion: CompiledCompletion, parts: PolicyParts, required: str | None,
                  floor: Floor | None, on: date,
                  any_action: bool = False) -> tuple[EntryVerdict, ...]:
    """The verdicts on the entries the action looks at, oldest first.

    Entries naming other actions are left out, except for the periodic follow-up,
    which looks at every entry.
    """
    chosen = (e for e in follow_ups if any_action or e.action == action_id)
    return tuple(judge_entry(entry, action_id, completion, parts, required, floor, on,
                             any_action)
                 for entry in sorted(chosen, key=lambda e: e.date))


def _text(entry: FollowUp, verdict: str, required: str | None, own: bool) -> str:
    if verdict == "completes":
        return "completes it" if own else "completes it (a completed follow-up of any action" \
            " counts)"
    if verdict == "failed":
        return f"attempt only: outcome {entry.outcome} does not complete"
    if verdict == "channel_too_weak":
        return (f"does not complete: channel {entry.channel} is not as strong as the required"
                f" {required}")
    if verdict in ("missing_outcome", "missing_channel"):
        what = "outcome" if verdict == "missing_outcome" else "channel"
        return f"completes nothing: no {what} recorded"
    what = "outcome" if verdict == "unknown_outcome" else "channel"
    value = entry.outcome if verdict == "unknown_outcome" else entry.channel
    return f"completes nothing: {what} {value} is not known to the policy"
