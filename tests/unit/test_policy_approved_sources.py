"""Approved values and structured sources across the policy language: one set of values a
person approved (`approvals.teach` and `approved` both read it), trust tiers that read
fields as provenance does, tool sets as field sources, and who counts as having approved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.decision import Decision, History, OutputLog, PastCall, ToolInfo
from agentkit.errors import PolicyLoadError
from agentkit.pipeline.authorise import past_call as as_past
from agentkit.policy import Policy
from agentkit.policy.taught import approved_values
from agentkit.state import Step
from agentkit.testing.decisions import decide, past_call
from agentkit.testing.decisions import proposed_call as call

MAIL = """
version: 1
tools:
  invite: {side_effect: write, action: confirm}
  send:
    side_effect: external_send
    action: allow
    args:
      to: {normalise: email, provenance: {user: true}}
  forward:
    side_effect: external_send
    action: allow
    args:
      to: {normalise: email, provenance: {user: false, approved: true}}
  pay:
    side_effect: financial
    action: allow
    args:
      to: {normalise: email, provenance: {user: true, approved: false}}
  invite_more:
    side_effect: write
    action: allow
    args:
      email: {normalise: email, trust: {third_party: confirm, nowhere: deny, approved: true,
                                        user: false}}
"""


def approved(tool: str, by: str | None = "ana", **arguments: Any) -> PastCall:
    return past_call(tool, **arguments).model_copy(update={"approved_by": by, "action": "confirm"})


def action(policy: str, tool: str, calls: tuple[PastCall, ...], **arguments: Any) -> str:
    return decide(Policy.from_yaml(policy), call(tool, **arguments), calls=calls).action


DORA = (approved("invite", email="dora@example.com"),)


@pytest.mark.parametrize(
    ("extra", "tool", "expected"),
    [
        ("", "send", "allow"),  # teach (the default) with user: true
        ("approvals: {teach: false}", "send", "deny"),
        ("", "forward", "allow"),  # approved: true with user: false
        ("approvals: {teach: false}", "forward", "allow"),  # approved: true decides alone
        ("", "pay", "deny"),  # approved: false, whatever teach says
        ("approvals: {except_tools: [invite]}", "send", "deny"),
        ("approvals: {except_tools: [invite]}", "forward", "deny"),  # for approved: true too
    ],
)
def test_one_set_of_approved_values_two_ways_to_take_it(
    extra: str, tool: str, expected: str
) -> None:
    assert action(MAIL + extra, tool, DORA, to="Dora@example.com") == expected


def test_trust_takes_approved_values_as_provenance_does() -> None:
    assert action(MAIL, "invite_more", DORA, email="dora@example.com") == "allow"
    assert action(MAIL, "invite_more", (), email="dora@example.com") == "deny"
    declined = (approved("invite", by=None, email="dora@example.com"),)
    assert action(MAIL, "invite_more", declined, email="dora@example.com") == "deny"


def step(status: str, approver: str | None, action: str = "confirm") -> Step:
    return Step(
        call_id="c",
        tool="invite",
        turn=1,
        raw_arguments="{}",
        arguments={"email": "dora@example.com"},
        status=status,  # type: ignore[arg-type]
        decision=Decision(action=action, reason="", rule="r"),  # type: ignore[arg-type]
        approver=approver,
    )


@pytest.mark.parametrize(
    ("status", "approver", "decided", "expected"),
    [
        ("ok", "ana", "confirm", "ana"),
        ("approved", "ana", "confirm", "ana"),  # approved, waiting for the turn's others
        ("declined", "ana", "confirm", None),  # the approver field names who declined
        ("denied", "ana", "deny", None),  # approved, then a limit reached denied it
        ("awaiting_approval", None, "confirm", None),
        ("ok", None, "allow", None),
    ],
)
def test_who_approved_a_call_that_ran_or_may_still_run(
    status: str, approver: str | None, decided: str, expected: str | None
) -> None:
    past = as_past(step(status, approver, decided), {}, 0.0)
    assert past is not None
    assert past.approved_by == expected
    assert past.approved is (expected is not None)


ADDRESSES = st.sampled_from(["a@x.com", "b@x.com, c@x.com", "d@x.com;e@x.com", "f@x.com"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["invite", "send"]), ADDRESSES, st.booleans()), max_size=8),
    st.integers(min_value=0, max_value=3),
)
def test_the_run_s_log_keeps_what_earlier_decisions_read_and_agrees_with_reading_all(
    made: list[tuple[str, str, bool]], tail: int
) -> None:
    """Decision after decision over one log, the settled calls shared and the last ones
    rebuilt each time, the values agree with reading every call again."""
    calls = [
        approved(tool, by="ana" if ok else None, email=to).model_copy(update={"call_id": str(i)})
        for i, (tool, to, ok) in enumerate(made)
    ]
    log = OutputLog()
    for end in range(len(calls) + 1):
        settled = tuple(calls[: max(0, end - tail)])
        rebuilt = tuple(c.model_copy() for c in calls[max(0, end - tail) : end])
        history = History(calls=settled + rebuilt, outputs=log)
        for excepted in (frozenset(), frozenset({"invite"})):
            kept = approved_values(history, except_tools=excepted)
            whole = approved_values(History(calls=history.calls), except_tools=excepted)
            assert kept == whole
    other = History(calls=tuple(c.model_copy() for c in calls[:1]), outputs=log)
    assert approved_values(other, except_tools=frozenset()) == approved_values(
        History(calls=other.calls), except_tools=frozenset()
    )


FIELDS = """
version: 1
tool_sets:
  mail_readers: [read_inbox, read_archive]
tools:
  read_inbox:
    side_effect: read
    action: allow
    untrusted_output: true
    output_fields: {trusted: ["[].from"]}
  read_archive:
    side_effect: read
    action: allow
    untrusted_output: true
    output_fields: {trusted: ["[].from"]}
  invite:
    side_effect: write
    action: allow
    args:
      email:
        normalise: email
        trust: {user: false, fields: {mail_readers: "[].from"}, nowhere: deny}
"""


def labelled(policy: Policy, tool: str, **fields: str) -> PastCall:
    return policy.earlier_call(tool, output=[fields])


def test_a_trust_tier_reads_trusted_fields_and_a_set_stands_for_its_tools() -> None:
    policy = Policy.from_yaml(FIELDS)
    calls = (labelled(policy, "read_archive", **{"from": "ana@x.com", "body": "eve@evil.test"}),)
    invite = decide(policy, call("invite", email="ana@x.com"), calls=calls)
    assert invite.action == "allow"
    third = decide(policy, call("invite", email="eve@evil.test"), calls=calls)
    assert third.action == "confirm"
    assert "output of read_archive" in third.reason
    assert decide(policy, call("invite", email="zed@x.com"), calls=calls).action == "deny"


def test_a_field_source_is_checked_against_the_agent_s_tools_set_members_too() -> None:
    tools = [
        ToolInfo(name="read_inbox", untrusted_output=True),
        ToolInfo(name="invite", side_effect="write"),
    ]
    with pytest.raises(PolicyLoadError, match="read_archive"):
        Policy.from_yaml(FIELDS, tools=tools)
    misnamed = FIELDS.replace("{mail_readers:", "{read_mail:")
    agent = [*tools, ToolInfo(name="read_archive", untrusted_output=True)]
    with pytest.raises(PolicyLoadError, match=r"'read_mail'.*did you mean") as caught:
        Policy.from_yaml(misnamed, tools=agent)
    assert str(caught.value).startswith("<string>:22:")  # the line of the trust's fields
    untrusted = FIELDS.replace('output_fields: {trusted: ["[].from"]}', "")
    with pytest.raises(PolicyLoadError, match=r"read_inbox \[\]\.from, a field labelled"):
        Policy.from_yaml(untrusted, tools=agent)


def test_a_field_source_that_could_never_vouch_is_found_inside_conditions() -> None:
    policy = """
version: 1
tools:
  read_inbox: {side_effect: read, action: allow, untrusted_output: true}
  invite: {side_effect: write, action: allow}
rules:
  - id: strangers
    tools: [invite]
    unless:
      any_of:
        - not: {email: {provenance: {user: false, fields: {read_inbox: "[].body"}}}}
    action: confirm
"""
    tools = [
        ToolInfo(name="read_inbox", untrusted_output=True),
        ToolInfo(name="invite", side_effect="write"),
    ]
    with pytest.raises(PolicyLoadError, match="could never vouch"):
        Policy.from_yaml(policy, tools=tools)


def test_the_cli_mixes_structured_outputs_and_approvals(capsys: pytest.CaptureFixture[str]) -> None:
    from agentkit.cli import main

    inbox = '[{"from": "ana@example.com", "subject": "invite dora@example.net"}]'
    path = Path(__file__).resolve().parents[1] / "fixtures" / "structured_policy.yaml"
    argv = ["policy", "explain", str(path), "--tool", "forward"]
    argv += ["--output", f"read_inbox={inbox}"]
    approval = ["--approved", 'invite_to_event={"email": "dora@example.net"}']
    for to, more, expected in [
        ("ana@example.com", [], "allow"),  # a trusted header field
        ("dora@example.net", [], "confirm"),  # only in a subject: third-party output
        ("dora@example.net", approval, "allow"),  # and a person approved inviting her
        ("zed@example.com", approval, "deny"),
    ]:
        assert main([*argv, "--args", f'{{"to": "{to}"}}', *more]) == (
            3 if expected == "deny" else 0
        )
        assert capsys.readouterr().out.split()[0] == expected, to
