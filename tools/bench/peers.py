"""One run (prompt -> one tool call -> final text) in each framework, against one server.

Every peer gets the same tool, the same prompt and an httpx2 client with the same
connection limits; each `make_*` returns the run coroutine factory and a closer.
Frameworks other than agentkit are imported inside their factory: they live only in
the benchmark environment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tools.bench.workload import (
    MODEL,
    POLICY,
    PROMPT,
    TICKET,
    WIRE_TOOL,
    aiohttp_post,
    floor_run,
    httpx2_post,
    lookup_ticket,
)

Run = Callable[[], Awaitable[None]]
Close = Callable[[], Awaitable[None]]


@dataclass
class Peer:
    """A ready client: `run()` does one whole run; `close()` releases its connections."""

    run: Run
    close: Close


def limits(connections: int) -> Any:
    """The same pool limits for every peer: enough connections for every concurrent run."""
    import httpx2

    return httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)


def _http(connections: int) -> Any:
    import httpx2

    return httpx2.AsyncClient(limits=limits(connections), timeout=60.0)


def _openai(base_url: str, connections: int) -> Any:
    import openai

    http = openai.DefaultAsyncHttpxClient(limits=limits(connections), timeout=60.0)
    return openai.AsyncOpenAI(base_url=base_url, api_key="bench", http_client=http)


async def make_agentkit(base_url: str, folder: Path, connections: int) -> Peer:
    """agentkit as shipped (httpx2 over aiohttp), with strict validation, a YAML policy and
    a hash-chained JSONL audit log. No pool limit: its default transport has none."""
    del connections
    return _agentkit_peer(agentkit_agent(base_url, folder / "audit.jsonl", None))


async def make_agentkit_lean(base_url: str, folder: Path, connections: int) -> Peer:
    """agentkit on the HTTP/1.1 transport it shipped before aiohttp (kept in
    tools/bench/lean_transport.py only to compare against), otherwise as shipped."""
    del connections
    from tools.bench.lean_transport import LeanTransport

    audit = folder / "audit.jsonl"
    return _agentkit_peer(agentkit_agent(base_url, audit, None, transport=LeanTransport()))


def _agentkit_peer(agent: Any) -> Peer:

    async def run() -> None:
        result = await agent.run(PROMPT)
        if result.status != "completed":
            raise RuntimeError(f"agentkit run {result.status}: {result.error}")

    async def close() -> None:
        await agent.client.aclose()

    return Peer(run, close)


def agentkit_agent(base_url: str, audit_path: Path, http: Any, transport: Any = None) -> Any:
    """The benchmark agent: one @tool, the benchmark policy, an audit log to a file."""
    from agentkit import Agent, Principal, tool
    from agentkit.audit import AuditLog, JsonlSink
    from agentkit.model import XAIClient
    from agentkit.policy import Policy

    class Bench(Agent):
        model = MODEL

        @tool
        async def lookup_ticket(self, ticket_id: int) -> dict[str, Any]:
            """Look up a ticket."""
            return {**TICKET, "id": ticket_id}

    return Bench(
        client=XAIClient(api_key="bench", base_url=base_url, http=http, transport=transport),
        policy=Policy.from_yaml(POLICY),
        audit=AuditLog(JsonlSink(audit_path)),
        principal=Principal(user_id="bench", roles=("user",)),
    )


async def make_httpx2_floor(base_url: str, folder: Path, connections: int) -> Peer:
    """Two raw httpx2 POSTs: the least any client over httpx2 can do."""
    http = _http(connections)
    post = httpx2_post(http)

    async def run() -> None:
        await floor_run(post, base_url)

    return Peer(run, http.aclose)


async def make_transport_floor(base_url: str, folder: Path, connections: int) -> Peer:
    """Two httpx2 POSTs over agentkit's default transport: the stack XAIClient sends on,
    without agentkit's own work (validation, policy, audit)."""
    import httpx2

    from agentkit.model.transport import AiohttpTransport

    http = httpx2.AsyncClient(transport=AiohttpTransport(), timeout=60.0)
    post = httpx2_post(http)

    async def run() -> None:
        await floor_run(post, base_url)

    return Peer(run, http.aclose)


async def make_aiohttp_floor(base_url: str, folder: Path, connections: int) -> Peer:
    """Two raw aiohttp POSTs on one session: the least any client over aiohttp can do."""
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections))
    post = aiohttp_post(session)

    async def run() -> None:
        await floor_run(post, base_url)

    return Peer(run, session.close)


async def make_openai_sdk(base_url: str, folder: Path, connections: int) -> Peer:
    """The openai package alone: two `responses.create` calls and the tool run by hand."""
    client = _openai(base_url, connections)
    tools = [_wire_tool()]

    async def run() -> None:
        items: list[Any] = [{"role": "user", "content": PROMPT}]
        first = await client.responses.create(
            model=MODEL, input=items, tools=tools, parallel_tool_calls=True
        )
        call = next(i for i in first.output if i.type == "function_call")
        output = lookup_ticket(**json.loads(call.arguments))
        items += [
            call.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": call.call_id, "output": json.dumps(output)},
        ]
        second = await client.responses.create(
            model=MODEL, input=items, tools=tools, parallel_tool_calls=True
        )
        if not second.output_text:
            raise RuntimeError("openai: no final text")

    return Peer(run, client.close)


async def make_openai_agents(base_url: str, folder: Path, connections: int) -> Peer:
    """The OpenAI Agents SDK on its Responses model, tracing off."""
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)
    client = _openai(base_url, connections)
    agent = Agent(
        name="bench",
        model=OpenAIResponsesModel(model=MODEL, openai_client=client),
        tools=[function_tool(lookup_ticket)],
    )

    async def run() -> None:
        result = await Runner.run(agent, PROMPT)
        if not result.final_output:
            raise RuntimeError("openai-agents: no final text")

    return Peer(run, client.close)


async def _pydantic_ai(base_url: str, connections: int, responses: bool) -> Peer:
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    client = _openai(base_url, connections)
    provider = OpenAIProvider(openai_client=client)
    kind = OpenAIResponsesModel if responses else _xai_chat_model(OpenAIChatModel)
    agent = Agent(kind(MODEL, provider=provider), tools=[lookup_ticket])

    async def run() -> None:
        result = await agent.run(PROMPT)
        if not result.output:
            raise RuntimeError("pydantic-ai: no final text")

    return Peer(run, client.close)


def _xai_chat_model(base: Any) -> Any:
    """Pydantic AI's chat model, sending ``content: ""`` beside tool calls as xAI requires.

    As shipped it sends ``null``, which xAI (and the fake) refuse with a 400; this is the
    override hook its docstring offers for such differences.
    """

    class Context(base._MapModelResponseContext):  # type: ignore[misc,name-defined]
        def _into_message_param(self) -> Any:
            message = super()._into_message_param()
            if message is not None and message.get("tool_calls") and message.get("content") is None:
                message["content"] = ""
            return message

    return type("XAIChatModel", (base,), {"_MapModelResponseContext": Context})


async def make_pydantic_ai_responses(base_url: str, folder: Path, connections: int) -> Peer:
    """Pydantic AI on its OpenAI Responses model."""
    return await _pydantic_ai(base_url, connections, responses=True)


async def make_pydantic_ai_chat(base_url: str, folder: Path, connections: int) -> Peer:
    """Pydantic AI on its OpenAI Chat Completions model."""
    return await _pydantic_ai(base_url, connections, responses=False)


async def make_raw_asyncio(base_url: str, folder: Path, connections: int) -> Peer:
    """The floor under any HTTP library: two HTTP/1.1 POSTs written on one asyncio socket."""
    parts = urlsplit(base_url)
    host, port, prefix = parts.hostname or "127.0.0.1", parts.port or 80, parts.path

    async def run() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            body: dict[str, Any] = {
                "model": MODEL,
                "input": [{"role": "user", "content": PROMPT}],
                "tools": [_wire_tool()],
                "parallel_tool_calls": True,
            }
            first = await _post(reader, writer, host, f"{prefix}/responses", body)
            call = next(i for i in first["output"] if i["type"] == "function_call")
            body["input"] += [
                call,
                {"type": "function_call_output", "call_id": call["call_id"], "output": "{}"},
            ]
            await _post(reader, writer, host, f"{prefix}/responses", body)
        finally:
            writer.close()

    async def close() -> None:
        return None

    return Peer(run, close)


def _wire_tool() -> dict[str, Any]:
    return dict(WIRE_TOOL)


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str, body: Any
) -> Any:
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer bench\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    writer.write(head.encode() + payload)
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    if " 200 " not in lines[0] + " ":
        raise RuntimeError(f"raw asyncio: {lines[0]}")
    length = next(
        int(v) for k, _, v in (h.partition(":") for h in lines) if k.lower() == "content-length"
    )
    return json.loads(await reader.readexactly(length))


PEERS: dict[str, Callable[[str, Path, int], Awaitable[Peer]]] = {
    "httpx2_floor": make_httpx2_floor,
    "aiohttp_floor": make_aiohttp_floor,
    "transport_floor": make_transport_floor,
    "agentkit": make_agentkit,
    "agentkit_lean": make_agentkit_lean,
    "openai_sdk": make_openai_sdk,
    "openai_agents": make_openai_agents,
    "pydantic_ai_chat": make_pydantic_ai_chat,
    "pydantic_ai_responses": make_pydantic_ai_responses,
    "raw_asyncio_floor": make_raw_asyncio,
}
LABELS = {
    "httpx2_floor": "floor: 2 httpx2 POSTs",
    "raw_asyncio_floor": "floor: 2 raw asyncio POSTs",
    "aiohttp_floor": "floor: 2 raw aiohttp POSTs",
    "transport_floor": "2 httpx2 POSTs over agentkit's transport",
    "agentkit": "agentkit (validation, policy, audit)",
    "agentkit_lean": "agentkit on its old HTTP/1.1 transport",
    "openai_sdk": "openai SDK alone",
    "openai_agents": "OpenAI Agents SDK (Responses)",
    "pydantic_ai_chat": "Pydantic AI (chat)",
    "pydantic_ai_responses": "Pydantic AI (Responses)",
}
