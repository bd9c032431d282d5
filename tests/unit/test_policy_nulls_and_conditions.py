"""Nulls and missing arguments: a null optional argument passes an argument's checks (strict
schemas make models send one for every argument they do not use), while a rule's condition
never holds on a null or on an argument the tool lacks, so an exception cannot let a call
of the class skip its rule (fail closed). Tool names inside conditions are checked too."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import Agent, Principal, Tool
from agentkit.decision import ToolInfo
from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy
from agentkit.testing import Turn, scripted_client
from agentkit.testing.decisions import decide
from agentkit.testing.decisions import proposed_call as call

ARG_CHECKS = """
version: 1
lists:
  contacts: {normalise: email, values: [ana@example.com]}
tools:
  send_mail:
    side_effect: external_send
    action: allow
    args:
      to: {normalise: email, provenance: {user: true, lists: [contacts]}}
      cc: {normalise: email, in_list: contacts}
      link: {domains: {allow: [example.com]}}
      bcc: {normalise: email, in_list: contacts, if_null: deny}
"""


def send_mail(
    to: str, cc: str | None = None, link: str | None = None, bcc: str | None = None
) -> str:
    """Send mail.

    Args:
        to: Recipient.
        cc: Copy.
        link: A link to include.
        bcc: Blind copy.
    """
    return f"sent to {to}"


def run_with(arguments: dict[str, Any], policy: str = ARG_CHECKS) -> Any:
    agent = Agent(
        client=scripted_client([Turn.call("send_mail", arguments), Turn.text("done")]),
        tools=[Tool(send_mail, side_effect="external_send")],
        policy=Policy.from_yaml(policy),
        principal=Principal(user_id="ana"),
    )
    return agent.run_sync("mail ana@example.com").steps[0]


def test_null_optional_arguments_pass_provenance_lists_and_domains() -> None:
    step = run_with({"to": "ana@example.com", "cc": None, "link": None, "bcc": "ana@example.com"})
    assert step.status == "ok", step.output


def test_if_null_deny_refuses_a_null() -> None:
    step = run_with({"to": "ana@example.com", "cc": None, "link": None, "bcc": None})
    assert step.status == "denied"
    assert step.decision is not None
    assert step.decision.rule == "tools.send_mail.args.bcc"


def test_a_sent_value_is_still_checked() -> None:
    step = run_with(
        {"to": "ana@example.com", "cc": "eve@evil.test", "link": None, "bcc": "ana@example.com"}
    )
    assert step.status == "denied"
    assert step.decision is not None
    assert step.decision.rule == "tools.send_mail.args.cc"


CLASS_RULE = """
version: 1
lists:
  internal: {normalise: domain, values: [example.com]}
classes:
  external_send: {action: allow}
rules:
  - id: outside-needs-a-person
    classes: [external_send]
    unless:
      recipient: {domains: {allow_lists: [internal]}}
    action: confirm
"""

# tools of the class: some have `recipient`, some do not (a webhook, an SMS gateway)
TOOL_ARGS = {
    "send_mail": {"recipient": "bob@example.com", "body": "hi"},
    "post_webhook": {"url": "https://evil.test/hook", "body": "hi"},
    "send_sms": {"number": "+15550100", "body": "hi"},
    "mail_null": {"recipient": None, "body": "hi"},
}


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(TOOL_ARGS)), st.booleans())
def test_an_exception_never_holds_on_an_argument_the_tool_lacks(tool: str, internal: bool) -> None:
    arguments = dict(TOOL_ARGS[tool])
    if not internal and arguments.get("recipient") is not None:
        arguments["recipient"] = "eve@evil.test"
    d = decide(
        Policy.from_yaml(CLASS_RULE), call(tool.removesuffix("_null"), "external_send", **arguments)
    )
    recipient = arguments.get("recipient")
    exempt = isinstance(recipient, str) and recipient.endswith("@example.com")
    assert d.action == ("allow" if exempt else "confirm"), (tool, arguments, d)


def test_if_null_pass_lets_a_null_satisfy_an_exception() -> None:
    text = CLASS_RULE.replace("recipient: {domains:", "recipient: {if_null: pass, domains:")
    d = decide(Policy.from_yaml(text), call("send_mail", "external_send", recipient=None))
    assert d.action == "allow"
    d = decide(Policy.from_yaml(text), call("post_webhook", "external_send", url="x"))
    assert d.action == "confirm"  # missing is not null: the tool lacks the argument


AGENT = [
    ToolInfo(name="read_inbox", untrusted_output=True),
    ToolInfo(name="lookup", untrusted_output=False),
    ToolInfo(name="send", side_effect="external_send"),
]


@pytest.mark.parametrize("part", ["when", "unless"])
def test_a_misspelt_tool_inside_a_condition_is_a_load_error(part: str) -> None:
    text = (
        "version: 1\nrules:\n  - id: r\n    tools: [send]\n"
        f"    {part}:\n      to: {{provenance: {{tools: [lookpu]}}}}\n"
    )
    with pytest.raises(PolicyLoadError, match=r"lookpu.*did you mean 'lookup'") as caught:
        Policy.from_yaml(text, tools=AGENT)
    assert caught.value.line == 6


def test_after_untrusted_naming_a_trusted_tool_is_a_load_error() -> None:
    text = (
        "version: 1\nrules:\n  - id: r\n    tools: [send]\n"
        "    after_untrusted: [read_inbox, lookup]\n"
    )
    with pytest.raises(
        PolicyLoadError, match="after_untrusted names lookup, whose output is trusted"
    ):
        Policy.from_yaml(text, tools=AGENT)
    marked = text + "tools:\n  lookup: {untrusted_output: true}\n"
    assert Policy.from_yaml(marked, tools=AGENT).sources == ("<string>",)


def test_after_untrusted_may_name_a_tool_that_labels_its_own_output() -> None:
    """Database rows from untrusted columns come back untrusted: such a tool may be named."""
    agent = [*AGENT, ToolInfo(name="query_db", labels_own_output=True)]
    text = "version: 1\nrules:\n  - id: r\n    tools: [send]\n    after_untrusted: [query_db]\n"
    assert Policy.from_yaml(text, tools=agent).sources == ("<string>",)
    with pytest.raises(PolicyLoadError, match="whose output is trusted"):
        Policy.from_yaml(text, tools=[*AGENT, ToolInfo(name="query_db")])
