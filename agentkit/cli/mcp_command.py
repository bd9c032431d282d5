"""`agentkit mcp serve MODULE:Class`: an agent's tools for other MCP clients, guarded.

Every call goes through the agent's policy, approvals and audit (`agentkit.mcp_server`).
No model is involved: the client proposes each call itself.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from contextlib import ExitStack

from agentkit.approval_store import DEFAULT_STORE_PATH
from agentkit.cli.serve_command import DEFAULT_TOKENS
from agentkit.errors import ConfigError
from agentkit.model.types import ModelRequest, ModelResponse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("mcp", help="agentkit and the Model Context Protocol")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve an agent's tools over MCP, every call under its policy, approvals and "
        "audit (extra [mcp])",
    )
    serve.add_argument("target", metavar="MODULE:Class", help="the Agent subclass to serve")
    serve.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default="stdio",
        help="stdio (the client starts this process; default) or streamable HTTP at /mcp",
    )
    serve.add_argument("--host", default="127.0.0.1", help="http: address to bind (loopback)")
    serve.add_argument("--port", type=int, default=8765, help="http: port (default 8765)")
    serve.add_argument(
        "--tokens",
        default=DEFAULT_TOKENS,
        help="http: the API tokens that name each caller (`agentkit tokens create`)",
    )
    serve.add_argument("--user", default=None, help="stdio: whom the calls are for ($USER)")
    serve.add_argument(
        "--role", action="append", default=[], help="stdio: a role of the user (repeatable)"
    )
    serve.add_argument("--workspace", default=None, help="stdio: the user's workspace")
    serve.add_argument(
        "--store",
        default=DEFAULT_STORE_PATH,
        metavar="PATH|URL",
        help="approvals store where waiting calls are decided (SQLite file or postgresql://)",
    )
    serve.add_argument(
        "--audit",
        default=None,
        help="audit log (JSONL path or database URL; default: the default log)",
    )
    serve.add_argument(
        "--history-window",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how long a caller's calls stay in view of the policy's data-flow rules, "
        "sinks and per-run limits when it decides their next (default 3600)",
    )
    serve.add_argument(
        "--history-calls",
        type=int,
        default=1000,
        metavar="N",
        help="the most calls of one caller in view; past it, calls wait for the window "
        "(default 1000)",
    )
    serve.set_defaults(handler=_serve)


class NoModel:
    """The model client of an agent whose calls come from MCP clients: never asked."""

    async def respond(self, request: ModelRequest) -> ModelResponse:
        raise ConfigError("agentkit mcp serve runs the calls its clients make; no model is asked")

    async def aclose(self) -> None:
        return None


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    try:
        import mcp  # noqa: F401
    except ImportError:
        raise ConfigError(
            "agentkit mcp serve needs the [mcp] extra: pip install 'agentkit[mcp]'"
        ) from None
    from agentkit.approval_store import ApprovalStore
    from agentkit.cli.launch import load_agent_class, open_audit
    from agentkit.decision import Principal

    if args.history_window < 0 or args.history_calls < 1:
        raise ConfigError("--history-window must be >= 0 and --history-calls >= 1")
    from agentkit.mcp_server import CallHistory, GuardedTools, http_app, serve_stdio

    store = ApprovalStore(args.store if "://" in args.store else os.path.abspath(args.store))
    principal = Principal(
        user_id=args.user or getpass.getuser(),
        roles=tuple(args.role),
        workspace=args.workspace,
    )
    with ExitStack() as stack:
        audit = open_audit(args.audit, stack)
        cls = load_agent_class(args.target)
        agent = cls(client=NoModel(), principal=principal, approvals=store, audit=audit)
        history = CallHistory(window=args.history_window, limit=args.history_calls)
        tools = GuardedTools(agent, store, history=history)
        if args.transport == "stdio":
            asyncio.run(serve_stdio(tools, principal))
            return 0
        import uvicorn

        from agentkit.serve.tokens import TokenAuthenticator, TokenStore

        authenticator = TokenAuthenticator(TokenStore(os.path.abspath(args.tokens)))
        app = http_app(tools, authenticator, host=args.host)
        print(f"agentkit mcp: serving {args.target} at http://{args.host}:{args.port}/mcp",
              file=sys.stderr)  # fmt: skip
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
