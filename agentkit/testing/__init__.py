"""Offline xAI and loop-level test doubles.

A scripted fake of the xAI REST API, in-process or on loopback HTTP; a model client
over it (`scripted_client`); a recording approver, a recording sandbox and a fake clock;
policy decisions in a line (`agentkit.testing.decisions`).

Example:
    >>> fake = FakeXAI(Script([Turn.call("lookup_ticket", {"ticket_id": 42}), Turn.text("done")]))
    >>> async with httpx2.AsyncClient(transport=fake.transport()) as http: ...
    >>> with serve_in_thread(fake) as server: print(server.base_url)
    >>> agent = Desk(client=scripted_client(fake), approver=RecordingApprover(True))
"""

from __future__ import annotations

from agentkit.testing.approver import RecordingApprover
from agentkit.testing.clock import FakeClock
from agentkit.testing.exchange import RecordedRequest
from agentkit.testing.fake import FakeXAI
from agentkit.testing.faults import Fault
from agentkit.testing.sandbox import RecordingSandbox, SandboxCall
from agentkit.testing.schema_args import fit_arguments
from agentkit.testing.script import Script, SearchResult, ToolCall, Turn
from agentkit.testing.scripted_client import TEST_API_KEY, scripted_client
from agentkit.testing.server import FakeServer, serve_in_thread
from agentkit.testing.sse import parse_sse
from agentkit.testing.transport import FakeTransport

__all__ = [
    "TEST_API_KEY",
    "FakeClock",
    "FakeServer",
    "FakeTransport",
    "FakeXAI",
    "Fault",
    "RecordedRequest",
    "RecordingApprover",
    "RecordingSandbox",
    "SandboxCall",
    "Script",
    "SearchResult",
    "ToolCall",
    "Turn",
    "fit_arguments",
    "parse_sse",
    "scripted_client",
    "serve_in_thread",
]
