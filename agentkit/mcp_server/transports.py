"""`GuardedTools` behind the MCP SDK's server, over stdio or streamable HTTP.

Who calls comes from the transport: over HTTP, every request is authenticated (an
`Authenticator`: agentkit's API tokens, OIDC bearer tokens, a trusted gateway) before the
MCP layer sees it, and the principal is that request's; a request without one is answered
401. Over stdio, the client started this process, so the principal is the one it was
started for (``agentkit mcp serve --user/--role``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from agentkit.decision import Principal
from agentkit.errors import ConfigError
from agentkit.mcp_server.guarded import CallAnswer, GuardedTools, ListedTool
from agentkit.serve.tokens import Authenticator, Unauthenticated

if TYPE_CHECKING:
    import mcp_types
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel import Server

PRINCIPAL_KEY = "agentkit.principal"
"""Where an authenticated HTTP request carries its principal (the ASGI scope's state)."""
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def mcp_server(tools: GuardedTools, *, principal: Principal | None = None) -> Server[Any]:
    """The SDK's low-level server answering ``tools/list`` and ``tools/call`` with `tools`.

    `principal` is whom stdio calls are for; an HTTP call is its request's principal.

    Raises:
        ConfigError: the ``[mcp]`` extra is not installed.
    """
    try:
        import mcp_types as types
        from mcp.server.lowlevel import Server
    except ImportError:
        raise ConfigError(
            "serving over MCP needs the [mcp] extra: pip install 'agentkit[mcp]'"
        ) from None

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[_tool(t) for t in tools.listed()])

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        who = _principal_of(ctx, principal)
        if who is None:
            return _result(CallAnswer("no principal: the request was not authenticated",
                                      True, {"status": "unauthenticated"}))  # fmt: skip
        return _result(await tools.call(who, params.name, params.arguments))

    return Server(
        tools.agent.runner.agent_name,
        instructions=tools.agent.runner.instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(tools: GuardedTools, principal: Principal) -> None:
    """Serve `tools` on this process's stdin and stdout until the client closes them."""
    from mcp.server.stdio import stdio_server

    server = mcp_server(tools, principal=principal)
    shown = sys.stdout, sys.stdin
    # the wire is the real stdout (a CLI may have wrapped it to escape control characters);
    # while serving, the SDK points fd 1 at stderr, so stray output never reaches the wire
    sys.stdout = getattr(sys.stdout, "target", sys.stdout)
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        sys.stdout, sys.stdin = shown


def http_app(tools: GuardedTools, authenticator: Authenticator, *, host: str) -> ASGIApp:
    """The streamable HTTP app (at ``/mcp``), every request authenticated first.

    Each request stands alone (no session is kept between them), so any number of these
    processes can share one address; DNS rebinding protection is on for a loopback `host`.
    """
    server = mcp_server(tools)
    app = server.streamable_http_app(stateless_http=True, json_response=True, host=host)
    return Authenticated(app, authenticator)


class Authenticated:
    """ASGI middleware: an HTTP request goes on only with a principal from `authenticator`,
    kept in the scope's state for the MCP handlers; otherwise 401."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            if getattr(self.authenticator, "blocks", True):  # may wait on the network
                who = await asyncio.to_thread(self.authenticator.authenticate, headers)
            else:
                who = self.authenticator.authenticate(headers)
        except Unauthenticated as exc:
            await _refuse(send, str(exc))
            return
        scope.setdefault("state", {})[PRINCIPAL_KEY] = who
        await self.app(scope, receive, send)


async def _refuse(send: Any, reason: str) -> None:
    body = json.dumps({"error": "Unauthenticated", "message": reason}).encode()
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _principal_of(ctx: ServerRequestContext[Any], stdio: Principal | None) -> Principal | None:
    request = ctx.request
    if request is None:
        return stdio
    found = request.scope.get("state", {}).get(PRINCIPAL_KEY)
    return found if isinstance(found, Principal) else None


def _tool(listed: ListedTool) -> mcp_types.Tool:
    import mcp_types as types

    return types.Tool(
        name=listed.name,
        description=listed.description,
        input_schema=listed.input_schema,
        annotations=types.ToolAnnotations(
            read_only_hint=listed.read_only,
            destructive_hint=listed.destructive,
            open_world_hint=listed.open_world,
        ),
    )


def _result(answer: CallAnswer) -> mcp_types.CallToolResult:
    import mcp_types as types

    return types.CallToolResult(
        content=[types.TextContent(text=answer.text)],
        structured_content=answer.detail,
        is_error=answer.is_error,
    )
