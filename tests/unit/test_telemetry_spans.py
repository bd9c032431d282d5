"""Traces by the GenAI conventions, read through the OpenTelemetry SDK's in-memory
exporter: a run with two calls that run (one after a person's approval) and one denied
yields one ``invoke_agent`` span, a ``chat`` span per model request and an
``execute_tool`` span per call beneath it, with the policy's decision, its rule and the
approval on the call's span; a tool's own spans nest under its call; no span holds the
API key or a value the audit log redacts, even with content capture on."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit import Agent, tool
from agentkit.decision import Principal
from agentkit.telemetry import TelemetrySettings
from agentkit.testing import FakeXAI, RecordingApprover, Script, Turn
from agentkit.testing.scripted_client import TEST_API_KEY, scripted_client

SECRET = "xai-" + "".join(random.Random(3).choices(string.ascii_letters + string.digits, k=40))
POLICY = """
version: 1
roles:
  ops: {}
tools:
  lookup: {action: allow}
  drop_table: {action: deny}
  page_oncall: {action: confirm}
"""
TRACER_PROVIDER = TracerProvider()
EXPORTER = InMemorySpanExporter()
TRACER_PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


class Ops(Agent):
    instructions = "Help the on-call engineer."

    @tool
    async def lookup(self, ticket: int) -> str:
        """Read a ticket.

        Args:
            ticket: its number.
        """
        with TRACER_PROVIDER.get_tracer("db").start_as_current_span("SELECT tickets"):
            return f"ticket {ticket}: disk full; token {SECRET}"

    @tool(side_effect="destructive")
    async def drop_table(self, name: str) -> str:
        """Drop a table.

        Args:
            name: the table.
        """
        raise AssertionError("denied calls never run")

    @tool(side_effect="external_send")
    async def page_oncall(self, message: str) -> str:
        """Page the on-call engineer.

        Args:
            message: what to say.
        """
        return "paged"


def _script() -> Script:
    return Script([
        Turn.calls([("lookup", {"ticket": 42}), ("drop_table", {"name": "tickets"})]),
        Turn.call("page_oncall", {"message": f"disk full, key {SECRET}"}),
        Turn.text("Paged the on-call engineer."),
    ])  # fmt: skip


def _settings(capture: bool) -> tuple[TelemetrySettings, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    settings = TelemetrySettings(tracer_provider=TRACER_PROVIDER, meter_provider=meters,
                                 capture_content=capture)  # fmt: skip
    return settings, reader


async def _run(tmp_path: Path, settings: TelemetrySettings) -> list[ReadableSpan]:
    EXPORTER.clear()
    (tmp_path / "policy.yaml").write_text(POLICY)
    agent = Ops(client=scripted_client(FakeXAI(_script())), policy=str(tmp_path / "policy.yaml"),
                audit=None, approver=RecordingApprover(True, name="lee"), telemetry=settings,
                principal=Principal(user_id="ana", roles=("ops",)))  # fmt: skip
    result = await agent.run("Ticket 42 again: look, then page on-call.")
    assert result.status == "completed"
    return list(EXPORTER.get_finished_spans())


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    [found] = [span for span in spans if span.name == name]
    return found


@pytest.mark.parametrize("capture", [False, True])
async def test_the_span_tree_and_its_attributes(tmp_path: Path, capture: bool) -> None:
    settings, _ = _settings(capture)
    spans = await _run(tmp_path, settings)
    run = _one(spans, "invoke_agent Ops")
    assert run.parent is None
    attributes = dict(run.attributes or {})
    assert attributes["gen_ai.operation.name"] == "invoke_agent"
    assert attributes["gen_ai.provider.name"] == "x_ai"
    assert attributes["agentkit.run.status"] == "completed"
    assert attributes["gen_ai.aggregated_usage.input_tokens"] > 0
    chats = [span for span in spans if span.name.startswith("chat ")]
    assert len(chats) == 3
    for chat in chats:
        assert chat.parent is not None
        assert chat.parent.span_id == run.context.span_id
        chat_attributes = dict(chat.attributes or {})
        assert chat_attributes["gen_ai.operation.name"] == "chat"
        assert chat_attributes["gen_ai.usage.input_tokens"] > 0
        assert chat_attributes["gen_ai.response.id"]
    tools = {span.name: span for span in spans if span.name.startswith("execute_tool ")}
    assert set(tools) == {"execute_tool lookup", "execute_tool drop_table",
                          "execute_tool page_oncall"}  # fmt: skip
    for span in tools.values():
        assert span.parent is not None
        assert span.parent.span_id == run.context.span_id
        assert dict(span.attributes or {})["gen_ai.tool.call.id"]
    denied = dict(tools["execute_tool drop_table"].attributes or {})
    assert denied["agentkit.decision.action"] == "deny"
    assert denied["agentkit.decision.rule"]
    assert denied["agentkit.call.status"] == "denied"
    paged = dict(tools["execute_tool page_oncall"].attributes or {})
    assert paged["agentkit.decision.action"] == "confirm"
    assert paged["agentkit.approval.approved"] is True
    assert paged["agentkit.approval.approver"] == "lee"
    assert paged["agentkit.call.status"] == "ok"
    assert [e.name for e in tools["execute_tool page_oncall"].events] == [
        "agentkit.approval.requested", "agentkit.approval.decided"]  # fmt: skip
    inner = _one(spans, "SELECT tickets")
    assert inner.parent is not None
    assert inner.parent.span_id == tools["execute_tool lookup"].context.span_id
    looked = dict(tools["execute_tool lookup"].attributes or {})
    assert ("gen_ai.tool.call.arguments" in looked) is capture
    assert ("gen_ai.tool.call.result" in looked) is capture
    if capture:
        assert json.loads(looked["gen_ai.tool.call.arguments"]) == {"ticket": 42}
        assert "disk full" in looked["gen_ai.tool.call.result"]


async def test_no_span_holds_the_key_or_a_redacted_value(tmp_path: Path) -> None:
    settings, _ = _settings(capture=True)
    spans = await _run(tmp_path, settings)
    dumped = json.dumps([span.to_json() for span in spans])
    assert SECRET not in dumped
    assert TEST_API_KEY not in dumped
    assert "[REDACTED" in dumped or "REDACTED" in dumped  # the secret was there, masked


async def test_measurements_by_the_conventions_and_the_policy(tmp_path: Path) -> None:
    settings, reader = _settings(capture=False)
    await _run(tmp_path, settings)
    points = _points(reader)
    usage = points["gen_ai.client.token.usage"]
    types = {p["attributes"]["gen_ai.token.type"] for p in usage}
    assert types == {"input", "output"}
    assert all(p["attributes"]["gen_ai.provider.name"] == "x_ai" for p in usage)
    assert sum(p["count"] for p in points["gen_ai.client.operation.duration"]) == 3
    decisions = {(p["attributes"]["gen_ai.tool.name"], p["attributes"]["agentkit.decision.action"]):
                 p["value"] for p in points["agentkit.policy.decisions"]}  # fmt: skip
    assert decisions == {("lookup", "allow"): 1, ("drop_table", "deny"): 1,
                         ("page_oncall", "confirm"): 1}  # fmt: skip
    assert sum(p["value"] for p in points["agentkit.approvals.pending"]) == 0


def _points(reader: InMemoryMetricReader) -> dict[str, list[dict[str, Any]]]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = [json.loads(p.to_json()) for p in metric.data.data_points]
    return found


def test_a_runner_reports_once_an_sdk_is_set_globally_after_it_was_made() -> None:
    """Without a provider the runner skips spans altogether; an application that sets its
    SDK later (after the agent was made) gets the spans of the runs after that."""
    import subprocess
    import sys

    program = """
import asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from agentkit import Agent
from agentkit.telemetry import TelemetrySettings
from agentkit.testing import Script, Turn, scripted_client

class Quiet(Agent):
    pass

agent = Quiet(client=scripted_client(Script([Turn.text("a"), Turn.text("b")])), audit=None)
assert not TelemetrySettings().reports()
asyncio.run(agent.run("one"))
provider, exporter = TracerProvider(), InMemorySpanExporter()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
assert TelemetrySettings().reports()
asyncio.run(agent.run("two"))
print(sorted(span.name for span in exporter.get_finished_spans()))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['chat grok-4-1-fast-non-reasoning', 'invoke_agent Quiet']"
