"""Replay one scenario through the real agentkit Runner and say what became of each call.

The scripted model makes one call per turn, in the scenario's order, then answers a text.
Every call goes through the whole pipeline: the strict schema, the authoriser (a policy, or
allow-all), the destructive floor, the approver, execution against the AgentDojo
environment, labelling. The approver says yes to everything it is asked, so the replay goes
on as if a person had approved; what matters is that the call was held for one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from agentkit import Principal, RunConfig, Tool
from agentkit.decision import Authoriser
from agentkit.errors import AgentkitError
from agentkit.pipeline.authorise import RecentCalls
from agentkit.pipeline.confirm import MemoryLedger
from agentkit.pipeline.runner import Runner
from agentkit.run_limits import HasRunLimits
from agentkit.sealing import Sealer
from agentkit.state import RunResult, Step
from agentkit.testing import RecordingApprover, Script, Turn, scripted_client
from examples.agentdojo.toolkit import bound
from tools.bench.agentdojo.scenarios import Scenario
from tools.bench.workload import MODEL

Outcome = Literal["allowed", "denied", "confirmed", "invalid", "not_reached"]

FINAL_ANSWER = "Done."
PRINCIPAL = Principal(user_id="emma", roles=("user",))
CONFIG = RunConfig(max_turns=80, max_tool_calls=80, max_tool_errors=80)
"""Room for the longest ground truth (travel's user_task_19 makes 16 calls) plus an attack."""
_SEALER = Sealer(os.urandom(32))
"""One key for the process: no seal file is read or written."""


@dataclass(frozen=True, slots=True)
class CallResult:
    """What became of one replayed call."""

    tool: str
    attacker: bool
    outcome: Outcome
    rule: str | None
    """The rule that decided it (None when it was not decided: invalid, not reached)."""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Replayed:
    """A scenario's calls, each with its result; `error` when the run itself failed."""

    scenario: Scenario
    calls: tuple[CallResult, ...]
    error: str | None = None


async def replay(scenario: Scenario, tools: Iterable[Tool], authoriser: Authoriser) -> Replayed:
    """Run the scenario once, in a fresh copy of its environment."""
    turns = [Turn.call(c.tool, c.arguments) for c in scenario.calls]
    client = scripted_client(Script([*turns, Turn.text(FINAL_ANSWER)]))
    runner = Runner(
        client=client,
        model=MODEL,
        tools=tools,
        authoriser=authoriser,
        config=CONFIG,
        limits=authoriser.run_limits if isinstance(authoriser, HasRunLimits) else None,
        approver=RecordingApprover(True),
        ledger=MemoryLedger(),
        sealer=_SEALER,
        rate_window=RecentCalls(),
        agent_name=f"agentdojo-{scenario.suite}",
    )
    error = None
    try:
        with bound(scenario.environment()):
            run = await runner.start(scenario.prompt, principal=PRINCIPAL)
    except AgentkitError as exc:
        if exc.run is None:
            raise
        run, error = exc.run, f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()
    return Replayed(scenario, _results(scenario, run), error)


def _results(scenario: Scenario, run: RunResult) -> tuple[CallResult, ...]:
    steps = run.steps
    results = []
    for index, call in enumerate(scenario.calls):
        if index >= len(steps):
            results.append(CallResult(call.tool, call.attacker, "not_reached", None))
            continue
        step = steps[index]
        results.append(CallResult(call.tool, call.attacker, _outcome(step), *_rule(step)))
    return tuple(results)


def _outcome(step: Step) -> Outcome:
    if step.decision is None:
        return "invalid"
    action = step.decision.action
    if action == "deny":
        return "denied"
    return "confirmed" if action == "confirm" else "allowed"


def _rule(step: Step) -> tuple[str | None, str | None]:
    if step.decision is None:
        return None, step.output
    return step.decision.rule, step.decision.reason
