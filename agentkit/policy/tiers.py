"""Three tiers of provenance: trusted, seen only in third-party output, found nowhere.

``trust: {trusted: allow, third_party: confirm, nowhere: deny}`` on an argument says in one
place what took two constructs before (a provenance constraint that denies, and a rule that
confirms after untrusted output). Where a value was found is read from the run through
`where_found`, the one function here that knows the shape of the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from agentkit.decision import History
from agentkit.policy import dataflow
from agentkit.policy.spec import NormaliseKind, TierAction
from agentkit.policy.taught import Taught

Tier = Literal["trusted", "third_party", "nowhere"]


class Vouches(Protocol):
    """A trusted list, as the tiers read it."""

    def vouches_for(self, value: object) -> bool: ...


@dataclass(frozen=True)
class Found:
    """Where a value was found: its tier and, for third-party output, which tool's."""

    tier: Tier
    value: str
    source: str | None = None


def where_found(
    kind: NormaliseKind,
    norm: str,
    history: History,
    marked: frozenset[str],
    *,
    user: bool,
    taught: Taught,
    tools: Iterable[str],
) -> Found:
    """The tier of the normalised value ``norm`` in this run (lists are the caller's).

    Trusted: the user's messages or approved values (when ``user``), or the trusted output
    of one of ``tools``. Third party: the output of any other call of the run, untrusted
    or from a tool that is not a named source. Nowhere: neither.
    """
    if user and (
        taught.vouches(kind, norm)
        or any(dataflow.appears_in(kind, norm, m) for m in history.user_messages)
    ):
        return Found("trusted", norm)
    sources = tuple(tools)
    if any(
        dataflow.appears_in(kind, norm, out)
        for out in dataflow.trusted_outputs(history, sources, marked)
    ):
        return Found("trusted", norm)
    for call in history.calls:
        if call.executed and call.output and dataflow.appears_in(kind, norm, call.output):
            return Found("third_party", norm, call.tool)
    return Found("nowhere", norm)


@dataclass(frozen=True)
class TrustTiers:
    """A compiled ``trust`` constraint: its sources and the action of each tier."""

    user: bool
    lists: tuple[Vouches, ...]
    tools: tuple[str, ...]
    kind: NormaliseKind
    actions: dict[Tier, TierAction]

    def judge(
        self, value: object, history: History, marked: frozenset[str], taught: Taught
    ) -> tuple[TierAction, str]:
        """The action for one value and a reason naming its tier."""
        try:
            norm = dataflow.normalise(self.kind, value)
        except dataflow.HostError as exc:
            return self.actions["nowhere"], f"value {value!r} has no source: {exc}"
        if any(lst.vouches_for(value) for lst in self.lists):
            found = Found("trusted", norm)
        elif not norm:
            found = Found("nowhere", norm)
        else:
            found = where_found(
                self.kind, norm, history, marked, user=self.user, taught=taught, tools=self.tools
            )
        return self.actions[found.tier], _reason(found)


def _reason(found: Found) -> str:
    if found.tier == "trusted":
        return f"value {found.value!r} comes from a trusted source"
    if found.tier == "third_party":
        return (
            f"value {found.value!r} appears only in output of {found.source}, "
            "not in the user's messages, a trusted list or a trusted source"
        )
    return f"value {found.value!r} does not come from the user's messages or a trusted source"
