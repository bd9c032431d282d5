"""Privacy rules: most restrictive wins across default, roles and tool; apply's result."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentkit.privacy.privacy_rules import PrivacyRules, apply
from agentkit.privacy.vault import PseudonymVault

RULES = PrivacyRules(
    default={"secrets": "block", "personal": "redact", "ip": "allow"},
    roles={"support": {"email": "allow"}, "intern": {"*": "block"}},
    tools={"crm_lookup": {"phone": "block"}},
)


def test_action_for_takes_the_most_restrictive() -> None:
    assert RULES.action_for("email", []) == "redact"
    assert RULES.action_for("email", ["support"]) == "redact"  # a role cannot loosen
    assert RULES.action_for("ip", []) == "allow"  # named outright beats the group
    assert RULES.action_for("ip", ["intern"]) == "block"
    assert RULES.action_for("api_key", ["support"]) == "block"
    assert RULES.action_for("phone", [], tool="crm_lookup") == "block"
    assert RULES.action_for("phone", [], tool="other") == "redact"


def test_no_rules_allow_everything() -> None:
    rules = PrivacyRules()
    assert rules.action_for("card", ["admin"], "t") == "allow"
    assert apply("card 4111 1111 1111 1111", rules, [], PseudonymVault()).redacted == []


def test_rules_reject_unknown_kinds_and_fields() -> None:
    with pytest.raises(ValidationError):
        PrivacyRules(default={"emails": "redact"})
    with pytest.raises(ValidationError):
        PrivacyRules(roles={"a": {"card": "mask"}})  # type: ignore[dict-item]
    with pytest.raises(ValidationError):
        PrivacyRules.model_validate({"default": {}, "extra": 1})


def test_rules_load_from_a_policy_section() -> None:
    section = {"default": {"*": "redact"}, "tools": {"web": {"secrets": "block"}}}
    rules = PrivacyRules.model_validate(section)
    assert rules.action_for("jwt", [], "web") == "block"
    assert rules.action_for("jwt", []) == "redact"


def test_apply_redacts_blocks_and_raises_nothing() -> None:
    vault = PseudonymVault()
    text = "ana@example.com key xai-" + "a1" * 20 + " from 203.0.113.7"
    result = apply(text, RULES, ["staff"], vault)
    assert result.text == "⟦EMAIL_1⟧ key ⟦BLOCKED_API_KEY⟧ from 203.0.113.7"
    assert [f.kind for f in result.blocked] == ["api_key"]
    assert [f.kind for f in result.redacted] == ["email"]
    assert vault.restore(result.text) == "ana@example.com key ⟦BLOCKED_API_KEY⟧ from 203.0.113.7"


def test_apply_per_tool() -> None:
    result = apply("call +44 20 7946 0958", RULES, [], PseudonymVault(), tool="crm_lookup")
    assert result.text == "call ⟦BLOCKED_PHONE⟧"
    assert [f.text for f in result.blocked] == ["+44 20 7946 0958"]
