"""Redaction before a request leaves: a prompt with an e-mail, a card number and an API
key sends none of them (the fake records what arrived), the tool still gets the real
e-mail (and provenance checks the real value), the model's view stays redacted, a
blocked value stops the run before anything is sent, and a paused run resumes with its
placeholders."""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

import pytest

from agentkit import Agent, tool
from agentkit.decision import Principal
from agentkit.errors import PrivacyBlocked
from agentkit.testing import FakeXAI, RecordingApprover, Script, Turn
from agentkit.testing.scripted_client import scripted_client

EMAIL, CARD, KEY = (
    "ana.perez@example.org",
    "4111 1111 1111 1111",
    "xai-" + "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=40)),
)  # a key's shape, made here: no key is written down
PROMPT = f"Send the receipt to {EMAIL}; card {CARD}; my key is {KEY}."
POLICY = """
version: 1
roles:
  support: {}
tools:
  send_receipt:
    side_effect: external_send
    action: allow
    args:
      to: {normalise: email, provenance: {user: true}}
privacy:
  default: {email: redact, card: redact, api_key: redact}
  roles:
    support: {private_key: block}
"""


class Desk(Agent):
    instructions = "Send receipts."
    sent: list[str] = []

    @tool(side_effect="external_send")
    async def send_receipt(self, to: str) -> str:
        """Send a receipt.

        Args:
            to: the address.
        """
        Desk.sent.append(to)
        return f"sent to {to}"


def _desk(tmp_path: Path, fake: FakeXAI) -> Desk:
    (tmp_path / "policy.yaml").write_text(POLICY)
    Desk.sent = []
    return Desk(client=scripted_client(fake), policy=str(tmp_path / "policy.yaml"),
                audit=None, approver=RecordingApprover(True))  # fmt: skip


def _placeholder_reply(body: dict[str, object]) -> Turn:
    """The model answers with the placeholder it was shown for the e-mail."""
    text = json.dumps(body["input"], ensure_ascii=False)
    if "function_call_output" in text:
        return Turn.text("Done.")
    [token] = set(re.findall(r"⟦EMAIL_\d+⟧", text))
    return Turn.call("send_receipt", {"to": token})


async def test_nothing_sensitive_leaves_and_the_tool_gets_the_real_address(
    tmp_path: Path,
) -> None:
    fake = FakeXAI(_placeholder_reply)
    ana = Principal(user_id="ana", roles=("support",))
    run = await _desk(tmp_path, fake).run(PROMPT, principal=ana)
    assert run.status == "completed", run.error
    arrived = "".join(r.body.decode() for r in fake.requests)
    for value in (EMAIL, CARD, KEY, "4111111111111111"):
        assert value not in arrived
    assert "EMAIL_1" in json.dumps([r.json for r in fake.requests], ensure_ascii=False)
    assert Desk.sent == [EMAIL]  # the tool got the real value back
    [step] = run.steps
    assert step.status == "ok"  # provenance checked the real address against the prompt
    assert run.conversation[0]["content"] == PROMPT  # the run keeps what the user typed
    assert "sent to" in arrived  # the tool's output was sent...
    assert f"sent to {EMAIL}" not in arrived  # ...with the address redacted again


async def test_a_blocked_value_stops_the_run_before_anything_is_sent(tmp_path: Path) -> None:
    fake = FakeXAI(Script([Turn.text("never")]))
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    ana = Principal(user_id="ana", roles=("support",))
    with pytest.raises(PrivacyBlocked, match="private_key"):
        await _desk(tmp_path, fake).run(f"store this {pem}", principal=ana)
    assert fake.count(None) == 0
