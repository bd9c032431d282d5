"""`agentkit media image|video|resume`: generate media from the terminal, moderated and
stored with provenance like the tools do."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from agentkit.errors import ConfigError

if TYPE_CHECKING:
    from agentkit.media import MediaClient, Moderator

DEFAULT_OUT = os.path.join(".agentkit", "media")
DEFAULT_JOBS = os.path.join(".agentkit", "media-jobs.db")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    media = subparsers.add_parser("media", help="generate images and videos (moderated, stored)")
    actions = media.add_subparsers(dest="action", required=True, metavar="ACTION")
    image = actions.add_parser("image", help="generate images from a prompt")
    image.add_argument("prompt")
    image.add_argument("-n", type=int, default=1, help="how many images (1-10)")
    image.add_argument("--aspect-ratio", default=None)
    image.add_argument("--resolution", default=None, choices=["1k", "1.5k", "2k"])
    _common(image)
    image.set_defaults(handler=_image)
    video = actions.add_parser("video", help="generate a video from a prompt (a job, polled)")
    video.add_argument("prompt")
    video.add_argument("--duration", type=int, default=6, help="seconds, 1-15")
    video.add_argument("--aspect-ratio", default=None)
    video.add_argument("--resolution", default=None, choices=["480p", "720p", "1080p"])
    video.add_argument("--jobs", default=DEFAULT_JOBS, help="where jobs are kept (SQLite)")
    _common(video)
    video.set_defaults(handler=_video)
    resume = actions.add_parser("resume", help="carry on every video job still pending")
    resume.add_argument("--jobs", default=DEFAULT_JOBS, help="where jobs are kept (SQLite)")
    _common(resume)
    resume.set_defaults(handler=_resume)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=DEFAULT_OUT, help="storage folder")
    parser.add_argument(
        "--moderator",
        required=True,
        metavar="MODULE:NAME",
        help="the callable that sees every prompt and output "
        "(agentkit.media.moderation:allow_everything lets all through: trusted use only)",
    )
    parser.add_argument("--user", default=os.environ.get("USER", "cli"), help="who asks")
    parser.add_argument("--offline", action="store_true", help="use the fake xAI server")
    parser.add_argument("--base-url", default=None, help="the xAI API's base URL")


def _load_moderator(target: str) -> Moderator:
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise ConfigError(f"--moderator: expected MODULE:NAME, got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"--moderator {target!r} cannot be loaded: {exc}") from exc
    if not callable(found):
        raise ConfigError(f"--moderator {target!r} is not callable")
    moderator: Moderator = found
    return moderator


@contextmanager
def _client(args: argparse.Namespace) -> Iterator[MediaClient]:
    from agentkit.media import MediaClient

    offline = args.offline or (not os.environ.get("XAI_API_KEY") and args.base_url is None)
    if not offline:
        yield MediaClient(**({"base_url": args.base_url} if args.base_url else {}))
        return
    from agentkit.testing import FakeXAI, serve_in_thread

    print("offline: answering from the fake xAI server", file=sys.stderr)
    with serve_in_thread(FakeXAI()) as server:
        yield MediaClient(api_key="offline", base_url=server.base_url)


def _principal(args: argparse.Namespace) -> Any:
    from agentkit.decision import Principal

    return Principal(user_id=args.user)


def _image(args: argparse.Namespace) -> int:
    from agentkit.media import LocalMediaStorage
    from agentkit.media.moderation import ModerationItem, moderate
    from agentkit.media.storage import MediaProvenance, prompt_digest
    from agentkit.progress import progress

    moderator, who = _load_moderator(args.moderator), _principal(args)
    storage = LocalMediaStorage(args.out)

    async def go(client: MediaClient) -> list[dict[str, Any]]:
        import datetime as dt

        async with client:
            await moderate(moderator, ModerationItem("prompt", "media image", who, args.prompt))
            with progress("generating images") as report:
                report.stage("request")
                batch = await client.generate_images(
                    args.prompt, n=args.n, aspect_ratio=args.aspect_ratio,
                    resolution=args.resolution, user=who.user_id,
                )  # fmt: skip
                report.stage("moderating and storing")
                kept = []
                for image in batch.images:
                    item = ModerationItem("output", "media image", who, data=image.data,
                                          media_type=image.media_type)  # fmt: skip
                    await moderate(moderator, item)
                    made = MediaProvenance(
                        "image", batch.model, prompt_digest(args.prompt), batch.request_id,
                        dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), who.user_id,
                    )  # fmt: skip
                    kept.append(storage.put(image.data, image.media_type, made).to_dict())
            return kept

    with _client(args) as client:
        stored = asyncio.run(go(client))
    print(json.dumps(stored, indent=2))
    return 0


def _video(args: argparse.Namespace) -> int:
    from agentkit.media import LocalMediaStorage, VideoJobs, VideoJobStore
    from agentkit.media.storage import prompt_digest
    from agentkit.progress import progress

    moderator, who = _load_moderator(args.moderator), _principal(args)

    async def go(client: MediaClient) -> dict[str, Any]:
        async with client:
            jobs = VideoJobs(client, LocalMediaStorage(args.out), VideoJobStore(args.jobs),
                             moderator)  # fmt: skip
            with progress("generating a video", total=100) as report:
                stored = await jobs.run(
                    f"cli:{who.user_id}:{prompt_digest(args.prompt)}:{args.duration}",
                    "generate", args.prompt, principal=who, duration=args.duration,
                    aspect_ratio=args.aspect_ratio, resolution=args.resolution,
                    on_progress=lambda s: report.detail(f"{s.status} {s.progress}%"),
                )  # fmt: skip
            return stored.to_dict()

    with _client(args) as client:
        print(json.dumps(asyncio.run(go(client)), indent=2))
    return 0


def _resume(args: argparse.Namespace) -> int:
    from agentkit.media import LocalMediaStorage, VideoJobs, VideoJobStore
    from agentkit.progress import progress

    moderator = _load_moderator(args.moderator)

    async def go(client: MediaClient) -> list[dict[str, Any]]:
        async with client:
            jobs = VideoJobs(client, LocalMediaStorage(args.out), VideoJobStore(args.jobs),
                             moderator)  # fmt: skip
            with progress("resuming video jobs") as report:
                kept = await jobs.resume(lambda s: report.detail(f"{s.request_id} {s.status}"))
            return [s.to_dict() for s in kept]

    with _client(args) as client:
        print(json.dumps(asyncio.run(go(client)), indent=2))
    return 0
