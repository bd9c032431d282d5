"""One MCP server's tools as agentkit tools, over stdio or streamable HTTP (the `mcp` SDK).

The toolset starts the server process (stdio) or connects to it (HTTP), lists its tools
and keeps the connection for the calls; `aclose` (or leaving ``async with``) stops the
process. A server that crashed or does not answer within ``call_timeout`` is a typed
tool error (`MCPServerError`), never a hung run. When the server says its tool list
changed, the next call lists it again first: a tool whose schema or hints changed is
refused (`MCPToolChanged`) until a new toolset lists it, and a tool that appeared is not
among the agent's tools, so the model cannot call it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentkit.errors import ConfigError, MCPServerError, MCPToolChanged, ToolFailed
from agentkit.tool import NAME_PART, SchemaTool
from agentkit.tools.mcp.hints import class_from_hints


@dataclass(frozen=True)
class MCPServerSpec:
    """Where an MCP server is and what its calls may take.

    Attributes:
        name: the server's name in the policy: its tools are ``<name>.<tool>``.
        command, args, env, cwd: the process to start (stdio).
        url, headers: the endpoint to connect to (streamable HTTP), and headers such as
            ``Authorization`` (the deployment's credentials, never the model's).
        call_timeout: seconds a call may take before it is a typed error.
        connect_timeout: seconds to start, connect and list the tools.
    """

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    call_timeout: float = 60.0
    connect_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not NAME_PART.match(self.name):
            raise ConfigError(f"MCP server name {self.name!r} must match {NAME_PART.pattern}")
        if (self.command is None) == (self.url is None):
            raise ConfigError(f"MCP server {self.name!r}: give a command (stdio) or a url")
        if self.call_timeout <= 0 or self.connect_timeout <= 0:
            raise ConfigError(f"MCP server {self.name!r}: timeouts must be positive")

    @classmethod
    def stdio(
        cls, name: str, command: str, args: Sequence[str] = (), **options: Any
    ) -> MCPServerSpec:
        """A server started as a process, spoken to over its stdin and stdout."""
        return cls(name, command=command, args=tuple(args), **options)

    @classmethod
    def http(cls, name: str, url: str, **options: Any) -> MCPServerSpec:
        """A server reached over streamable HTTP at ``url``."""
        return cls(name, url=url, **options)


class MCPToolset:
    """The tools of one MCP server (`tools`), while the toolset is open."""

    def __init__(self, spec: MCPServerSpec) -> None:
        self.spec = spec
        self.tools: list[SchemaTool] = []
        self.calls = 0
        """Calls sent to the server."""
        self._client: Any = None
        self._stack = contextlib.AsyncExitStack()
        self._listed: dict[str, str] = {}
        self._changed: set[str] = set()
        self._stale = False
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"MCPToolset({self.spec.name!r}, tools={[t.name for t in self.tools]})"

    async def __aenter__(self) -> MCPToolset:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start or reach the server and list its tools.

        Raises:
            MCPServerError: the server did not start, answer or list its tools in time.
        """
        from mcp import Client

        client = Client(self._transport(), read_timeout_seconds=self.spec.call_timeout,
                        message_handler=self._on_message, mode="legacy")  # fmt: skip
        try:
            async with asyncio.timeout(self.spec.connect_timeout):
                self._client = await self._stack.enter_async_context(client)
                listing = await self._list()
        except Exception as exc:
            await self._close_quietly()
            raise MCPServerError(
                f"MCP server {self.spec.name!r} did not start: {_why(exc)}"
            ) from exc
        self.tools = [self._tool(listed) for listed in listing]

    async def aclose(self) -> None:
        """Stop the server process (stdio) or end the session (HTTP)."""
        await self._close_quietly()

    async def refresh(self) -> dict[str, list[str]]:
        """List the tools again: which ones ``changed`` (refused from now on), appeared
        (``added``: not the agent's, so never offered) and went (``removed``)."""
        listing = await self._list()
        now = {tool.name: _fingerprint(tool) for tool in listing}
        changed = [name for name, seen in self._listed.items() if name in now and now[name] != seen]
        self._changed.update(changed)
        self._stale = False
        return {"changed": changed, "added": sorted(set(now) - set(self._listed)),
                "removed": sorted(set(self._listed) - set(now))}  # fmt: skip

    # --- inside ---------------------------------------------------------------------------

    def _transport(self) -> Any:
        spec = self.spec
        if spec.command is not None:
            from mcp.client.stdio import StdioServerParameters

            return StdioServerParameters(command=spec.command, args=list(spec.args),
                                         env=dict(spec.env) if spec.env else None,
                                         cwd=spec.cwd)  # fmt: skip
        assert spec.url is not None
        if not spec.headers:
            return spec.url
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(headers=dict(spec.headers), timeout=spec.call_timeout)
        self._stack.push_async_callback(http.aclose)
        return streamable_http_client(spec.url, http_client=http)

    async def _list(self) -> list[Any]:
        tools: list[Any] = []
        cursor = None
        while True:
            page = await self._client.list_tools(cursor=cursor, cache_mode="refresh")
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        if not self._listed:
            self._listed = {tool.name: _fingerprint(tool) for tool in tools}
        return tools

    def _tool(self, listed: Any) -> SchemaTool:
        remote = listed.name
        side_effect = class_from_hints(listed.annotations)

        async def call(arguments: dict[str, Any]) -> Any:
            return await self._call(remote, arguments)

        hints = listed.annotations.model_dump(exclude_none=True) if listed.annotations else {}
        return SchemaTool(
            call, name=f"{self.spec.name}.{_safe(remote)}",
            description=listed.description or listed.title or remote,
            parameters=listed.input_schema or {"type": "object"}, side_effect=side_effect,
            untrusted_output=True, timeout=self.spec.call_timeout + 5.0, class_from_hints=True,
            facts={"mcp_server": self.spec.name, "mcp_tool": remote, "mcp_hints": hints},
        )  # fmt: skip

    async def _call(self, name: str, arguments: dict[str, Any]) -> Any:
        if self._client is None:
            raise MCPServerError(f"MCP server {self.spec.name!r} is not running")
        async with self._lock:
            if self._stale:
                await self._refresh_for_call()
        if name in self._changed:
            raise MCPToolChanged(
                f"MCP server {self.spec.name!r} changed tool {name!r} after it was listed; "
                "the call was not sent (list the server's tools again to use it)"
            )
        self.calls += 1
        try:
            async with asyncio.timeout(self.spec.call_timeout):
                result = await self._client.call_tool(name, arguments)
        except TimeoutError:
            raise MCPServerError(
                f"MCP server {self.spec.name!r} did not answer {name} within "
                f"{self.spec.call_timeout:g}s"
            ) from None
        except Exception as exc:
            raise MCPServerError(
                f"MCP server {self.spec.name!r} failed on {name}: {_why(exc)}"
            ) from exc
        return _output(result, self.spec.name, name)

    async def _refresh_for_call(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:
            raise MCPServerError(
                f"MCP server {self.spec.name!r} could not list its changed tools: {_why(exc)}"
            ) from exc

    async def _on_message(self, message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if method == "notifications/tools/list_changed":
            self._stale = True

    async def _close_quietly(self) -> None:
        stack, self._stack = self._stack, contextlib.AsyncExitStack()
        self._client = None
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await stack.aclose()


def _fingerprint(tool: Any) -> str:
    annotations = tool.annotations.model_dump(exclude_none=True) if tool.annotations else {}
    return json.dumps([tool.input_schema, annotations], sort_keys=True, default=str)


def _safe(name: str) -> str:
    if not NAME_PART.match(name):
        raise ConfigError(
            f"MCP tool name {name!r} must match {NAME_PART.pattern} to be named in a policy"
        )
    return name


def _why(exc: BaseException) -> str:
    """A short account of an error, through exception groups (anyio's task groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _output(result: Any, server: str, name: str) -> Any:
    texts = []
    for part in result.content or ():
        text = getattr(part, "text", None)
        texts.append(text if isinstance(text, str) else f"[{getattr(part, 'type', 'content')}]")
    if result.is_error:
        raise ToolFailed(f"{server}.{name}: " + ("\n".join(texts) or "the tool reported an error"))
    text = "\n".join(texts)
    structured = result.structured_content
    # a tool returning text is wrapped as {"result": text} by the SDK: the text is the output
    if isinstance(structured, dict) and list(structured) != ["result"]:
        return structured
    return text
