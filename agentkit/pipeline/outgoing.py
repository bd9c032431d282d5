"""What leaves for the model, redacted by the policy's ``privacy:`` rules.

Before each request, the text of the user's messages and of the tools' outputs passes
the detectors the rules name for the principal's roles (and, for an output, its tool): a
value to redact becomes a stable placeholder (``⟦EMAIL_1⟧``), one to block a mark that
nothing turns back. The run keeps the real conversation and the placeholders' values
(sealed with its state); the model's tool arguments get the real values back before
validation, the policy and the tool see them, so provenance works on what the user
really typed. A blocked value in the user's own message ends the run before anything
is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agentkit.errors import PrivacyBlocked
from agentkit.privacy.privacy_rules import PrivacyRules, apply
from agentkit.privacy.vault import PseudonymVault
from agentkit.state import RunResult


def vault_of(run: RunResult) -> PseudonymVault:
    """The run's placeholders (kept in its state, so a resumed run goes on numbering)."""
    return PseudonymVault.from_dict(run.pseudonyms) if run.pseudonyms else PseudonymVault()


def redacted_items(
    run: RunResult, items: list[dict[str, Any]], rules: PrivacyRules, roles: Iterable[str]
) -> list[dict[str, Any]]:
    """`items` as the model may see them; the run's placeholders updated.

    Raises:
        PrivacyBlocked: the user's message holds a value the rules block.
    """
    vault, roles = vault_of(run), tuple(roles)
    tool_of = {step.call_id: step.tool for step in run.steps}
    out = []
    for item in items:
        if item.get("role") == "user":
            out.append(_user_item(item, rules, roles, vault))
        elif item.get("type") == "function_call_output" and isinstance(item.get("output"), str):
            found = apply(item["output"], rules, roles, vault, tool_of.get(item.get("call_id", "")))
            out.append({**item, "output": found.text})
        else:
            out.append(item)
    run.pseudonyms = vault.to_dict() if len(vault) else run.pseudonyms
    return out


def _user_item(
    item: dict[str, Any], rules: PrivacyRules, roles: tuple[str, ...], vault: PseudonymVault
) -> dict[str, Any]:
    def clean(text: str) -> str:
        found = apply(text, rules, roles, vault)
        if found.blocked:
            kinds = sorted({f.kind for f in found.blocked})
            raise PrivacyBlocked(
                f"the message holds {', '.join(kinds)}, which the policy's privacy rules "
                "block: nothing was sent"
            )
        return found.text

    content = item.get("content")
    if isinstance(content, str):
        return {**item, "content": clean(content)}
    if isinstance(content, list):
        parts = [
            {**p, "text": clean(p["text"])} if isinstance(p, dict) and isinstance(
                p.get("text"), str) else p
            for p in content
        ]  # fmt: skip
        return {**item, "content": parts}
    return item


def restorer(run: RunResult) -> Callable[[Any], Any] | None:
    """Puts the real values back into the model's tool arguments; None when the run has
    no placeholders."""
    if not run.pseudonyms:
        return None
    return vault_of(run).restore
