"""The one workload every benchmark runs: its model, prompt, tool, policy and raw-HTTP floor.

A run asks about a ticket, the model calls `lookup_ticket` once, and answers. Every peer
and every floor sends this same tool entry and prompt, so their numbers compare.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

MODEL = "grok-4-1-fast-non-reasoning"
PROMPT = "what is ticket 1?"
TICKET = {"id": 1, "title": "disk full"}
POLICY = """
version: 1
default: deny
roles: {user: {}}
tools:
  lookup_ticket:
    side_effect: read
    action: allow
    roles: [user]
    args:
      ticket_id: {minimum: 1}
    rate_limit: {per_run: 10}
"""
TOOL_SCHEMA = {
    "type": "object",
    "properties": {"ticket_id": {"type": "integer"}},
    "required": ["ticket_id"],
    "additionalProperties": False,
}
WIRE_TOOL = {
    "type": "function",
    "name": "lookup_ticket",
    "description": "Look up a ticket.",
    "parameters": TOOL_SCHEMA,
    "strict": True,
}
"""The benchmark's one tool, as every client sends it."""


def lookup_ticket(ticket_id: int) -> dict[str, Any]:
    """Look up a ticket."""
    return {**TICKET, "id": ticket_id}


Post = Callable[[str, dict[str, Any]], Awaitable[Any]]
"""POST a JSON body to a URL; return the decoded JSON answer."""


def httpx2_post(http: Any) -> Post:
    """`Post` over an httpx2.AsyncClient."""

    async def post(url: str, body: dict[str, Any]) -> Any:
        return (await http.post(url, json=body)).json()

    return post


def aiohttp_post(session: Any) -> Post:
    """`Post` over an aiohttp.ClientSession."""

    async def post(url: str, body: dict[str, Any]) -> Any:
        async with session.post(url, json=body) as response:
            return await response.json()

    return post


async def floor_run(post: Post, base_url: str) -> None:
    """Two POSTs, the second carrying the call and its output, as any client would."""
    conversation: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
    body = {
        "model": MODEL,
        "input": conversation,
        "tools": [WIRE_TOOL],
        "parallel_tool_calls": True,
    }
    first = await post(f"{base_url}/responses", body)
    call = next(i for i in first["output"] if i["type"] == "function_call")
    output = json.dumps(TICKET)  # the floor does no tool work: only what any client must send
    conversation = [
        *conversation,
        call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": output},
    ]
    await post(f"{base_url}/responses", {**body, "input": conversation})
