"""Approvals that teach: values a person approved are a source for the rest of the run.

A person who approves ``invite_user(email="dora@example.com")`` has vouched for that address
as surely as if they had typed it, so a later call naming Dora needs no second confirmation.
One set of values serves both ways of asking for them: ``approvals.teach`` (the default of
every constraint with ``user: true``) and ``approved: true`` on one constraint.
A value is taught whole: each text or number an approved call sent (and each comma- or
semicolon-separated piece of a text), never a word inside one, so an approved mail body
that quotes an attacker's address teaches nothing about that address.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from agentkit.decision import History, PastCall
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
        return any(dataflow.normalised_or_none(kind, value) == norm for value in self.values)


def approved_values(history: History, *, except_tools: frozenset[str]) -> Taught:
    """The values of the calls of ``history`` a person approved (`PastCall.approved`), but
    for calls of ``except_tools``. Which constraints take them is theirs to say
    (``provenance.approved``, ``approvals.teach``).

    With the run's output log, the calls a decision shares with the one before (the same
    objects: the run's settled steps) are read once, so a decision does not read the whole
    run again; a history built by hand is read whole.
    """
    log = history.outputs
    if log is None:
        found: dict[str, None] = {}
        _add(found, history.calls, except_tools)
        return Taught(tuple(found))
    caches = log.derived(_KEY, _Caches)
    return caches.of(except_tools).values(history.calls)


_KEY = "agentkit.policy.taught"


class _Caches:
    """Per set of excepted tools, what the run's calls taught so far."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_except: dict[frozenset[str], _Prefix] = {}

    def of(self, except_tools: frozenset[str]) -> _Prefix:
        with self._lock:
            return self._by_except.setdefault(except_tools, _Prefix(except_tools))


class _Prefix:
    """The values of the leading calls two decisions in a row shared (thread-safe)."""

    def __init__(self, except_tools: frozenset[str]) -> None:
        self._except = except_tools
        self._lock = threading.Lock()
        self._count = 0
        self._found: dict[str, None] = {}
        self._previous: tuple[PastCall, ...] = ()

    def values(self, calls: tuple[PastCall, ...]) -> Taught:
        with self._lock:
            count, previous = self._count, self._previous
            if count and (len(calls) < count or calls[count - 1] is not previous[count - 1]):
                count, self._found = 0, {}  # other calls: read them again
            start = count
            while count < min(len(calls), len(previous)) and calls[count] is previous[count]:
                count += 1  # the same object as last time: it stays, read it once
            _add(self._found, calls[start:count], self._except)
            self._count, self._previous = count, calls
            found = dict(self._found)
        _add(found, calls[count:], self._except)
        return Taught(tuple(found))


def _add(found: dict[str, None], calls: Iterable[PastCall], except_tools: frozenset[str]) -> None:
    for call in calls:
        if call.approved_by is not None and call.executed and call.tool not in except_tools:
            for leaf in dataflow.scalar_texts(call.arguments):
                found[leaf] = None
                for piece in _PIECES.split(leaf):
                    if piece.strip() and piece != leaf:
                        found[piece.strip()] = None
