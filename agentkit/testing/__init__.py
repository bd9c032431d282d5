"""Offline xAI: a scripted fake of the xAI REST API, in-process or on loopback HTTP.

Example:
    >>> fake = FakeXAI(Script([Turn.call("lookup_ticket", {"ticket_id": 42}), Turn.text("done")]))
    >>> async with httpx2.AsyncClient(transport=fake.transport()) as http: ...
    >>> with serve_in_thread(fake) as server: print(server.base_url)
"""

from __future__ import annotations

from agentkit.testing.exchange import RecordedRequest
from agentkit.testing.fake import FakeXAI
from agentkit.testing.faults import Fault
from agentkit.testing.schema_args import fit_arguments
from agentkit.testing.script import Script, SearchResult, ToolCall, Turn
from agentkit.testing.server import FakeServer, serve_in_thread
from agentkit.testing.sse import parse_sse
from agentkit.testing.transport import FakeTransport

__all__ = [
    "FakeServer",
    "FakeTransport",
    "FakeXAI",
    "Fault",
    "RecordedRequest",
    "Script",
    "SearchResult",
    "ToolCall",
    "Turn",
    "fit_arguments",
    "parse_sse",
    "serve_in_thread",
]
