"""`agentkit policy explain` and a real run decide every call of the policy corpus alike.

The run goes through the whole pipeline (fake model, Runner, validation, run limits, the
policy, the destructive floor); explain asks the policy alone. Any rule enforced in one
place but not the other shows up here as a disagreement.
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
from agentkit.cli import main
from agentkit.policy import Policy, load_policy
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.script import Search, ToolCall

REPO = Path(__file__).resolve().parents[2]
CORPUS = yaml.safe_load((REPO / "tests" / "fixtures" / "policy_corpus.yaml").read_text())


def cases() -> list[Any]:
    found = []
    for name, entry in CORPUS.items():
        path = REPO / "policies" / f"{name}.yaml"
        roles = [None, *roles_of(load_policy(path))]
        for tool, samples in entry["calls"].items():
            for index, arguments in enumerate(samples):
                for role in roles:
                    for untrusted in (False, True):
                        label = f"{name}-{tool}-{index}-{role or 'norole'}-{untrusted}"
                        case = (path, entry["user_message"], tool, arguments, role, untrusted)
                        found.append(pytest.param(*case, id=label))
    return found


@functools.cache
def cached_policy(path: Path) -> Policy:
    return load_policy(path)


def roles_of(policy: Policy) -> list[str]:
    names: set[str] = set()
    for source in policy.sources:
        names |= set((yaml.safe_load(Path(source).read_text()) or {}).get("roles") or {})
    return sorted(names)


def explained(
    path: Path,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
) -> tuple[str, str]:
    decision = cached_policy(path).explain(
        tool,
        arguments,
        principal=Principal(user_id="u", roles=(role,) if role else ()),
        user_messages=(message,),
        after_untrusted=untrusted,
    )
    return decision.action, decision.rule


def explained_by_the_cli(
    capsys: pytest.CaptureFixture[str],
    path: Path,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
) -> tuple[str, str]:
    argv = ["policy", "explain", str(path), "--tool", tool, "--args", json.dumps(arguments)]
    argv += ["--user", "u", "--user-message", message]
    argv += ["--role", role] if role else []
    argv += ["--after-untrusted"] if untrusted else []
    assert main(argv) == 0
    action, rule = capsys.readouterr().out.splitlines()[0].split()
    return action, rule.removeprefix("rule=")


class RowsStandIn(Tool):
    """A stand-in for a database tool: it takes the policy's untrusted_columns (which a
    plain tool refuses) and, returning no rows, has nothing to label by them."""

    __slots__ = ()

    def with_untrusted_columns(self, columns: Iterable[str]) -> Tool:
        return self


def any_arguments_tool(policy: Policy, name: str, arguments: dict[str, Any]) -> Tool:
    async def body(**_: Any) -> str:
        return "done"

    body.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, annotation=Any) for k in arguments]
    )
    body.__annotations__ = dict.fromkeys(arguments, Any)
    kind = RowsStandIn if policy.tool_overrides(name).untrusted_columns else Tool
    return kind(body, name=name, side_effect=policy.tool_info(name).side_effect)


def agent_tools(policy: Policy, called: str, arguments: dict[str, Any]) -> list[Tool]:
    """The called tool, taking `arguments`, and every other tool the policy names, each
    taking the arguments the policy constrains (so the policy loads against them)."""
    named = {name for name, _ in policy._tool_references()} | {called}
    tools = []
    for name in sorted(named):
        rule = policy.spec.tools.get(name)
        constrained = {field.split(".")[0]: None for field in rule.args} if rule else {}
        taken = {**constrained, **arguments} if name == called else constrained
        tools.append(any_arguments_tool(policy, name, taken))
    return tools


def decided_in_a_run(
    path: Path,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
) -> tuple[str, str]:
    policy = cached_policy(path)
    call = ToolCall(tool, arguments)
    # a server-side search ran in the same turn: its results are untrusted content in the run
    search = Search("web", "anything", ()) if untrusted else None
    fake = FakeXAI(Script([Turn(function_calls=(call,), search_call=search), Turn.text("ok")]))
    agent = Agent(
        client=XAIClient(api_key="test-key-123456", transport=fake.transport()),
        tools=agent_tools(policy, tool, arguments),
        policy=policy,
        principal=Principal(user_id="u", roles=(role,) if role else ()),
    )
    result = asyncio.run(agent.run(message))
    [step] = [s for s in result.steps if s.tool == tool]
    assert step.decision is not None, f"{tool} never reached a decision: {step.output}"
    return step.decision.action, step.decision.rule


ALL = cases()


@pytest.mark.parametrize(("path", "message", "tool", "arguments", "role", "untrusted"), ALL)
def test_explain_and_a_run_decide_alike(
    path: Path,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
) -> None:
    case = (path, message, tool, arguments, role, untrusted)
    assert decided_in_a_run(*case) == explained(*case)


@pytest.mark.parametrize(("path", "message", "tool", "arguments", "role", "untrusted"), ALL[::7])
def test_the_cli_prints_what_policy_explain_decides(
    capsys: pytest.CaptureFixture[str],
    path: Path,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
) -> None:
    case = (path, message, tool, arguments, role, untrusted)
    assert explained_by_the_cli(capsys, *case) == explained(*case)


def test_the_corpus_reaches_every_action() -> None:
    """A corpus whose calls were all allowed would agree trivially."""
    seen = {
        decided_in_a_run(
            REPO / "policies" / f"{name}.yaml", entry["user_message"], tool, args, None, untrusted
        )[0]
        for name, entry in CORPUS.items()
        for tool, samples in entry["calls"].items()
        for args in samples
        for untrusted in (False, True)
    }
    assert seen == {"allow", "deny", "confirm"}
