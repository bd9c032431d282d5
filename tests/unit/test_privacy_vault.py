"""The pseudonym vault: placeholders stable and distinct, restore the inverse of redact."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.privacy import corpus
from agentkit.privacy.vault import PLACEHOLDER, PseudonymVault

_MAKERS = [corpus.email, corpus.card, corpus.iban, corpus.api_key, corpus.jwt, corpus.ip]
_FILLER = st.text(alphabet="abcdefghij klmnop,;", max_size=30)


@st.composite
def planted(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A text of filler words with generated values planted between them."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    values = [rng.choice(_MAKERS)(rng) for _ in range(draw(st.integers(1, 5)))]
    parts = [draw(_FILLER)]
    for value in values:
        parts += [" ", value, " ", draw(_FILLER)]
    return "".join(parts), values


@given(planted())
@settings(max_examples=150, deadline=None)
def test_redact_leaves_no_planted_value(case: tuple[str, list[str]]) -> None:
    text, values = case
    redacted = PseudonymVault().redact(text)
    for value in values:
        assert value not in redacted


@given(planted(), planted())
@settings(max_examples=100, deadline=None)
def test_restore_inverts_redact_in_tool_arguments(
    a: tuple[str, list[str]], b: tuple[str, list[str]]
) -> None:
    vault = PseudonymVault()
    arguments: dict[str, Any] = {"to": a[0], "cc": [b[0], {"note": a[0]}], "n": 3, "t": (b[0],)}
    seen = {k: _redact_deep(vault, v) for k, v in arguments.items()}
    assert vault.restore(seen) == arguments


def _redact_deep(vault: PseudonymVault, value: Any) -> Any:
    if isinstance(value, str):
        return vault.redact(value)
    if isinstance(value, dict):
        return {k: _redact_deep(vault, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_deep(vault, v) for v in value)
    return value


@given(planted())
@settings(max_examples=100, deadline=None)
def test_placeholders_are_stable_and_distinct(case: tuple[str, list[str]]) -> None:
    vault = PseudonymVault()
    text, values = case
    first = vault.redact(text)
    assert vault.redact(text) == first
    assert vault.redact(first) == first  # redacting twice changes nothing
    by_value = {v: vault.redact(f" {v} ").strip() for v in set(values)}
    assert len(set(by_value.values())) == len(by_value)
    assert all(PLACEHOLDER.fullmatch(p) for p in by_value.values())


def test_placeholder_format_and_numbering() -> None:
    vault = PseudonymVault()
    out = vault.redact("ana@example.com, bo@example.com, ana@example.com; 203.0.113.7")
    assert out == "⟦EMAIL_1⟧, ⟦EMAIL_2⟧, ⟦EMAIL_1⟧; ⟦IP_1⟧"
    assert len(vault) == 3


def test_unknown_placeholders_are_left_as_they_are() -> None:
    vault = PseudonymVault()
    vault.redact("ana@example.com")
    assert vault.restore("⟦EMAIL_1⟧ ⟦EMAIL_9⟧ ⟦BLOCKED_EMAIL⟧") == (
        "ana@example.com ⟦EMAIL_9⟧ ⟦BLOCKED_EMAIL⟧"
    )


def test_a_sealed_vault_restores_after_resume_and_keeps_numbering() -> None:
    vault = PseudonymVault()
    seen = vault.redact("write to ana@example.com about 4111 1111 1111 1111")
    data = json.loads(json.dumps(vault.to_dict()))
    resumed = PseudonymVault.from_dict(data)
    assert resumed.restore({"body": seen}) == {
        "body": "write to ana@example.com about 4111 1111 1111 1111"
    }
    assert resumed.redact("bo@example.com ana@example.com") == "⟦EMAIL_2⟧ ⟦EMAIL_1⟧"


def test_restore_keeps_non_strings() -> None:
    vault = PseudonymVault()
    value = {"a": 1, "b": None, "c": [1.5, True]}
    assert vault.restore(value) == value
