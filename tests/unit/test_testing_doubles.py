"""The loop-level doubles of agentkit.testing: their examples run, and they do what they say."""

from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import ConfigError
from agentkit.model import ModelRequest, XAIClient
from agentkit.pipeline.confirm import pending_approval
from agentkit.sandbox.execution import Execution, Sandbox
from agentkit.state import PendingApproval
from agentkit.testing import (
    FakeClock,
    FakeXAI,
    RecordingApprover,
    RecordingSandbox,
    SandboxCall,
    Script,
    Turn,
    scripted_client,
)

TESTING = Path(__file__).resolve().parents[2] / "agentkit" / "testing"
ASK = ModelRequest(model="grok-4-1-fast-non-reasoning", input=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize(
    "module", ["scripted_client", "approver", "sandbox", "clock", "decisions", "soak"]
)
def test_the_examples_run(module: str) -> None:
    results = doctest.testmod(importlib.import_module(f"agentkit.testing.{module}"))
    assert results.attempted > 0
    assert results.failed == 0


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_fake_and_its_transport_do_not_import_each_other() -> None:
    assert "agentkit.testing.fake" not in imported_modules(TESTING / "transport.py")
    assert "agentkit.testing.transport" in imported_modules(TESTING / "fake.py")


@pytest.mark.parametrize(
    "source",
    [
        [Turn.text("scripted")],
        Script([Turn.text("scripted")]),
        lambda body: Turn.text("scripted"),
    ],
)
async def test_a_scripted_client_answers_from_its_script(source: Any) -> None:
    client = scripted_client(source)
    assert isinstance(client, XAIClient)
    async with client:
        assert (await client.respond(ASK)).text == "scripted"


async def test_a_scripted_client_over_a_given_fake_records_on_that_fake() -> None:
    fake = FakeXAI(Script([Turn.text("one")]))
    async with scripted_client(fake, api_key="k" * 16) as client:
        await client.respond(ASK)
    [request] = fake.requests
    assert request.headers["authorization"] == "Bearer " + "k" * 16


async def test_a_scripted_client_without_a_script_is_the_offline_model() -> None:
    async with scripted_client() as client:
        assert "offline test model" in (await client.respond(ASK)).text


def approval(tool: str, call_id: str = "call1") -> PendingApproval:
    return pending_approval("run1", call_id, tool, {"n": 1}, reason="r", rule="x", now=0.0)


async def test_a_recording_approver_answers_from_a_mapping_and_denies_the_rest() -> None:
    approver = RecordingApprover({"close": True, "drop": False}, name="ops")
    verdicts = [await approver(approval(tool)) for tool in ("close", "drop", "other")]
    assert verdicts == [True, False, False]
    assert approver.tools == ["close", "drop", "other"]
    assert approver.name == "ops"


async def test_a_recording_approver_answers_from_a_sync_or_async_function() -> None:
    async def later(request: PendingApproval) -> bool:
        return request.call_id == "c2"

    sync = RecordingApprover(lambda request: request.call_id == "c1")
    asynchronous = RecordingApprover(later)
    assert [await sync(approval("t", "c1")), await sync(approval("t", "c2"))] == [True, False]
    assert [await asynchronous(approval("t", c)) for c in ("c1", "c2")] == [False, True]
    assert [r.call_id for r in asynchronous.requests] == ["c1", "c2"]


async def test_a_recording_sandbox_records_calls_and_repeats_its_last_execution() -> None:
    first, then = Execution("1\n", "", 0), Execution("", "boom", 1)
    sandbox = RecordingSandbox(first, then)
    assert isinstance(sandbox, Sandbox)
    got = [
        await sandbox.execute("a", files={"in.txt": "x"}, fetch=["out.txt"], timeout=2.0),
        await sandbox.execute("b"),
        await sandbox.execute("c"),
    ]
    assert got == [first, then, then]
    assert sandbox.calls[0] == SandboxCall("a", {"in.txt": "x"}, ("out.txt",), 2.0)
    assert sandbox.codes == ["a", "b", "c"]
    assert not sandbox.closed
    await sandbox.aclose()
    assert sandbox.closed


async def test_a_recording_sandbox_without_executions_exits_zero() -> None:
    assert (await RecordingSandbox().execute("pass")).ok


def test_a_fake_clock_moves_only_forward_and_only_when_told() -> None:
    clock = FakeClock(10.0)
    assert (clock(), clock()) == (10.0, 10.0)
    assert clock.advance(0.5) == 10.5 == clock()
    with pytest.raises(ConfigError):
        clock.advance(-1)
    assert clock() == 10.5
