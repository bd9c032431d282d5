"""The library's diagnostics as structured logs: each record names its run, call, tool
and model request and the current trace; none holds a call's arguments or outputs; the
library adds no handler; structlog users get the same ids through one processor."""

from __future__ import annotations

import logging
import random
import string
from pathlib import Path

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from agentkit import Agent, tool
from agentkit.decision import Principal
from agentkit.telemetry import TelemetrySettings, bound_ids, log_context, structlog_processor
from agentkit.testing import FakeXAI, Fault, Script, Turn
from agentkit.testing.scripted_client import scripted_client

SECRET = "".join(random.Random(5).choices(string.ascii_letters, k=24))
POLICY = """
version: 1
roles:
  ops: {}
tools:
  lookup: {action: allow}
  drop_table: {action: deny}
"""


class Ops(Agent):
    @tool
    async def lookup(self, ticket: str) -> str:
        """Read a ticket."""
        logging.getLogger("tests.tool").info("inside the tool")
        return f"ticket {ticket}: {SECRET}"

    @tool(side_effect="destructive")
    async def drop_table(self, name: str) -> str:
        """Drop a table."""
        return "dropped"


async def _run(tmp_path: Path, settings: TelemetrySettings | None = None) -> str:
    (tmp_path / "policy.yaml").write_text(POLICY)
    fake = FakeXAI(Script([
        Turn.calls([("lookup", {"ticket": SECRET}), ("drop_table", {"name": SECRET})]),
        Turn.text("done"),
    ]))  # fmt: skip
    fake.inject(Fault.http(503))
    agent = Ops(client=scripted_client(fake), policy=str(tmp_path / "policy.yaml"), audit=None,
                principal=Principal(user_id="ana", roles=("ops",)), telemetry=settings)  # fmt: skip
    result = await agent.run("look the ticket up, then drop the table")
    return result.run_id


async def test_records_carry_the_ids_and_never_the_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentkit")
    provider = TracerProvider()
    run_id = await _run(tmp_path, TelemetrySettings(tracer_provider=provider))
    ours = [r for r in caplog.records if r.name.startswith("agentkit")]
    assert ours
    for record in ours:
        assert getattr(record, "run_id", None) == run_id, record.getMessage()
        assert len(getattr(record, "trace_id", "") or "") == 32
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(vars(record))
    [denied] = [r for r in ours if r.getMessage().startswith("call.decided") and
                r.levelno == logging.INFO]  # fmt: skip
    assert denied.tool == "drop_table"  # type: ignore[attr-defined]
    assert denied.call_id  # type: ignore[attr-defined]
    [retry] = [r for r in ours if "retrying xAI request" in r.getMessage()]
    assert retry.request_id  # type: ignore[attr-defined]
    assert not logging.getLogger("agentkit").handlers


async def test_without_an_sdk_records_carry_the_run_but_no_trace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentkit")
    run_id = await _run(tmp_path)
    ours = [r for r in caplog.records if r.name.startswith("agentkit.run")]
    assert {getattr(r, "run_id", None) for r in ours} == {run_id}
    assert all(getattr(r, "trace_id", None) is None for r in ours)


def test_the_structlog_processor_adds_the_bound_ids_and_keeps_the_event_s_own() -> None:
    captured = structlog.testing.LogCapture()
    structlog.configure(processors=[structlog_processor, captured])
    try:
        with log_context(run_id="r1", call_id="c1"):
            structlog.get_logger().info("hello", call_id="mine")
            assert bound_ids() == {"run_id": "r1", "call_id": "c1"}
        structlog.get_logger().info("after")
    finally:
        structlog.reset_defaults()
    first, after = captured.entries
    assert (first["run_id"], first["call_id"]) == ("r1", "mine")
    assert "run_id" not in after
