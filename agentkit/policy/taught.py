"""Approvals that teach: values a person approved are the user's own for the rest of the run.

A person who approves ``invite_user(email="dora@example.com")`` has vouched for that address
as surely as if they had typed it, so a later call naming Dora needs no second confirmation.
A value is taught whole: each text or number an approved call sent (and each comma- or
semicolon-separated piece of a text), never a word inside one, so an approved mail body
that quotes an attacker's address teaches nothing about that address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agentkit.decision import History
from agentkit.policy import dataflow
from agentkit.policy.spec import NormaliseKind

_PIECES = re.compile(r"[,;]")


@dataclass(frozen=True)
class Taught:
    """The values of the run's approved calls, as sent."""

    values: tuple[str, ...] = ()

    def vouches(self, kind: NormaliseKind, norm: str) -> bool:
        """True when an approved value, normalised as ``kind``, is the normalised ``norm``."""
        if not norm:
            return False
        return any(_normalised(kind, value) == norm for value in self.values)


def taught(history: History, *, enabled: bool, except_tools: frozenset[str]) -> Taught:
    """What the approved calls of ``history`` teach (nothing when ``enabled`` is false)."""
    if not enabled:
        return Taught()
    found: dict[str, None] = {}
    for call in history.calls:
        if call.approved and call.executed and call.tool not in except_tools:
            for leaf in _leaves(call.arguments):
                found[leaf] = None
                for piece in _PIECES.split(leaf):
                    if piece.strip() and piece != leaf:
                        found[piece.strip()] = None
    return Taught(tuple(found))


def _leaves(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)
    elif isinstance(node, str):
        yield node
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield dataflow.normalise("exact", node)


def _normalised(kind: NormaliseKind, value: str) -> str | None:
    try:
        return dataflow.normalise(kind, value)
    except dataflow.HostError:
        return None
