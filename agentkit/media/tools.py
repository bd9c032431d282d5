"""The built-in media tools: `generate_image` and `generate_video`, in the side-effect class
``media`` (the policy governs them like any tool: roles, ``per_run`` and ``per_minute``
counts, argument bounds such as ``n: {maximum: 2}``).

```python
from agentkit.media import image_tool, video_tool

class Studio(Agent):
    tools = [image_tool(moderator=my_moderator), video_tool(moderator=my_moderator)]
```

Each tool shows the moderator the prompt before any request leaves and every output
before it is stored; without a moderator it refuses, saying why. What it made is stored
(`agentkit.media.storage`, content-addressed, with a provenance record) and named in its
output; the provenance goes into the call's audit record (``metadata.media``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from agentkit.call_context import current_call, report_progress
from agentkit.decision import Principal
from agentkit.errors import MediaError
from agentkit.media.moderation import ModerationItem, Moderator, moderate
from agentkit.media.storage import (
    AI_LABEL,
    LocalMediaStorage,
    MediaProvenance,
    MediaStorage,
    StoredMedia,
    prompt_digest,
)
from agentkit.media.video_jobs import PollPlan, VideoJobs, VideoJobStore
from agentkit.media.xai_media import IMAGE_MODEL, VIDEO_MODEL, MediaClient, VideoStatus
from agentkit.tool import Tool, ToolOutput

ClientFactory = Callable[[], MediaClient]
AspectRatio = Literal["1:1", "3:4", "4:3", "9:16", "16:9", "2:3", "3:2", "auto"]
NO_MODERATOR = (
    "{tool} is refused: media tools need a moderator, and none is configured "
    "({factory}(moderator=...) sees every prompt and every output; the deployment decides "
    "what passes)"
)


class _Lazy:
    """A client made on first use (so building an agent needs no key)."""

    def __init__(self, client: MediaClient | ClientFactory | None) -> None:
        self._client = client if isinstance(client, MediaClient) else None
        self._factory = client if callable(client) else MediaClient

    def get(self) -> MediaClient:
        if self._client is None:
            self._client = self._factory()
        return self._client


def image_tool(
    *,
    moderator: Moderator | None,
    client: MediaClient | ClientFactory | None = None,
    storage: MediaStorage | None = None,
    model: str = IMAGE_MODEL,
    max_images: int = 4,
) -> Tool:
    """The `generate_image` tool.

    Args:
        moderator: sees every prompt and every image made; ``None`` refuses every call.
        client: the `MediaClient` (or a function making one); default one from
            ``XAI_API_KEY``, made on first use.
        storage: where images go; default `LocalMediaStorage` (``.agentkit/media``).
        model: the image model.
        max_images: the most images one call may ask for (the policy may bound it lower).
    """
    lazy, kept = _Lazy(client), storage or LocalMediaStorage()

    async def generate_image(
        prompt: str,
        n: int = 1,
        aspect_ratio: AspectRatio = "auto",
        resolution: Literal["1k", "2k"] = "1k",
    ) -> ToolOutput:
        """Generate images from a description and store them.

        Args:
            prompt: What the image shows, in words.
            n: How many images.
            aspect_ratio: Width to height.
            resolution: 1k or 2k.
        """
        if moderator is None:
            raise MediaError(NO_MODERATOR.format(tool="generate_image", factory="image_tool"))
        if not 1 <= n <= max_images:
            raise MediaError(f"n must be 1 to {max_images}")
        principal, run_id = _caller()
        await moderate(moderator, ModerationItem("prompt", "generate_image", principal, prompt))
        batch = await lazy.get().generate_images(
            prompt, n=n, model=model, aspect_ratio=aspect_ratio, resolution=resolution,
            user=principal.user_id,
        )  # fmt: skip
        for image in batch.images:  # every output is judged before any is kept
            item = ModerationItem("output", "generate_image", principal, data=image.data,
                                  media_type=image.media_type)  # fmt: skip
            await moderate(moderator, item)
        made = _provenance("image", batch.model, prompt, batch.request_id, principal, run_id)
        stored = [kept.put(image.data, image.media_type, made) for image in batch.images]
        return _output("images", stored, batch.cost_usd)

    return Tool(generate_image, name="generate_image", side_effect="media", timeout=300.0,
                facts={"media": "image", "model": model,
                       "moderated": moderator is not None})  # fmt: skip


def video_tool(
    *,
    moderator: Moderator | None,
    client: MediaClient | ClientFactory | None = None,
    storage: MediaStorage | None = None,
    jobs: VideoJobStore | None = None,
    model: str = VIDEO_MODEL,
    plan: PollPlan | None = None,
) -> Tool:
    """The `generate_video` tool: a job started once per call (its idempotency key keys
    it in `jobs`), followed to its end with progress events, fetched, checked and stored.

    Args:
        moderator: sees every prompt and every video made; ``None`` refuses every call.
        client: as for `image_tool`.
        storage: where videos go; default `LocalMediaStorage`.
        jobs: where jobs are kept across restarts; default ``.agentkit/media-jobs.db``.
        model: the video model.
        plan: how often to poll, and for how long (default every 1 s growing to 10 s, up
            to 10 minutes).
    """
    lazy, kept = _Lazy(client), storage or LocalMediaStorage()
    store_holder: list[VideoJobStore] = [jobs] if jobs is not None else []
    timeout = (plan or PollPlan()).timeout + 120.0

    async def generate_video(
        prompt: str,
        duration: int = 6,
        aspect_ratio: Literal["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"] = "16:9",
        resolution: Literal["480p", "720p"] = "480p",
    ) -> ToolOutput:
        """Generate a short video from a description and store it.

        Args:
            prompt: What happens in the video, in words.
            duration: Seconds, 1 to 15.
            aspect_ratio: Width to height.
            resolution: 480p or 720p.
        """
        if moderator is None:
            raise MediaError(NO_MODERATOR.format(tool="generate_video", factory="video_tool"))
        if not 1 <= duration <= 15:
            raise MediaError("duration must be 1 to 15 seconds")
        principal, run_id = _caller()
        call = current_call()
        key = call.idempotency_key if call is not None else f"once:{prompt_digest(prompt)}"
        if not store_holder:
            store_holder.append(VideoJobStore())
        runner = VideoJobs(lazy.get(), kept, store_holder[0], moderator, plan=plan)
        seen: list[VideoStatus] = []

        def progress(status: VideoStatus) -> None:
            seen.append(status)
            report_progress(status.status, request_id=status.request_id, progress=status.progress)

        stored = await runner.run(
            key, "generate", prompt, principal=principal, run_id=run_id, model=model,
            on_progress=progress, duration=duration, aspect_ratio=aspect_ratio,
            resolution=resolution, user=principal.user_id,
        )  # fmt: skip
        return _output("videos", [stored], seen[-1].cost_usd if seen else 0.0)

    return Tool(generate_video, name="generate_video", side_effect="media", timeout=timeout,
                facts={"media": "video", "model": model,
                       "moderated": moderator is not None})  # fmt: skip


def _caller() -> tuple[Principal, str | None]:
    call = current_call()
    if call is None:
        return Principal(), None
    return call.principal, call.run_id


def _provenance(
    kind: Literal["image", "video"],
    model: str,
    prompt: str,
    request_id: str,
    principal: Principal,
    run_id: str | None,
) -> MediaProvenance:
    return MediaProvenance(
        kind=kind,
        model=model,
        prompt_sha256=prompt_digest(prompt),
        request_id=request_id,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        user_id=principal.user_id,
        workspace=principal.workspace,
        run_id=run_id,
    )


def _output(kind: str, stored: list[StoredMedia], cost_usd: float) -> ToolOutput:
    shown: list[dict[str, Any]] = [
        {"sha256": s.sha256, "media_type": s.media_type, "size": s.size, "location": s.location}
        for s in stored
    ]
    content = {kind: shown, "label": AI_LABEL}
    metadata = {"media": [s.to_dict() for s in stored], "cost_usd": cost_usd}
    return ToolOutput(content, metadata=metadata)
