"""A run started over the service's HTTP API continues the caller's trace: the request's
W3C ``traceparent`` is the parent of the run's ``invoke_agent`` span (uvicorn on loopback,
the OpenTelemetry SDK's in-memory exporter)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit import Agent, ApprovalStore, tool
from agentkit.serve import TokenAuthenticator, TokenStore, create_app
from agentkit.telemetry import TelemetrySettings
from agentkit.testing import Script, Turn, scripted_client

pytest.importorskip("uvicorn")

POLICY = """
version: 1
roles:
  clerk: {}
tools:
  balance: {side_effect: read, action: allow}
"""
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


class Ledger(Agent):
    @tool
    async def balance(self, account: str) -> str:
        """An account's balance."""
        return f"{account}: 100 EUR"


def test_a_run_continues_the_trace_of_the_request_that_started_it(
    tmp_path: Path, serve_app: Any
) -> None:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    (tmp_path / "p.yaml").write_text(POLICY)
    script = Script([Turn.call("balance", {"account": "ops"}), Turn.text("100 EUR.")])
    agent = Ledger(client=scripted_client(script), policy=tmp_path / "p.yaml", audit=None,
                   telemetry=TelemetrySettings(tracer_provider=provider))  # fmt: skip
    tokens = TokenStore(tmp_path / "tokens.db")
    app = create_app(agent, store=ApprovalStore(tmp_path / "approvals.db"),
                     authenticator=TokenAuthenticator(tokens), heartbeat=0.2)  # fmt: skip
    with serve_app(app) as base:
        token = tokens.create("ana", ("clerk",), "acme")
        made = httpx2.post(
            base + "/v1/runs", json={"prompt": "balance of ops"}, timeout=10,
            headers={"Authorization": f"Bearer {token}",
                     "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
        )  # fmt: skip
        assert made.status_code == 202, made.text
        for _ in range(200):
            if any(s.name == "invoke_agent Ledger" for s in exporter.get_finished_spans()):
                break
            time.sleep(0.05)
    spans = exporter.get_finished_spans()
    [run] = [s for s in spans if s.name == "invoke_agent Ledger"]
    assert format(run.context.trace_id, "032x") == TRACE_ID
    assert run.parent is not None
    assert format(run.parent.span_id, "016x") == PARENT_ID
    assert {s.name for s in spans if s.context.trace_id == run.context.trace_id} >= {
        "chat grok-4-1-fast-non-reasoning", "execute_tool balance"}  # fmt: skip
