"""`agentkit fake-xai`: serve the offline fake xAI API on loopback until killed."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from agentkit.errors import ConfigError

if TYPE_CHECKING:
    from agentkit.testing import FakeXAI


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``fake-xai`` subcommand."""
    parser = subparsers.add_parser(
        "fake-xai",
        help="serve a scripted fake of the xAI API over HTTP",
        description=(
            "Serve the offline fake xAI API (/v1/responses, /v1/chat/completions, /v1/models, "
            "/v1/images, /v1/videos, /v1/files, /v1/documents/search, /v1/embeddings; the "
            "collections management API under /management/v1). Prints its base URL on one line "
            "once it is listening. A video prompt containing [fail] or [expire] ends its job "
            "that way; a document whose file name contains [fail] fails its indexing."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free port)")
    parser.add_argument("--script", metavar="FILE", help="YAML or JSON script of turns")
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="SECONDS", help="delay before every answer"
    )
    parser.add_argument(
        "--video-polls",
        type=int,
        default=3,
        metavar="N",
        help="polls a video job answers pending before it is done (default 3)",
    )
    parser.add_argument(
        "--index-polls",
        type=int,
        default=2,
        metavar="N",
        help="status reads a collection document answers processing before it is done (default 2)",
    )
    parser.add_argument(
        "--management-key",
        default="test-management-key",
        metavar="KEY",
        help="the Bearer key the /management/v1 routes accept (default test-management-key)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from agentkit.testing import FakeXAI, Script
    from agentkit.testing.fake_files import FilesBehaviour
    from agentkit.testing.fake_media import MediaBehaviour

    if args.latency < 0:
        raise ConfigError(f"--latency must not be negative, got {args.latency}")
    if args.video_polls < 0:
        raise ConfigError(f"--video-polls must not be negative, got {args.video_polls}")
    if args.index_polls < 0:
        raise ConfigError(f"--index-polls must not be negative, got {args.index_polls}")
    script = Script.load(args.script) if args.script else None
    media = MediaBehaviour(video_polls=args.video_polls)
    files = FilesBehaviour(index_polls=args.index_polls, management_key=args.management_key)
    fake = FakeXAI(script, latency=args.latency, media=media, files=files)
    asyncio.run(_serve(fake, args.host, args.port))
    return 0


async def _serve(fake: FakeXAI, host: str, port: int) -> None:
    from agentkit.testing import FakeServer

    server = FakeServer(fake, host, port)
    await server.start()
    print(server.base_url, flush=True)
    try:
        await server.serve_forever()
    finally:
        await server.close()
