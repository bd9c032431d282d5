"""Images in, images and videos out, under the same policy and audit as every tool.

- `image_tool` and `video_tool`: the built-in media tools (side-effect class ``media``);
- `MediaClient`: xAI's image and video endpoints;
- `LocalMediaStorage` / `MediaStorage`: where generated files go, with provenance;
- `Moderator` / `Verdict`: the seam that sees every media prompt, input and output;
- `VideoJobs` / `VideoJobStore`: video jobs that survive a restart;
- `ImageInput`: an image given to a run beside its prompt (`Agent.run(..., images=...)`),
  checked before anything is sent.
"""

# Lazy, like the package's own exports: a run that takes images imports only image_input.
from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from agentkit.media.image_input import ImageInput
    from agentkit.media.moderation import ModerationItem, Moderator, Verdict, moderate
    from agentkit.media.storage import (
        AI_LABEL,
        LocalMediaStorage,
        MediaProvenance,
        MediaStorage,
        StoredMedia,
    )
    from agentkit.media.tools import image_tool, video_tool
    from agentkit.media.video_jobs import PollPlan, VideoJob, VideoJobs, VideoJobStore
    from agentkit.media.xai_media import (
        ImageBatch,
        MediaClient,
        MediaFile,
        VideoStatus,
        sniff_media_type,
    )

_EXPORTS = {
    "ImageInput": "agentkit.media.image_input",
    "ModerationItem": "agentkit.media.moderation",
    "Moderator": "agentkit.media.moderation",
    "Verdict": "agentkit.media.moderation",
    "moderate": "agentkit.media.moderation",
    "AI_LABEL": "agentkit.media.storage",
    "LocalMediaStorage": "agentkit.media.storage",
    "MediaProvenance": "agentkit.media.storage",
    "MediaStorage": "agentkit.media.storage",
    "StoredMedia": "agentkit.media.storage",
    "image_tool": "agentkit.media.tools",
    "video_tool": "agentkit.media.tools",
    "PollPlan": "agentkit.media.video_jobs",
    "VideoJob": "agentkit.media.video_jobs",
    "VideoJobs": "agentkit.media.video_jobs",
    "VideoJobStore": "agentkit.media.video_jobs",
    "ImageBatch": "agentkit.media.xai_media",
    "MediaClient": "agentkit.media.xai_media",
    "MediaFile": "agentkit.media.xai_media",
    "VideoStatus": "agentkit.media.xai_media",
    "sniff_media_type": "agentkit.media.xai_media",
}

__all__ = [
    "AI_LABEL",
    "ImageBatch",
    "ImageInput",
    "LocalMediaStorage",
    "MediaClient",
    "MediaFile",
    "MediaProvenance",
    "MediaStorage",
    "ModerationItem",
    "Moderator",
    "PollPlan",
    "StoredMedia",
    "Verdict",
    "VideoJob",
    "VideoJobStore",
    "VideoJobs",
    "VideoStatus",
    "image_tool",
    "moderate",
    "sniff_media_type",
    "video_tool",
]

__getattr__, __dir__ = lazy_exports("agentkit.media", _EXPORTS, globals())
