"""Secrets never reach the audit log; prompts only when asked for."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentkit.audit import AuditLog, JsonlSink, Redactor, capture_audit, verify_file
from agentkit.decision import Principal

XAI_KEY = "xai-" + "Q7wT2mZ9" * 8
OPENAI_KEY = "sk-proj-" + "a1B2c3D4" * 5
BEARER = "eyJhbGciOi.J9payloadvalue.signature123"
PASSWORD = "correct-horse-battery-staple"
DB_SECRET = "s3cr3t-db-value-4471"
SESSION_TOKEN = "tok_live_5f2a9c17e0"
BASIC = "dXNlcjpwYXNzd29yZA=="
URL_PASSWORD = "urlpass9931"
CUSTOM = "ACME-7731-9920-1182"
LITERAL = "literal-secret-value-0042"
GITHUB = "ghp_" + "x" * 36
PLANTED = (
    XAI_KEY,
    OPENAI_KEY,
    BEARER,
    PASSWORD,
    DB_SECRET,
    SESSION_TOKEN,
    BASIC,
    URL_PASSWORD,
    CUSTOM,
    LITERAL,
    GITHUB,
)


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Credentials:
    user: str
    password: str


class Boom(Exception):
    pass


def planted_fields() -> dict[str, Any]:
    """Secrets in every position the runner could put one."""
    return {
        "run_id": "run_1",
        "principal": Principal(user_id="ann", roles=("ops",)),
        "headers": {"Authorization": f"Bearer {BEARER}", "X-Api-Key": XAI_KEY},
        "arguments": {
            "db_password": PASSWORD,
            "config": {"client_secret": DB_SECRET, "nested": [{"session_token": SESSION_TOKEN}]},
            "query": f"curl -H 'authorization: Basic {BASIC}' https://ann:{URL_PASSWORD}@db.local/x",
            "note": f"key is {OPENAI_KEY} and also {GITHUB}",
            "ticket": f"customer code {CUSTOM}",
            "login": Credentials("ann", PASSWORD),
        },
        "error": Boom(f"request failed with api_key={XAI_KEY}"),
        "env": f"XAI_API_KEY={XAI_KEY}",
        "raw": LITERAL.encode(),
        "mentions": (f"{LITERAL} in a tuple",),
        "when": datetime(2026, 1, 2, tzinfo=UTC),
        "colour": Colour.RED,
        "usage": {"input_tokens": 120, "output_tokens": 40, "max_tokens": 512},
    }


def custom_redactor() -> Redactor:
    return Redactor(patterns=[r"ACME-\d{4}-\d{4}-\d{4}"], literals=[LITERAL])


def test_planted_secrets_appear_nowhere_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(JsonlSink(path), redactor=custom_redactor(), include_prompts=True) as log:
        for event in ("model.request", "call.requested", "call.failed", "run.ended"):
            log.record(event, planted_fields())
    data = path.read_text()
    for secret in PLANTED:
        assert secret not in data, secret
        assert secret[:12] not in data, secret
    assert data.count("[REDACTED]") >= 4 * 10
    assert verify_file(path).ok


def test_what_is_not_secret_survives() -> None:
    clean = custom_redactor().redact(planted_fields())
    assert clean["principal"] == {"user_id": "ann", "roles": ["ops"], "workspace": None,
                                  "tier": None}  # fmt: skip
    assert clean["usage"] == {"input_tokens": 120, "output_tokens": 40, "max_tokens": 512}
    assert clean["colour"] == "red"
    assert clean["when"] == "2026-01-02T00:00:00+00:00"
    assert clean["headers"]["Authorization"] == "[REDACTED]"
    assert clean["arguments"]["login"] == {"user": "ann", "password": "[REDACTED]"}
    assert clean["arguments"]["query"].startswith("curl -H 'authorization: Basic [REDACTED]'")
    assert "https://ann:[REDACTED]@db.local/x" in clean["arguments"]["query"]
    assert clean["error"] == "Boom: request failed with api_key=[REDACTED]"
    assert clean["raw"] == f"<{len(LITERAL)} bytes>"


@pytest.mark.parametrize(
    "text",
    ["the basic idea", "bearer of bad news", "see https://example.com:8443/path", "max_tokens: 5"],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert Redactor().scrub(text) == text


def test_prompts_and_outputs_are_omitted_by_default() -> None:
    fields = {
        "run_id": "r1",
        "input": [{"role": "user", "content": "summarise ticket 42"}],
        "instructions": "You are a helpful ops copilot.",
        "output_text": "Ticket 42 is about the printer.",
        "usage": {"input_tokens": 10},
    }
    with capture_audit() as audit:
        audit.record("model.request", fields)
    stored = audit.fields_of("model.request")[0]
    assert stored["input"] == {"omitted": True, "length": 1}
    assert stored["instructions"] == {"omitted": True, "length": 30}
    assert stored["output_text"] == {"omitted": True, "length": 31}
    assert stored["usage"] == {"input_tokens": 10}
    assert "printer" not in audit.memory.lines[0]


def test_prompts_kept_when_asked_for_but_still_redacted() -> None:
    fields = {"input": [{"role": "user", "content": f"my key is {XAI_KEY}"}]}
    with capture_audit(include_prompts=True) as audit:
        audit.record("model.request", fields)
    stored = audit.fields_of("model.request")[0]
    assert stored["input"] == [{"role": "user", "content": "my key is [REDACTED]"}]


def test_extra_sensitive_key_names() -> None:
    redactor = Redactor(sensitive_keys=r"^ssn$")
    assert redactor.redact({"ssn": "123-45-6789", "ssn_count": 3}) == {
        "ssn": "[REDACTED]",
        "ssn_count": 3,
    }


def test_non_json_values_become_json() -> None:
    circular: list[Any] = []
    circular.append(circular)
    clean = Redactor().redact(
        {"nan": float("nan"), "set": {3}, "obj": object(), 7: "int key", "loop": circular}
    )
    assert clean["nan"] == "nan"
    assert clean["set"] == [3]
    assert clean["obj"].startswith("<object object at")
    assert clean["7"] == "int key"
    assert "[too deep]" in repr(clean["loop"])


def test_redactor_is_a_structlog_processor() -> None:
    import structlog

    out = structlog.testing.capture_logs(processors=[Redactor()])
    with out as captured:
        structlog.get_logger().info("login", password=PASSWORD, user="ann")
    assert captured == [
        {"event": "login", "password": "[REDACTED]", "user": "ann", "log_level": "info"}
    ]
