"""The redactor against a corpus of secrets in many shapes, and a property over them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agentkit.audit import Redactor

CORPUS = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "redaction_corpus.json")
    .read_text()
    .replace("{fake_xai_key}", "xai-" + "Zq8Lm3Np7Rt2Vw5Y" * 2)  # built here: no key in the file
)
KINDS = {
    "quoted_assignment",
    "json_text",
    "cookie",
    "authorization",
    "url_credentials",
    "private_key",
    "vendor_token",
    "connection_string",
    "bearer_free_text",
}
REDACTOR = Redactor()


def case_id(case: dict[str, Any]) -> str:
    return f"{case['kind']}:{case['text'][:30]!r}"


def test_the_corpus_covers_every_kind() -> None:
    assert {case["kind"] for case in CORPUS["secret"]} == KINDS
    assert len(CORPUS["secret"]) >= 70
    assert len(CORPUS["benign"]) >= 30


@pytest.mark.parametrize("case", CORPUS["secret"], ids=case_id)
def test_no_secret_survives_scrubbing(case: dict[str, Any]) -> None:
    clean = REDACTOR.scrub(case["text"])
    for secret in case["secrets"]:
        assert secret not in clean, clean
    assert "[REDACTED]" in clean


@pytest.mark.parametrize("case", CORPUS["secret"], ids=case_id)
def test_no_secret_survives_as_a_field_value_or_a_dict_key(case: dict[str, Any]) -> None:
    clean = json.dumps(REDACTOR.redact({"note": case["text"], case["text"]: 1}))
    for secret in case["secrets"]:
        assert json.dumps(secret)[1:-1] not in clean, clean


@pytest.mark.parametrize("text", CORPUS["benign"])
def test_benign_text_is_unchanged(text: str) -> None:
    assert REDACTOR.scrub(text) == text
    assert REDACTOR.redact({"note": text}) == {"note": text}
    assert list(REDACTOR.redact({text: 1})) == [text]


def test_two_secret_keys_keep_both_values() -> None:
    key = "xai-" + "k" * 20
    clean = REDACTOR.redact({key: 1, key + "x": 2})
    assert sorted(clean.values()) == [1, 2]
    assert not any("kkkk" in name for name in clean)


_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_TOKEN = st.text(_ALPHABET, min_size=12, max_size=40)
_SHAPES = (
    "password = {q}{s}{q}",
    "{q}api_key{q}: {q}{s}{q}",
    '{{"token": "{s}", "n": 1}}',
    "Cookie: sid={s}; theme=dark",
    "Set-Cookie: id={s}; Path=/",
    "AUTHORIZATION: Bearer {s}",
    "proxy-authorization: basic {s}",
    "https://user:{s}@host.example/path",
    "postgresql://app:{s}@db.example:5432/app",
    "Bearer 9{s}",
    "xai-{s}{s}",
    "ghp_{s}{s}{s}",
    "AKIA{s}",
    "-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----",
)
# Surrounding text: anything, set off from the secret's shape by a space.
_AROUND = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30).map(
    lambda text: f" {text} "
)


@settings(max_examples=1000, deadline=None)
@given(
    shape=st.sampled_from(_SHAPES),
    secret=_TOKEN,
    quote=st.sampled_from(["", '"', "'"]),
    before=_AROUND,
    after=_AROUND,
)
def test_a_secret_in_any_shape_in_any_text_never_survives(
    shape: str, secret: str, quote: str, before: str, after: str
) -> None:
    if shape.startswith("AKIA"):
        secret = (secret.upper() * 2)[:16]
    assume(secret not in before + after)
    text = before + shape.format(q=quote, s=secret) + after
    clean = REDACTOR.scrub(text)
    assert secret not in clean, (text, clean)
    assert secret not in json.dumps(REDACTOR.redact({"v": text, text: 0}))
