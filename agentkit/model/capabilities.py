"""What each model accepts, kept as data.

A request carrying a parameter its model rejects fails here with `UnsupportedParameter`,
before anything leaves the process. Lookup is by exact name, then by glob pattern (first
match wins); an unknown model is permissive. Users override entries without code changes::

    table = CapabilityTable.default().with_entries({"grok-9*": ModelCapabilities(reasoning=True)})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from agentkit.errors import UnsupportedParameter
from agentkit.model.types import ModelRequest

_CACHE_LIMIT = 1024
_REASONING_REJECTS = frozenset({"presence_penalty", "frequency_penalty", "stop"})


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """The parameters one model accepts."""

    reasoning: bool | None = None
    """True for reasoning models (longer read timeout); None when unknown."""
    rejects: frozenset[str] = frozenset()
    """`ModelRequest` field names the model refuses when set."""
    reasoning_efforts: frozenset[str] | None = None
    """Accepted `reasoning_effort` values; None accepts any value."""
    input_images: bool | None = None
    """Whether the model takes images (``input_modalities`` of ``/v1/language-models``);
    None when unknown."""


PERMISSIVE = ModelCapabilities()
_NO_EFFORT = ModelCapabilities(reasoning=True, rejects=_REASONING_REJECTS | {"reasoning_effort"})
_REASONING = ModelCapabilities(reasoning=True, rejects=_REASONING_REJECTS)
_NON_REASONING = ModelCapabilities(reasoning=False)
_EFFORT_4_3 = ModelCapabilities(
    reasoning=True,
    rejects=_REASONING_REJECTS,
    reasoning_efforts=frozenset({"none", "low", "medium", "high"}),
)

DEFAULT_CAPABILITIES: Mapping[str, ModelCapabilities] = {
    "grok-4": _NO_EFFORT,
    "grok-4-0709": _NO_EFFORT,
    "grok-4-latest": _NO_EFFORT,
    "grok-4-fast-reasoning": _NO_EFFORT,
    "grok-4-fast-reasoning-*": _NO_EFFORT,
    "grok-4-fast-non-reasoning*": _NON_REASONING,
    "grok-4-1-fast-non-reasoning*": _NON_REASONING,
    "grok-4-1-fast-reasoning*": _REASONING,
    "grok-code-fast-1*": _REASONING,
    "grok-3-mini*": ModelCapabilities(
        reasoning=True, rejects=_REASONING_REJECTS, reasoning_efforts=frozenset({"low", "high"})
    ),
    "grok-3": _NON_REASONING,
    "grok-3-latest": _NON_REASONING,
    "grok-4.[3-9]*": _EFFORT_4_3,
    "grok-4.[1-9][0-9]*": _EFFORT_4_3,
    "grok-[5-9]*": _EFFORT_4_3,
}
"""Model name or glob pattern -> capabilities. Exact names win over patterns."""


class CapabilityTable:
    """Looks up a model's capabilities and checks requests against them."""

    __slots__ = ("_cache", "_exact", "_patterns")

    def __init__(self, entries: Mapping[str, ModelCapabilities]) -> None:
        """Build from name-or-glob -> capabilities; patterns match in the given order."""
        self._exact = {k: v for k, v in entries.items() if not _is_pattern(k)}
        self._patterns = [(k, v) for k, v in entries.items() if _is_pattern(k)]
        self._cache: dict[str, ModelCapabilities] = {}

    @classmethod
    def default(cls) -> CapabilityTable:
        """The table shipped with agentkit."""
        return cls(DEFAULT_CAPABILITIES)

    def with_entries(self, entries: Mapping[str, ModelCapabilities]) -> CapabilityTable:
        """A copy where `entries` take precedence over the existing ones."""
        merged = dict(entries)
        for key, caps in self._exact.items():
            merged.setdefault(key, caps)
        for key, caps in self._patterns:
            merged.setdefault(key, caps)
        table = CapabilityTable(merged)
        # user patterns first, then the previous ones in their order
        table._patterns = [(k, v) for k, v in entries.items() if _is_pattern(k)] + [
            (k, v) for k, v in self._patterns if k not in entries
        ]
        return table

    def lookup(self, model: str) -> ModelCapabilities:
        """Capabilities of `model`; permissive when the model is unknown."""
        caps = self._cache.get(model)
        if caps is None:
            caps = self._match(model)
            if len(self._cache) < _CACHE_LIMIT:  # model names come from callers: bound it
                self._cache[model] = caps
        return caps

    def _match(self, model: str) -> ModelCapabilities:
        caps = self._exact.get(model)
        if caps is not None:
            return caps
        for pattern, caps in self._patterns:
            if fnmatchcase(model, pattern):
                return caps
        return PERMISSIVE

    def check(self, request: ModelRequest) -> ModelCapabilities:
        """Raise `UnsupportedParameter` if `request` sets a parameter its model rejects."""
        caps = self.lookup(request.model)
        for name in caps.rejects:
            if getattr(request, name, None) is not None:
                raise UnsupportedParameter(request.model, name)
        effort = request.reasoning_effort
        efforts = caps.reasoning_efforts
        if effort is not None and efforts is not None and effort not in efforts:
            raise UnsupportedParameter(request.model, f"reasoning_effort={effort!r}")
        return caps


def _is_pattern(key: str) -> bool:
    return any(ch in key for ch in "*?[")
