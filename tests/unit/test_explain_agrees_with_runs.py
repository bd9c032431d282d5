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
Outputs = tuple[tuple[str, str], ...]
"""Earlier outputs of a case: (tool, the JSON of what it returned)."""


def policy_file(name: str, entry: dict[str, Any]) -> Path:
    """A shipped policy by its name, or the file the entry names (relative to the repo)."""
    return REPO / entry["file"] if "file" in entry else REPO / "policies" / f"{name}.yaml"


def earlier(entry: dict[str, Any]) -> Outputs:
    """What the entry's tools return before the call: (tool, value), in order."""
    return tuple((o["tool"], freeze(o["returns"])) for o in entry.get("outputs", ()))


def freeze(value: Any) -> Any:
    """A value as a hashable case parameter (parametrised cases are cached by value)."""
    return json.dumps(value)


def cases() -> list[Any]:
    found = []
    for name, entry in CORPUS.items():
        path = policy_file(name, entry)
        roles = [None, *roles_of(load_policy(path))]
        for tool, samples in entry["calls"].items():
            for index, arguments in enumerate(samples):
                for role in roles:
                    for untrusted in (False, True):
                        label = f"{name}-{tool}-{index}-{role or 'norole'}-{untrusted}"
                        case = (path, entry["user_message"], tool, arguments, role, untrusted)
                        found.append(pytest.param(*case, earlier(entry), id=label))
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
    outputs: Outputs = (),
) -> tuple[str, str]:
    decision = cached_policy(path).explain(
        tool,
        arguments,
        principal=Principal(user_id="u", roles=(role,) if role else ()),
        user_messages=(message,),
        after_untrusted=untrusted,
        outputs=[(name, json.loads(value)) for name, value in outputs],
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
    outputs: Outputs = (),
) -> tuple[str, str]:
    argv = ["policy", "explain", str(path), "--tool", tool, "--args", json.dumps(arguments)]
    argv += ["--user", "u", "--user-message", message]
    argv += ["--role", role] if role else []
    argv += ["--after-untrusted"] if untrusted else []
    for name, value in outputs:
        argv += ["--output", f"{name}={value}"]
    assert main(argv) == 0
    action, rule = capsys.readouterr().out.splitlines()[0].split()
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
    policy: Policy, called: str, arguments: dict[str, Any], outputs: Outputs = ()
) -> list[Tool]:
    """The called tool, taking `arguments`, and every other tool the policy names, each
    taking the arguments the policy constrains (so the policy loads against them); a tool
    with an earlier output returns it."""
    named = {name for name, _ in policy._tool_references()} | {called}
    returns = {name: json.loads(value) for name, value in outputs}
    tools = []
    for name in sorted(named):
        rule = policy.spec.tools.get(name)
        constrained = {field.split(".")[0]: None for field in rule.args} if rule else {}
        taken = {**constrained, **arguments} if name == called else constrained
        tools.append(any_arguments_tool(policy, name, taken, returns.get(name, "done")))
    return tools


def decided_in_a_run(
    path: Path,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
    outputs: Outputs = (),
) -> tuple[str, str]:
    policy = cached_policy(path)
    call = ToolCall(tool, arguments)
    # a server-side search ran in the same turn: its results are untrusted content in the run
    search = Search("web", "anything", ()) if untrusted else None
    # the tools with earlier outputs run first, in a turn of their own
    first = [Turn.calls([(name, {}) for name, _ in outputs])] if outputs else []
    turns = [*first, Turn(function_calls=(call,), search_call=search), Turn.text("ok")]
    fake = FakeXAI(Script(turns))
    agent = Agent(
        client=XAIClient(api_key="test-key-123456", transport=fake.transport()),
        tools=agent_tools(policy, tool, arguments, outputs),
        policy=policy,
        principal=Principal(user_id="u", roles=(role,) if role else ()),
    )
    result = asyncio.run(agent.run(message))
    ran = [s.status for s in result.steps[: len(outputs)]]
    assert ran == ["ok"] * len(outputs), f"an earlier output was not produced: {ran}"
    [step] = [s for s in result.steps if s.tool == tool and s.turn == len(first) + 1]
    assert step.decision is not None, f"{tool} never reached a decision: {step.output}"
    return step.decision.action, step.decision.rule


ALL = cases()


CASE = ("path", "message", "tool", "arguments", "role", "untrusted", "outputs")


@pytest.mark.parametrize(CASE, ALL)
def test_explain_and_a_run_decide_alike(
    path: Path,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
    outputs: Outputs,
) -> None:
    case = (path, message, tool, arguments, role, untrusted, outputs)
    assert decided_in_a_run(*case) == explained(*case)


@pytest.mark.parametrize(CASE, ALL[::7])
def test_the_cli_prints_what_policy_explain_decides(
    capsys: pytest.CaptureFixture[str],
    path: Path,
    message: str,
    tool: str,
    arguments: dict[str, Any],
    role: str | None,
    untrusted: bool,
    outputs: Outputs,
) -> None:
    case = (path, message, tool, arguments, role, untrusted, outputs)
    assert explained_by_the_cli(capsys, *case) == explained(*case)


def test_the_corpus_reaches_every_action() -> None:
    """A corpus whose calls were all allowed would agree trivially."""
    seen = {
        decided_in_a_run(
            policy_file(name, entry),
            entry["user_message"],
            tool,
            args,
            None,
            untrusted,
            earlier(entry),
        )[0]
        for name, entry in CORPUS.items()
        for tool, samples in entry["calls"].items()
        for args in samples
        for untrusted in (False, True)
    }
    assert seen == {"allow", "deny", "confirm"}
