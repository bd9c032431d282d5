"""`agentkit policy explain` and a real run decide every call of the policy corpus alike.

The run goes through the whole pipeline (fake model, Runner, validation, run limits, the
policy, the destructive floor); explain asks the policy alone. Any rule enforced in one
place but not the other shows up here as a disagreement. A corpus entry may name its
policy file (``policy:``) and calls that run before (``earlier:``, one a turn, returning
``output`` (a text) or ``returns`` (a structure), approved by a person when ``approved:
true``); explain is given the same calls.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit import Agent, Principal, Tool, XAIClient
from agentkit.approvers import CallbackApprover
from agentkit.cli import main
from agentkit.decision import PastCall
from agentkit.policy import Policy, load_policy
from agentkit.policy.builtin import builtin_path, is_builtin
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.script import Search, ToolCall

REPO = Path(__file__).resolve().parents[2]
CORPUS = yaml.safe_load((REPO / "tests" / "fixtures" / "policy_corpus.yaml").read_text())


def policy_path(name: str) -> Path:
    return REPO / CORPUS[name].get("policy", f"agentkit/policies/{name}.yaml")


def cases() -> list[Any]:
    found = []
    for name, entry in CORPUS.items():
        path = policy_path(name)
        roles = [None, *roles_of(load_policy(path))]
        for tool, samples in entry["calls"].items():
            for index, arguments in enumerate(samples):
                for role in roles:
                    for untrusted in (False, True):
                        label = f"{name}-{tool}-{index}-{role or 'norole'}-{untrusted}"
                        case = (name, entry["user_message"], tool, arguments, role, untrusted)
                        found.append(pytest.param(*case, id=label))
    return found


def earlier(name: str) -> list[dict[str, Any]]:
    return list(CORPUS[name].get("earlier", ()))


def returned(e: dict[str, Any]) -> Any:
    """What an earlier call's tool returns: a structure, a text, or "done"."""
    return e["returns"] if "returns" in e else e.get("output", "done")


def earlier_calls(policy: Policy, name: str) -> list[PastCall]:
    return [
        policy.earlier_call(
            e["tool"],
            output=returned(e),
            arguments=e.get("arguments", {}),
            approved=e.get("approved", False),
        )
        for e in earlier(name)
    ]


@functools.cache
def cached_policy(path: Path) -> Policy:
    return load_policy(path)


def roles_of(policy: Policy) -> list[str]:
    names: set[str] = set()
    for source in policy.sources:
        path = builtin_path(source) if is_builtin(source) else Path(source)
        names |= set((yaml.safe_load(path.read_text()) or {}).get("roles") or {})
    return sorted(names)


def explained(
    name: str,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
) -> tuple[str, str]:
    policy = cached_policy(policy_path(name))
    decision = policy.explain(
        tool,
        arguments,
        principal=Principal(user_id="u", roles=(role,) if role else ()),
        user_messages=(message,),
        after_untrusted=untrusted,
        earlier=earlier_calls(policy, name),
    )
    return decision.action, decision.rule


def explained_by_the_cli(
    capsys: pytest.CaptureFixture[str],
    name: str,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
) -> tuple[str, str]:
    path = policy_path(name)
    argv = ["policy", "explain", str(path), "--tool", tool, "--args", json.dumps(arguments)]
    argv += ["--user", "u", "--user-message", message]
    for e in earlier(name):
        if e.get("approved"):
            argv += ["--approved", f"{e['tool']}={json.dumps(e.get('arguments', {}))}"]
        elif "returns" in e:
            argv += ["--output", f"{e['tool']}={json.dumps(e['returns'])}"]
        else:
            argv += ["--ran", f"{e['tool']}={e.get('output', 'done')}"]
    argv += ["--role", role] if role else []
    argv += ["--after-untrusted"] if untrusted else []
    code = main(argv)
    action, rule = capsys.readouterr().out.splitlines()[0].split()
    assert code == (3 if action == "deny" else 0)  # deny exits 3
    return action, rule.removeprefix("rule=")


class RowsStandIn(Tool):
    """A stand-in for a database tool: it takes the policy's untrusted_columns (which a
    plain tool refuses) and, returning no rows, has nothing to label by them."""

    __slots__ = ()

    def with_untrusted_columns(self, columns: Iterable[str]) -> Tool:
        return self


def any_arguments_tool(
    policy: Policy, name: str, arguments: dict[str, Any], returns: Any = "done"
) -> Tool:
    async def body(**_: Any) -> Any:
        return returns

    body.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, annotation=Any) for k in arguments]
    )
    body.__annotations__ = dict.fromkeys(arguments, Any)
    kind = RowsStandIn if policy.tool_overrides(name).untrusted_columns else Tool
    return kind(body, name=name, side_effect=policy.tool_info(name).side_effect)


def agent_tools(
    policy: Policy, called: str, arguments: dict[str, Any], before: list[dict[str, Any]]
) -> list[Tool]:
    """The called tool, taking `arguments`, and every other tool the policy names, each
    taking the arguments the policy constrains (so the policy loads against them); the
    tools of earlier calls take their arguments too and return what they returned."""
    named = {name for name, _ in policy._tool_references()} | {called}
    named |= {e["tool"] for e in before}
    returns = {e["tool"]: returned(e) for e in before}
    tools = []
    for name in sorted(named):
        rule = policy.spec.tools.get(name)
        taken = {field.split(".")[0]: None for field in rule.args} if rule else {}
        if rule and rule.side_effect_by:
            taken[rule.side_effect_by.arg.split(".")[0]] = None
        for e in before:
            if e["tool"] == name:
                taken |= e.get("arguments", {})
        if name == called:
            taken |= arguments
        tools.append(any_arguments_tool(policy, name, taken, returns.get(name, "done")))
    return tools


def decided_in_a_run(
    name: str,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
) -> tuple[str, str]:
    policy = cached_policy(policy_path(name))
    before = earlier(name)
    call = ToolCall(tool, arguments)
    # a server-side search ran in the same turn: its results are untrusted content in the run
    search = Search("web", "anything", ()) if untrusted else None
    turns = [Turn.call(e["tool"], e.get("arguments", {})) for e in before]
    turns += [Turn(function_calls=(call,), search_call=search), Turn.text("ok")]
    approves = any(e.get("approved") for e in before)
    agent = Agent(
        client=XAIClient(api_key="test-key-123456", transport=FakeXAI(Script(turns)).transport()),
        tools=agent_tools(policy, tool, arguments, before),
        policy=policy,
        principal=Principal(user_id="u", roles=(role,) if role else ()),
        approver=CallbackApprover(lambda _: True, name="person") if approves else None,
    )
    result = asyncio.run(agent.run(message))
    for step, e in zip(result.steps, before, strict=False):
        assert step.tool == e["tool"]
        assert step.status == "ok", f"{step.tool}: {step.output}"
    [step] = [s for s in result.steps[len(before) :] if s.tool == tool]
    assert step.decision is not None, f"{tool} never reached a decision: {step.output}"
    return step.decision.action, step.decision.rule


ALL = cases()


CASE = ("name", "message", "tool", "arguments", "role", "untrusted")


@pytest.mark.parametrize(CASE, ALL)
def test_explain_and_a_run_decide_alike(
    name: str,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
) -> None:
    case = (name, message, tool, arguments, role, untrusted)
    assert decided_in_a_run(*case) == explained(*case)


@pytest.mark.parametrize(CASE, ALL[::7])
def test_the_cli_prints_what_policy_explain_decides(
    capsys: pytest.CaptureFixture[str],
    name: str,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
) -> None:
    case = (name, message, tool, arguments, role, untrusted)
    assert explained_by_the_cli(capsys, *case) == explained(*case)


def test_the_corpus_reaches_every_action() -> None:
    """A corpus whose calls were all allowed would agree trivially."""
    seen = {
        decided_in_a_run(name, entry["user_message"], tool, args, None, untrusted)[0]
        for name, entry in CORPUS.items()
        for tool, samples in entry["calls"].items()
        for args in samples
        for untrusted in (False, True)
    }
    assert seen == {"allow", "deny", "confirm"}
