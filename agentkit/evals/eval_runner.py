"""Running a dataset: every case, on every model, as many times as it repeats.

Each run gets a new agent: built with the case's fixtures (a fresh folder for its setup),
its principal, an approver that answers as the case says (or none, so the run pauses),
no audit log, and a seal key of its own (a paused run is sealed; nothing is kept).
Offline, the model client answers from the case's script through the real client code
(`agentkit.testing.scripted_client`); online, the agent's own client talks to the API.

A case with a conversation starts from a state holding it, as a run continued from a
checkpoint: the earlier messages are the transcript, the prompt the user's next one.
"""

from __future__ import annotations

import inspect
import secrets
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.errors import AgentkitError, ConfigError
from agentkit.evals.checks import check_run
from agentkit.evals.dataset import EvalCase, EvalDataset, Fixtures, Message
from agentkit.evals.references import resolve
from agentkit.evals.results import CaseResult, CheckResult, EvalReport, RunRecord
from agentkit.evals.scripts import case_script

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.decision import Principal
    from agentkit.model.client import XAIClient
    from agentkit.state import RunResult

OnResult = Callable[[CaseResult], None]


@dataclass(frozen=True)
class EvalOptions:
    """How a dataset is run."""

    models: Sequence[str | None] = (None,)
    """Model names; None is the agent's own model."""
    offline: bool = True
    repeat: int | None = None
    """Runs of every case per model, in place of the dataset's and the cases' counts."""
    threshold: float = 1.0
    """The share of a case's runs that must pass for it to pass."""
    base_url: str | None = None
    """Online: the API base URL (default: the client's)."""


async def run_dataset(
    dataset: EvalDataset,
    agent_cls: type[Agent],
    options: EvalOptions = EvalOptions(),
    *,
    on_result: OnResult | None = None,
) -> EvalReport:
    """Run every case of `dataset` with `agent_cls` and check each run.

    `on_result` is called with each case's result on a model as soon as it is known.

    Raises:
        ConfigError: a case's script, fixtures' setup or judge cannot be found.
    """
    for case in dataset.cases:  # before any run: a typo in the last case fails at once
        _check_references(dataset, case, agent_cls, options.offline)
    started = time.time()
    models = [model or agent_cls.model for model in options.models]
    report = EvalReport(
        dataset=dataset.name,
        agent=f"{agent_cls.__module__}:{agent_cls.__qualname__}",
        mode="offline" if options.offline else "online",
        models=models,
        started_at=started,
    )
    for model in models:
        for case in dataset.cases:
            result = CaseResult(case=case.name, model=model, threshold=options.threshold)
            for _ in range(options.repeat or case.repeat or dataset.repeat):
                result.runs.append(await run_case(dataset, case, agent_cls, model, options))
            report.results.append(result)
            if on_result is not None:
                on_result(result)
    report.duration_s = round(time.time() - started, 3)
    return report


def _check_references(dataset: EvalDataset, case: EvalCase, agent_cls: type, offline: bool) -> None:
    try:
        if offline:
            case_script(agent_cls, case.name, case.script)
        fixtures = case.inputs.fixtures or dataset.fixtures
        if fixtures.setup is not None:
            resolve(fixtures.setup, what="fixtures.setup")
        answer = case.expected.answer
        if answer is not None and answer.judge is not None:
            resolve(answer.judge, what="judge")
    except ConfigError as exc:
        raise ConfigError(f"case {case.name!r}: {exc}") from None


async def run_case(
    dataset: EvalDataset,
    case: EvalCase,
    agent_cls: type[Agent],
    model: str,
    options: EvalOptions,
) -> RunRecord:
    """One run of `case` on `model`, checked."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="agentkit-eval-") as folder:
        fixtures = case.inputs.fixtures or dataset.fixtures
        kwargs = await _agent_kwargs(fixtures, Path(folder), case.name)
        principal = case.inputs.principal or dataset.principal
        client = _offline_client(agent_cls, case) if options.offline else _online_client(options)
        agent = agent_cls(
            client=client,
            model=model,
            principal=principal,
            approver=_approver(case),
            audit=None,
            sealer=_fresh_sealer(),
            **kwargs,
        )
        error = None
        try:
            run = await _start(agent, case, principal)
        except AgentkitError as exc:
            if exc.run is None:
                raise
            run, error = exc.run, f"{type(exc).__name__}: {exc}"
        finally:
            await _close(agent)
    checks = await check_run(case.expected, run)
    if error is not None and not any(
        check.name == "status" and not check.passed for check in checks
    ):
        checks.append(CheckResult(name="error", passed=False, detail=error))
    return RunRecord.of(run, checks, error=error, duration_ms=(time.perf_counter() - started) * 1e3)


async def _agent_kwargs(fixtures: Fixtures, folder: Path, case: str) -> dict[str, Any]:
    kwargs = dict(fixtures.agent_kwargs)
    if fixtures.setup is None:
        return kwargs
    made = resolve(fixtures.setup, what="fixtures.setup")(folder)
    if inspect.isawaitable(made):
        made = await made
    if not isinstance(made, Mapping):
        raise ConfigError(
            f"case {case!r}: fixtures.setup {fixtures.setup} returned "
            f"{type(made).__name__}, not a mapping of agent keyword arguments"
        )
    return {**kwargs, **made}


def _offline_client(agent_cls: type, case: EvalCase) -> XAIClient:
    from agentkit.testing import FakeXAI, scripted_client

    answers = _earlier_answers(case.inputs.conversation)
    script = case_script(agent_cls, case.name, case.script, earlier_answers=answers)
    return scripted_client(FakeXAI(script))


def _online_client(options: EvalOptions) -> XAIClient:
    from agentkit.model import XAIClient

    return XAIClient(base_url=options.base_url) if options.base_url else XAIClient()


def _earlier_answers(conversation: list[Message]) -> int:
    """The model turns the fake counts in `conversation`: runs of assistant messages."""
    turns, previous = 0, ""
    for message in conversation:
        if message.role == "assistant" and previous != "assistant":
            turns += 1
        previous = message.role
    return turns


def _approver(case: EvalCase) -> Any:
    from agentkit.testing import RecordingApprover

    if case.approve == "none":
        return None
    # a name no principal has: an approver named as the principal would be self-approval
    return RecordingApprover(case.approve == "all", name=f"eval approver (approve: {case.approve})")


def _fresh_sealer() -> Any:
    from agentkit.sealing import Sealer

    return Sealer(secrets.token_bytes(32))


async def _start(agent: Agent, case: EvalCase, principal: Principal) -> RunResult:
    if not case.inputs.conversation:
        return await agent.run(case.inputs.prompt, principal=principal)
    from agentkit.pipeline.confirm import seal_state
    from agentkit.state import RunResult

    history = [{"role": m.role, "content": m.content} for m in case.inputs.conversation]
    runner = agent.runner
    state = RunResult(
        run_id=uuid.uuid4().hex,
        agent=runner.agent_name,
        model=runner.model,
        principal=principal,
        conversation=[*history, {"role": "user", "content": case.inputs.prompt}],
        user_messages=[
            *(m.content for m in case.inputs.conversation if m.role == "user"),
            case.inputs.prompt,
        ],
        started_at=time.time(),
    )
    seal_state(state, runner.sealer)
    return await agent.continue_from(state, principal=principal)


async def _close(agent: Agent) -> None:
    from agentkit.tools.python import close_python_tool

    try:
        await agent.client.aclose()
    finally:
        for tool in agent.tool_list:
            await close_python_tool(tool)
