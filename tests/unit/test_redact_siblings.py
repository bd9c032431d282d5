"""The redactor replaces a value that a sibling names as a secret: name/value entries,
header pairs and command-line options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from agentkit.audit import Redactor

CORPUS = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "redaction_corpus.json")
    .read_text()
    .replace("{fake_xai_key}", "xai-" + "Zq8Lm3Np7Rt2Vw5Y" * 2)  # built here: no key in the file
)
REDACTOR = Redactor()


def case_id(case: dict[str, Any]) -> str:
    return f"{case['kind']}:{json.dumps(case['value'])[:40]}"


def test_the_corpus_holds_every_sibling_shape() -> None:
    kinds = {case["kind"] for case in CORPUS["sibling_secret"]}
    assert kinds == {"name_value", "header_pair", "argv"}
    assert len(CORPUS["sibling_benign"]) >= 10


@pytest.mark.parametrize("case", CORPUS["sibling_secret"], ids=case_id)
def test_no_secret_named_by_a_sibling_survives(case: dict[str, Any]) -> None:
    for clean in (
        json.dumps(REDACTOR.redact({"field": case["value"]})),
        REDACTOR.scrub(json.dumps(case["value"])),  # the same data logged as JSON text
    ):
        for secret in case["secrets"]:
            assert secret not in clean, clean
        assert "[REDACTED]" in clean


@pytest.mark.parametrize("value", CORPUS["sibling_benign"], ids=lambda v: json.dumps(v)[:40])
def test_benign_siblings_are_unchanged(value: Any) -> None:
    assert REDACTOR.redact({"field": value}) == {"field": value}


def test_tuples_are_pairs_too() -> None:
    assert REDACTOR.redact({"h": ("Cookie", "sid=1")}) == {"h": ["Cookie", "[REDACTED]"]}
    assert REDACTOR.redact({"h": [("Authorization", "Bearer x")]}) == {
        "h": [["Authorization", "[REDACTED]"]]
    }


def test_a_name_is_judged_like_a_key() -> None:
    # the same name redacts as a key and as a sibling: password_policy_url is a look-alike
    # the redactor does not tell from a secret, in either place
    as_key = REDACTOR.redact({"password_policy_url": "https://example.com/p"})
    as_sibling = REDACTOR.redact({"name": "password_policy_url", "value": "https://example.com/p"})
    assert as_key == {"password_policy_url": "[REDACTED]"}
    assert as_sibling == {"name": "password_policy_url", "value": "[REDACTED]"}


def test_extra_sensitive_keys_name_siblings_too() -> None:
    redactor = Redactor(sensitive_keys="pin")
    assert redactor.redact({"f": {"name": "card_pin", "value": "1234"}}) == {
        "f": {"name": "card_pin", "value": "[REDACTED]"}
    }


SECRET_NAMES = st.sampled_from(
    ["password", "DB_PASSWORD", "api_key", "Api-Key", "client_secret", "GITHUB_TOKEN",
     "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "x-auth-token",
     "private_key", "passphrase", "access_key"]
)  # fmt: skip
NAME_KEYS = st.sampled_from(["name", "Name", "key", "Key", "header", "field", "variable"])
VALUE_KEYS = st.sampled_from(["value", "Value", "val", "data", "default_value", "stringValue"])
OPTIONS = st.sampled_from(
    ["--password", "--api-key", "-password", "--client-secret", "--token", "--pass", "--pwd"]
)
SHORT = st.sampled_from([("mysql", "-p"), ("/usr/bin/mariadb", "-p"), ("redis-cli", "-a")])
SECRETS = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=4, max_size=30
).filter(lambda s: s.strip() == s and "REDACTED" not in s)


def shapes(name: str, name_key: str, value_key: str, option: str, short: tuple[str, str],
           secret: str) -> list[Any]:  # fmt: skip
    command, flag = short
    return [
        {name_key: name, value_key: secret},
        [{"id": 1, name_key: name, value_key: secret}],
        [[name, secret]],
        (name, secret),
        ["cmd", "-v", option, secret, "--other"],
        [command, "-u", "root", flag, secret],
        [command, flag + secret],
    ]


@given(SECRET_NAMES, NAME_KEYS, VALUE_KEYS, OPTIONS, SHORT, SECRETS)
def test_a_secret_next_to_its_name_never_survives(
    name: str, name_key: str, value_key: str, option: str, short: tuple[str, str], secret: str
) -> None:
    # the check looks for the secret anywhere: a secret inside a word of the shape itself
    # ("mari" in /usr/bin/mariadb) would be found where nothing leaked
    fixed = (name, name_key, value_key, option, *short, "cmd", "-v", "--other", "-u", "root",
             "id", "field")  # fmt: skip
    assume(not any(secret in word or secret.lower() == word for word in fixed))
    for shape in shapes(name, name_key, value_key, option, short, secret):
        clean = REDACTOR.redact({"field": shape})
        assert not _holds(clean, secret), (shape, clean)


def _holds(value: Any, secret: str) -> bool:
    if isinstance(value, str):
        return secret in value.replace("[REDACTED]", "\x00")
    if isinstance(value, dict):
        return any(_holds(k, secret) or _holds(v, secret) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds(item, secret) for item in value)
    return False
