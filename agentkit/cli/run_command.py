"""`agentkit run MODULE:Class PROMPT`: run an agent once and print its transcript."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from agentkit.errors import ConfigError

OFFLINE_KEY = "offline"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run", help="run an agent on one prompt and print the transcript"
    )
    parser.add_argument("target", metavar="MODULE:Class", help="the Agent subclass to run")
    parser.add_argument("prompt")
    parser.add_argument("--model", help="model name (default: the agent's)")
    parser.add_argument("--base-url", help="API base URL (default: https://api.x.ai/v1)")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="answer from the fake xAI server on loopback (automatic when XAI_API_KEY is unset)",
    )
    parser.add_argument("--script", help="script of the offline model (YAML or JSON)")
    parser.add_argument("--user", default="cli", help="the principal's user id (default: cli)")
    parser.add_argument(
        "--role", action="append", default=[], help="a role of the principal (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print the run state as JSON")
    parser.set_defaults(handler=_handle)


def load_agent_class(target: str) -> type[Any]:
    from agentkit.agent import Agent

    module_name, _, class_name = target.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"expected MODULE:Class, got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: modules of the project at hand
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import {module_name!r}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Agent)):
        raise ConfigError(f"{target!r} is not an Agent subclass")
    return cls


def _handle(args: argparse.Namespace) -> int:
    from agentkit.decision import Principal
    from agentkit.model import XAIClient
    from agentkit.transcript import print_transcript

    cls = load_agent_class(args.target)
    offline = args.offline or (not os.environ.get("XAI_API_KEY") and args.base_url is None)
    with ExitStack() as stack:
        if offline:
            base_url = stack.enter_context(
                _offline_server(args.script or getattr(cls, "offline_script", None))
            )
            client = XAIClient(api_key=OFFLINE_KEY, base_url=base_url)
            mode = f"offline: scripted model at {base_url}"
        else:
            client = XAIClient(base_url=args.base_url) if args.base_url else XAIClient()
            mode = "online"
        principal = Principal(user_id=args.user, roles=tuple(args.role))
        agent = cls(client=client, model=args.model, principal=principal)
        result = asyncio.run(_run(agent, args.prompt))
    if args.json:
        print(json.dumps(json.loads(result.to_json()), indent=2))
    else:
        print_transcript(result, mode=mode)
    return 0 if result.status in ("completed", "awaiting_approval") else 1


async def _run(agent: Any, prompt: str) -> Any:
    from agentkit.tools.python import close_python_tool

    try:
        return await agent.run(prompt)
    finally:
        await agent.client.aclose()
        for tool in agent.tool_list:
            await close_python_tool(tool)


def _offline_server(script: Any) -> Any:
    """The fake xAI server on loopback; `script` is a Script, a file path, or None."""
    from agentkit.testing import FakeXAI, Script, serve_in_thread

    if isinstance(script, str | Path):
        script = Script.load(script)
    print(
        "agentkit: no XAI_API_KEY: running offline against the scripted fake xAI server",
        file=sys.stderr,
    )
    return _base_url(serve_in_thread(FakeXAI(script)))


class _base_url:
    """Adapts serve_in_thread's context manager to yield only the base URL."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __enter__(self) -> str:
        return str(self._inner.__enter__().base_url)

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)
