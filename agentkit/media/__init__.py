"""Images in, images and videos out, under the same policy and audit as every tool.

- `image_tool` and `video_tool`: the built-in media tools (side-effect class ``media``);
- `MediaClient`: xAI's image and video endpoints;
- `LocalMediaStorage` / `MediaStorage`: where generated files go, with provenance;
- `Moderator` / `Verdict`: the seam that sees every media prompt, input and output;
- `VideoJobs` / `VideoJobStore`: video jobs that survive a restart;
- `ImageInput`: an image given to a run beside its prompt (`Agent.run(..., images=...)`),
  checked before anything is sent.
"""

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
