"""What completes an action (SPEC 5.1): outcomes, channel strength, accepted sets.

Pure functions over names, shared by the compiler (which puts the resulting sets
into the compiled plan), the branch guardrails (which compare a branch's sets
with its parent's) and anything else that must agree on what "done" means.

A channel *covers* the channels whose actions an entry through it completes; the
relation is reflexive and transitive. An action's *accepted* channels are those
that cover its channel or a channel of its ``completes_with``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "BUILTIN_CHANNEL_COVERS",
    "BUILTIN_OUTCOMES",
    "accepted_channels",
    "channel_completes",
    "outcome_table",
]

# Each built-in channel and the channels it is at least as strong as (SPEC 5.1).
# email, app_message and wechat stand outside the order: each completes only itself.
BUILTIN_CHANNEL_COVERS: Mapping[str, tuple[str, ...]] = {
    "site_visit": ("video_call", "phone", "robot_call", "sms"),
    "in_branch": ("video_call", "phone", "robot_call", "sms"),
    "video_call": ("robot_call", "sms"),
    "phone": ("robot_call", "sms"),
    "robot_call": ("sms",),
    "sms": (),
    "letter": (),
    "email": (),
    "app_message": (),
    "wechat": (),
}

# Built-in outcomes: True = the borrower was reached (completing), False = a failed attempt.
BUILTIN_OUTCOMES: Mapping[str, bool] = {
    "reached": True,
    "completed": True,
    "visited": True,
    "delivered": True,
    "unreachable": False,
    "no_answer": False,
    "refused": False,
    "wrong_number": False,
    "returned": False,
}


def channel_completes(declared: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """For every known channel, the channels whose actions an entry through it completes.

    ``declared`` maps a policy's own channels to their ``covers``; for a built-in
    channel the declared coverage is added to the built-in one. Names in
    ``covers`` that are not channels are ignored here (the compiler reports them).
    """
    direct: dict[str, set[str]] = {name: set(covers)
                                   for name, covers in BUILTIN_CHANNEL_COVERS.items()}
    for name, covers in declared.items():
        direct.setdefault(name, set()).update(covers)
    known = set(direct)
    result: dict[str, frozenset[str]] = {}
    for start in direct:
        seen = {start}
        stack = [start]
        while stack:
            for nxt in direct.get(stack.pop(), ()):
                if nxt in known and nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        result[start] = frozenset(seen)
    return result


def accepted_channels(required: str | None, completes_with: Iterable[str] | None,
                      completes: Mapping[str, frozenset[str]]) -> frozenset[str] | None:
    """Entry channels that complete an action requiring ``required``; None = any channel."""
    if required is None:
        return None
    wanted = {required, *(completes_with or ())}
    return frozenset(channel for channel, covered in completes.items() if covered & wanted)


def outcome_table(declared: Mapping[str, bool]) -> dict[str, bool]:
    """Every known outcome and whether it completes: built-in, then the policy's own."""
    return {**BUILTIN_OUTCOMES, **declared}
