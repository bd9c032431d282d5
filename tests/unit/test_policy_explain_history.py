"""`agentkit policy explain` can set up the run before the call: outputs of earlier calls
(trusted or not) and calls a person approved, so every construct can be explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.cli import main
from agentkit.policy import load_policy

POLICY = """
version: 1
classes: {read: {action: allow}}
tools:
  read_inbox: {side_effect: read, action: allow, untrusted_output: true}
  get_user_info: {side_effect: read, action: allow, sensitive: {label: pid, fields: [passport]}}
  invite:
    side_effect: write
    action: allow
    args:
      email: {normalise: email, trust: {}}
  send_email: {side_effect: external_send, action: allow}
sinks:
  - {id: pid-stays, labels: [pid], action: deny}
"""


def explain(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    argv = ["policy", "explain", str(path), *extra]
    code = main(argv)
    first = capsys.readouterr().out.splitlines()[0]
    assert code == (3 if first.startswith("deny ") else 0)  # deny exits 3
    return first


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "p.yaml"
    file.write_text(POLICY)
    return file


def test_the_tiers_of_a_value(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invite = ["--tool", "invite", "--args", json.dumps({"email": "dora@example.com"})]
    assert explain(path, capsys, *invite).startswith("deny  rule=tools.invite.args.email")
    seen = ["--ran", "read_inbox=From: dora@example.com"]
    assert explain(path, capsys, *invite, *seen).startswith("confirm  rule=tools.invite.args.email")
    other = ["--ran-untrusted", "web=dora@example.com"]
    assert explain(path, capsys, *invite, *other).startswith(
        "confirm  rule=tools.invite.args.email"
    )
    approved = ["--approved", 'invite={"email": "dora@example.com"}']
    assert explain(path, capsys, *invite, *approved).startswith("allow  rule=tools.invite")


def test_a_sink(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mail = ["--tool", "send_email", "--args", json.dumps({"body": "passport X1234567"})]
    assert explain(path, capsys, *mail).startswith("allow")
    read = ["--ran", 'get_user_info={"passport": "X1234567"}']
    assert explain(path, capsys, *mail, *read).startswith("deny  rule=sinks.pid-stays")


def test_policy_explain_takes_earlier_calls(path: Path) -> None:
    from agentkit.decision import Principal

    policy = load_policy(path)
    earlier = [policy.earlier_call("read_inbox", output="dora@example.com")]
    assert earlier[0].untrusted_output, "the policy marks read_inbox untrusted"
    decision = policy.explain(
        "invite", {"email": "dora@example.com"}, principal=Principal(), earlier=earlier
    )
    assert decision.action == "confirm"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--ran", "no-equals-sign", "--ran takes TOOL=VALUE"),
        ("--approved", "invite=[1]", "--approved must be a JSON object"),
        ("--approved", "invite={", "--approved is not valid JSON"),
    ],
)
def test_malformed_options_are_usage_errors(
    path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    assert main(["policy", "explain", str(path), "--tool", "invite", option, value]) == 2
    assert message in capsys.readouterr().err
