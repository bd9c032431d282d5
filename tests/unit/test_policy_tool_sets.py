"""Named tool sets stand for their tools wherever the policy lists tools; a misspelt name
is a load error at its line with the nearest tool or set."""

from __future__ import annotations

import pytest

from agentkit.decision import ToolInfo
from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy
from agentkit.testing.decisions import decide, past_call
from agentkit.testing.decisions import proposed_call as call

SETS = """
version: 1
tool_sets:
  mail_senders: [send_email, reply_email]
  outbound: [mail_senders, post_message]
  inbox_readers: [read_inbox, search_mail]
lists:
  contacts: {normalise: email, values: [ana@example.com]}
classes:
  read: {action: allow}
  external_send: {action: allow}
tools:
  read_inbox: {side_effect: read, action: allow, untrusted_output: true}
  search_mail: {side_effect: read, action: allow, untrusted_output: true}
  get_contacts: {side_effect: read, action: allow}
  send_email:
    side_effect: external_send
    action: allow
    args:
      to: {normalise: email, provenance: {tools: [contact_sources]}}
"""


def load(text: str) -> Policy:
    return Policy.from_yaml(text, "p.yaml")


SOURCES = SETS.replace("  inbox_readers:", "  contact_sources: [get_contacts]\n  inbox_readers:")


def test_rules_tools_accept_a_set_and_sets_of_sets() -> None:
    policy = load(SOURCES + "rules:\n  - {id: out, tools: [outbound], action: confirm}\n")
    for tool in ("reply_email", "post_message"):
        assert decide(policy, call(tool, "external_send")).rule == "rules.out"
    assert decide(policy, call("read_inbox")).rule == "tools.read_inbox"


def test_after_untrusted_accepts_a_set() -> None:
    policy = load(
        SOURCES + "rules:\n  - {id: taint, tools: [mail_senders], after_untrusted: [inbox_readers],"
        " action: confirm}\n"
    )
    untrusted = (past_call("search_mail", untrusted=True, output="x"),)
    assert decide(policy, call("reply_email", "external_send"), calls=untrusted).rule == (
        "rules.taint"
    )
    assert decide(policy, call("reply_email", "external_send")).action == "allow"


def test_provenance_tools_accept_a_set() -> None:
    policy = load(SOURCES)
    known = (past_call("get_contacts", output="bob@example.com"),)
    sent = call("send_email", "external_send", to="bob@example.com")
    assert decide(policy, sent, calls=known).action == "allow"
    assert decide(policy, sent).rule == "tools.send_email.args.to"


def test_quotas_accept_a_set() -> None:
    policy = load(SOURCES + "quotas:\n  - {id: q, tools: [mail_senders], sum: n, max: 3}\n")
    calls = (past_call("send_email", "external_send", n=2),)
    assert decide(policy, call("reply_email", "external_send", n=2), calls=calls).rule == (
        "quotas.q"
    )


def test_after_tools_and_approvals_accept_a_set() -> None:
    policy = load(
        SOURCES
        + "approvals: {except_tools: [mail_senders]}\n"
        + "rules:\n  - {id: after, tools: [post_message], after_tools: [inbox_readers],"
        " action: confirm}\n"
    )
    assert decide(policy, call("post_message", "external_send")).action == "allow"
    ran = (past_call("read_inbox", untrusted=True, output="x"),)
    assert decide(policy, call("post_message", "external_send"), calls=ran).rule == ("rules.after")
    assert policy._compiled.teach_except == {"send_email", "reply_email"}


def test_a_tool_set_is_expanded_in_sinks() -> None:
    policy = load(
        SOURCES.replace(
            "get_contacts: {side_effect: read, action: allow}",
            ("get_contacts: {side_effect: read, action: allow, sensitive: {label: pii}}"),
        )
        + "sinks:\n  - id: s\n    labels: [pii]\n    allow: [{tools: [mail_senders]}]\n"
    )
    ran = (past_call("get_contacts", output="phone: 5551234567"),)
    assert decide(
        policy, call("post_message", "external_send", text="5551234567"), calls=ran
    ).rule == ("sinks.s")
    assert decide(
        policy, call("reply_email", "external_send", body="5551234567"), calls=ran
    ).action == ("allow")


def agent(*names: str) -> list[ToolInfo]:
    return [ToolInfo(name=n) for n in names]


ALL = [
    *(ToolInfo(name=n, side_effect="external_send") for n in ("send_email", "reply_email")),
    ToolInfo(name="post_message", side_effect="external_send"),
    *agent("read_inbox", "search_mail", "get_contacts"),
]


def test_a_misspelt_member_is_an_error_at_the_set_line() -> None:
    policy = load(SOURCES.replace("[send_email, reply_email]", "[send_email, reply_emial]"))
    with pytest.raises(PolicyLoadError) as info:
        policy.check_tools(ALL)
    assert str(info.value) == (
        "p.yaml:4: the policy names the tool 'reply_emial', which the agent does not have "
        "(did you mean 'reply_email'?)"
    )


def test_a_misspelt_set_name_suggests_the_set() -> None:
    policy = load(SOURCES + "rules:\n  - {id: r, tools: [mail_sender], action: confirm}\n")
    with pytest.raises(PolicyLoadError) as info:
        policy.check_tools(ALL)
    assert str(info.value).endswith("(did you mean 'mail_senders'?)")
    assert info.value.line == (SOURCES + "rules:\n").count("\n") + 1


def test_every_member_of_a_used_set_is_checked_and_the_policy_loads() -> None:
    load(SOURCES).check_tools(ALL)


def test_sets_naming_each_other_are_a_cycle() -> None:
    with pytest.raises(PolicyLoadError) as info:
        load("version: 1\ntool_sets:\n  a: [t, b]\n  b: [a]\n")
    assert str(info.value) == "p.yaml:4: tool sets name each other in a cycle: a -> b -> a"


def test_a_set_named_like_a_tool_is_refused() -> None:
    with pytest.raises(PolicyLoadError) as info:
        load("version: 1\ntool_sets:\n  t: [u]\ntools:\n  t: {action: allow}\n")
    assert "has the name of a tool" in str(info.value)
    policy = load("version: 1\ntool_sets:\n  t: [u]\n")
    with pytest.raises(PolicyLoadError, match="has the name of one of the agent's tools"):
        policy.check_tools(agent("t", "u"))


def test_an_empty_set_is_refused() -> None:
    # an empty tools list means every tool: a set must never expand to one
    with pytest.raises(PolicyLoadError, match="at least 1 item"):
        load("version: 1\ntool_sets:\n  a: []\n")


def test_after_untrusted_on_a_set_of_trusted_tools_never_fires_and_is_refused() -> None:
    policy = load(
        "version: 1\ntool_sets:\n  quiet: [get_contacts]\n"
        "rules:\n  - {id: r, after_untrusted: [quiet], action: confirm}\n"
    )
    with pytest.raises(PolicyLoadError, match="the tool set quiet, whose tools' output is trusted"):
        policy.check_tools(agent("get_contacts"))


def test_later_files_replace_a_set_by_name(tmp_path: object) -> None:
    from pathlib import Path

    from agentkit.policy import load_policy

    base = Path(str(tmp_path)) / "base.yaml"
    base.write_text(
        "version: 1\nclasses: {read: {action: allow}}\ntool_sets:\n  s: [a]\n"
        "rules:\n  - {id: r, tools: [s], action: confirm}\n"
    )
    top = Path(str(tmp_path)) / "top.yaml"
    top.write_text("version: 1\nextends: base.yaml\ntool_sets:\n  s: [b]\n")
    policy = load_policy(top)
    assert decide(policy, call("b")).rule == "rules.r"
    assert decide(policy, call("a")).rule == "classes.read"
