"""Well-formed policies that contradict themselves or the agent: message, line and key of each."""

from __future__ import annotations

import pytest

from agentkit.decision import ToolInfo
from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy
from agentkit.policy.compiled import CompileError


def failure(text: str, tools: list[ToolInfo] | None = None) -> tuple[int | None, str | None, str]:
    with pytest.raises(PolicyLoadError) as info:
        Policy.from_yaml(text, source="p.yaml", tools=tools)
    assert info.value.path == "p.yaml"
    return (info.value.line, info.value.key, info.value.detail)


COMPILE_ERRORS = [
    # (name, text, line, key, message)
    (
        "role includes an unknown role",
        "version: 1\nroles:\n  ops: {}\n  admin:\n    includes:\n      - ops\n      - opz\n",
        7,
        "roles.admin.includes.1",
        "role 'admin' includes unknown role 'opz' (did you mean 'ops'?)",
    ),
    (
        "role includes a role nothing like a known one",
        "version: 1\nroles:\n  ops: {includes: [zzzz]}\n",
        3,
        "roles.ops.includes.0",
        "role 'ops' includes unknown role 'zzzz'",
    ),
    (
        "tool names an undeclared role",
        "version: 1\ntools:\n  a:\n    roles: [ops]\n",
        4,
        "tools.a.roles.0",
        "unknown role 'ops' (declare it under roles:)",
    ),
    (
        "class names a misspelt role",
        "version: 1\nroles: {ops: {}}\nclasses:\n  write:\n    action: allow\n    roles: [opss]\n",
        6,
        "classes.write.roles.0",
        "unknown role 'opss' (did you mean 'ops'?)",
    ),
    (
        "rule names a misspelt role",
        "version: 1\nroles: {ops: {}}\nrules:\n  - id: r\n    roles:\n      - ops\n      - opps\n",
        7,
        "rules.r.roles.1",
        "unknown role 'opps' (did you mean 'ops'?)",
    ),
    (
        "rule exempts a misspelt role",
        "version: 1\nroles: {treasurer: {}}\nrules:\n  - id: r\n    unless_roles: [treasurr]\n",
        5,
        "rules.r.unless_roles.0",
        "unknown role 'treasurr' (did you mean 'treasurer'?)",
    ),
    (
        "destructive class allowed",
        "version: 1\nclasses:\n  destructive:\n    description: x\n    action: allow\n",
        5,
        "classes.destructive.action",
        "destructive tools cannot be allowed as a class: use confirm "
        "(a destructive call always waits for a person)",
    ),
    (
        "bad pattern in a rule's when",
        "version: 1\nrules:\n  - id: a\n  - id: b\n    when:\n      x: {pattern: '(['}\n",
        6,
        "rules.b.when.x",
        "pattern is not a valid regular expression: unterminated character set at position 1",
    ),
    (
        "bad schema in a rule's unless",
        "version: 1\nrules:\n  - id: b\n    unless:\n\n      x: {minLength: 1, type: thing}\n",
        6,
        "rules.b.unless.x",
        "invalid JSON Schema keyword: 'thing' is not valid under any of the given schemas",
    ),
    (
        "unknown list in a tool argument",
        "version: 1\nlists: {payees: {}}\ntools:\n  pay:\n    args:\n"
        "      to: {not_in_list: payes}\n",
        6,
        "tools.pay.args.to",
        "not_in_list names the list 'payes', which the policy does not declare "
        "(did you mean 'payees'?)",
    ),
    (
        "unknown list in a tool argument's in_list",
        "version: 1\ntools:\n  pay:\n    args:\n      to: {in_list: payees}\n",
        5,
        "tools.pay.args.to",
        "in_list names the list 'payees', which the policy does not declare",
    ),
    (
        "allow list that is not of domains",
        "version: 1\nlists: {sites: {}}\ntools:\n  get:\n    args:\n"
        "      url: {domains: {allow_lists: [sites]}}\n",
        6,
        "tools.get.args.url",
        "allow_lists: list 'sites' must have normalise: domain",
    ),
    (
        "deny list that is not of domains",
        "version: 1\nlists: {sites: {normalise: url}}\ntools:\n  get:\n    args:\n"
        "      url: {domains: {deny_lists: [sites]}}\n",
        6,
        "tools.get.args.url",
        "deny_lists: list 'sites' must have normalise: domain",
    ),
    (
        "provenance list undeclared",
        "version: 1\ntools:\n  pay:\n    args:\n      to: {provenance: {lists: [payees]}}\n",
        5,
        "tools.pay.args.to",
        "provenance.lists names the list 'payees', which the policy does not declare",
    ),
    (
        "bad domain entry",
        "version: 1\ntools:\n  get:\n    args:\n      url: {domains: {deny: ['-x.com']}}\n",
        5,
        "tools.get.args.url",
        "domains: '-x.com' is not a valid host name",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [case[1:] for case in COMPILE_ERRORS],
    ids=[case[0] for case in COMPILE_ERRORS],
)
def test_inconsistent_policy_is_refused_with_line_key_and_message(
    text: str, line: int, key: str, message: str
) -> None:
    assert failure(text) == (line, key, message)


def test_a_compile_error_reads_as_its_message() -> None:
    err = CompileError("something is off", ("tools", "a"))
    assert (str(err), err.message, err.where) == (
        "something is off",
        "something is off",
        ("tools", "a"),
    )


AGENT = [
    ToolInfo(name="search", untrusted_output=True),
    ToolInfo(name="send", side_effect="external_send"),
    ToolInfo(name="rm", side_effect="destructive"),
]

TOOL_REFERENCES = [
    # (name, text, line, key, message)
    (
        "a provenance source the agent lacks",
        "version: 1\ntools:\n  send:\n    args:\n      to:\n        provenance:\n"
        "          tools: [search, serch]\n",
        7,
        "tools.send.args.to.provenance.tools.1",
        "the policy names the tool 'serch', which the agent does not have (did you mean 'search'?)",
    ),
    (
        "a rule tool the agent lacks",
        "version: 1\nrules:\n  - id: first\n  - id: r\n    tools:\n      - send\n      - sendd\n",
        7,
        "rules.r.tools.1",
        "the policy names the tool 'sendd', which the agent does not have (did you mean 'send'?)",
    ),
    (
        "an untrusted source the agent lacks",
        "version: 1\nrules:\n  - id: r\n    after_untrusted:\n      - web_fetch\n",
        5,
        "rules.r.after_untrusted.0",
        "the policy names the tool 'web_fetch', which the agent does not have",
    ),
    (
        "a quota tool the agent lacks",
        "version: 1\nquotas:\n  - id: q\n    sum: n\n    max: 1\n    tools: [search, pay]\n",
        6,
        "quotas.q.tools.1",
        "the policy names the tool 'pay', which the agent does not have",
    ),
    (
        "a side effect that disagrees",
        "version: 1\ntools:\n  rm:\n    action: confirm\n    side_effect: write\n",
        5,
        "tools.rm.side_effect",
        "the policy declares rm as write, the agent as destructive",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [case[1:] for case in TOOL_REFERENCES],
    ids=[case[0] for case in TOOL_REFERENCES],
)
def test_tool_references_are_checked_against_the_agent(
    text: str, line: int, key: str, message: str
) -> None:
    assert failure(text, AGENT) == (line, key, message)


def test_a_policy_that_matches_the_agent_passes_the_tool_check() -> None:
    text = (
        "version: 1\ntools:\n  send:\n    side_effect: external_send\n    args:\n"
        "      to: {provenance: {tools: [search]}}\n"
        "rules:\n  - {id: r, tools: [send], after_untrusted: [search]}\n"
        "quotas:\n  - {id: q, sum: n, max: 1, tools: [send]}\n"
    )
    assert Policy.from_yaml(text, tools=AGENT).sources == ("<string>",)
