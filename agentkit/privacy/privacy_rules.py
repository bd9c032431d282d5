"""Which detectors apply, and what a finding does: by default, by role and by tool.

`PrivacyRules` is a policy section (``privacy:``): each mapping sends a detector kind,
or a group (``"*"`` every kind, ``"secrets"``, ``"personal"``), to an `Action`. Within
one mapping a kind named outright beats its group; across the default, the principal's
roles and the tool, the most restrictive action wins (block > redact > allow), so a
role or a tool can tighten the default and never loosen it. `apply` runs the rules over
one text on its way to the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from agentkit.privacy.detectors import (
    ALL_KINDS,
    PERSONAL_KINDS,
    SECRET_KINDS,
    Finding,
    detect,
)
from agentkit.privacy.vault import PseudonymVault

Action = Literal["block", "redact", "allow"]
GROUPS: dict[str, frozenset[str]] = {
    "*": ALL_KINDS,
    "secrets": SECRET_KINDS,
    "personal": PERSONAL_KINDS,
}
_RANK: dict[Action, int] = {"allow": 0, "redact": 1, "block": 2}


def _check_kinds(mapping: Mapping[str, Action]) -> None:
    unknown = set(mapping) - ALL_KINDS - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown detector kinds: {sorted(unknown)}")


class PrivacyRules(BaseModel):
    """Per kind, what a finding does: `default`, then per role, then per tool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: dict[str, Action] = {}
    roles: dict[str, dict[str, Action]] = {}
    tools: dict[str, dict[str, Action]] = {}

    @field_validator("default")
    @classmethod
    def _known_default(cls, value: dict[str, Action]) -> dict[str, Action]:
        _check_kinds(value)
        return value

    @field_validator("roles", "tools")
    @classmethod
    def _known_nested(cls, value: dict[str, dict[str, Action]]) -> dict[str, dict[str, Action]]:
        for mapping in value.values():
            _check_kinds(mapping)
        return value

    def action_for(
        self, kind: str, principal_roles: Iterable[str], tool: str | None = None
    ) -> Action:
        """What a finding of `kind` does for a principal with these roles (and `tool`'s
        output, if the text comes from one): the most restrictive of what applies."""
        mappings = [self.default, *(self.roles.get(role, {}) for role in principal_roles)]
        if tool is not None:
            mappings.append(self.tools.get(tool, {}))
        actions = [a for a in (_lookup(m, kind) for m in mappings) if a is not None]
        return max(actions, key=_RANK.__getitem__, default="allow")

    def actions(self, principal_roles: Iterable[str], tool: str | None = None) -> dict[str, Action]:
        """Every kind that is not allowed, with its action."""
        roles = tuple(principal_roles)
        chosen = {kind: self.action_for(kind, roles, tool) for kind in sorted(ALL_KINDS)}
        return {kind: action for kind, action in chosen.items() if action != "allow"}


def _lookup(mapping: Mapping[str, Action], kind: str) -> Action | None:
    if kind in mapping:
        return mapping[kind]
    group_actions = [a for g, a in mapping.items() if g in GROUPS and kind in GROUPS[g]]
    return max(group_actions, key=_RANK.__getitem__, default=None)


@dataclass(frozen=True)
class Redaction:
    """A text ready for the model, and what was found in it.

    `blocked` findings are replaced by a mark that restores to nothing
    (``⟦BLOCKED_EMAIL⟧``) so even a caller that lets the text through leaks nothing;
    `redacted` ones by their vault placeholder.
    """

    text: str
    blocked: list[Finding] = field(default_factory=list)
    redacted: list[Finding] = field(default_factory=list)


def apply(
    text: str,
    rules: PrivacyRules,
    roles: Iterable[str],
    vault: PseudonymVault,
    tool: str | None = None,
) -> Redaction:
    """Run `rules` over `text` for a principal with `roles` (from `tool`, if it is one's
    output). Raises nothing: whether a block ends the run is the caller's choice."""
    actions = rules.actions(roles, tool)
    if not actions:
        return Redaction(text)
    findings = detect(text, actions)
    blocked = [f for f in findings if actions[f.kind] == "block"]
    redacted = [f for f in findings if actions[f.kind] == "redact"]
    return Redaction(vault.replace(text, redacted, blocked), blocked, redacted)
