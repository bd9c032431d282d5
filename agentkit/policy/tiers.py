"""Three tiers of provenance: trusted, seen only in third-party output, found nowhere.

``trust: {trusted: allow, third_party: confirm, nowhere: deny}`` on an argument says in one
place what took two constructs before (a provenance constraint that denies, and a rule that
confirms after untrusted output). Where a value was found is read from the run through
`TrustTiers.where_found`, which asks the run's provenance index (as provenance does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from agentkit.policy import dataflow
from agentkit.policy.spec import NormaliseKind, TierAction

if TYPE_CHECKING:
    from agentkit.policy.constraints import DataflowContext

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


@dataclass(frozen=True)
class TrustTiers:
    """A compiled ``trust`` constraint: its sources and the action of each tier."""

    user: bool
    lists: tuple[Vouches, ...]
    tools: tuple[str, ...]
    kind: NormaliseKind
    actions: dict[Tier, TierAction]
    fields: tuple[tuple[str, tuple[str, ...]], ...] = ()
    approved: bool | None = None
    """Approved values: trusted, not, or (None) as ``approvals.teach`` says."""

    def judge(self, value: object, ctx: DataflowContext) -> tuple[TierAction, str]:
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
            found = self.where_found(norm, ctx)
        return self.actions[found.tier], _reason(found)

    def where_found(self, norm: str, ctx: DataflowContext) -> Found:
        """The tier of the normalised value ``norm`` in this run (lists are the caller's).

        Trusted: the user's messages (when ``user``), approved values (as ``approved`` and
        ``approvals.teach`` say), the trusted output of one of ``tools`` or a trusted field
        of ``fields``. Third party: the output of any other call of the run, untrusted, from
        a tool that is not a named source, or in a field not named. Nowhere: neither.
        """
        kind, marked = self.kind, ctx.untrusted_marked
        if self.user and any(dataflow.appears_in(kind, norm, m) for m in ctx.history.user_messages):
            return Found("trusted", norm)
        if ctx.takes_approved(self.approved, self.user) and ctx.taught.vouches(kind, norm):
            return Found("trusted", norm)
        if self.tools and ctx.sources.in_outputs(kind, norm, self.tools, marked):
            return Found("trusted", norm)
        if any(
            ctx.sources.in_fields(kind, norm, tool, paths, marked) for tool, paths in self.fields
        ):
            return Found("trusted", norm)
        source = ctx.sources.any_source(kind, norm)
        if source is not None:
            return Found("third_party", norm, source)
        return Found("nowhere", norm)


def _reason(found: Found) -> str:
    if found.tier == "trusted":
        return f"value {found.value!r} comes from a trusted source"
    if found.tier == "third_party":
        return (
            f"value {found.value!r} appears only in output of {found.source}, "
            "not in the user's messages, a trusted list or a trusted source"
        )
    return f"value {found.value!r} does not come from the user's messages or a trusted source"
