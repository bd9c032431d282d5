"""A tool's class per call: ``side_effect_by: {arg: action, values: {list: read, delete:
destructive}, default: destructive}``.

The class a call's argument picks is added to the classes the tool has anyway (its own and
the one the policy declares), so it can make a call stricter, never milder: ``delete`` on a
``write`` tool is destructive, and the floor confirms it. A value not in ``values`` (a new
action, another spelling, a null, a missing argument) has the ``default`` class, the
strictest unless the policy says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentkit.decision import SideEffect
from agentkit.policy.constraints import resolve


@dataclass(frozen=True)
class CallClass:
    """A compiled ``side_effect_by``."""

    path: tuple[str, ...]
    values: Mapping[str, SideEffect]
    default: SideEffect

    def of(self, arguments: Mapping[str, Any]) -> frozenset[SideEffect]:
        """The classes the call's argument picks (each element of a list picks one)."""
        value = resolve(arguments, self.path)
        found = value if isinstance(value, list) and value else [value]
        return frozenset(
            self.values.get(v, self.default) if isinstance(v, str) else self.default for v in found
        )
