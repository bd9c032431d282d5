"""The moderation seam: a callable the deployer plugs in, shown every media prompt and
every input image before a request leaves, and every generated output before it is
returned.

A moderator returns a `Verdict` (or an awaitable of one). A refusal stops the step with
`ModerationRefused` before anything is sent (for a prompt or an input image) or before
anything is stored or returned (for an output). Without a moderator, media tools are
refused: the policy's media class asks for one (see the multimodal guide).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from agentkit.decision import Principal
from agentkit.errors import ModerationRefused

Stage = Literal["prompt", "input_image", "output"]


@dataclass(frozen=True)
class ModerationItem:
    """What the moderator is shown: a prompt's text, or an image's or a video's bytes."""

    stage: Stage
    tool: str
    principal: Principal
    text: str | None = None
    data: bytes | None = None
    media_type: str | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""

    @classmethod
    def allow(cls) -> Verdict:
        return cls(True)

    @classmethod
    def refuse(cls, reason: str) -> Verdict:
        return cls(False, reason)


Moderator = Callable[[ModerationItem], "Verdict | Awaitable[Verdict]"]


async def moderate(moderator: Moderator, item: ModerationItem) -> None:
    """Ask `moderator` about `item`; raises ModerationRefused when it refuses (or answers
    anything but a Verdict: a moderator that cannot decide does not let media through)."""
    answer = moderator(item)
    verdict = await answer if inspect.isawaitable(answer) else answer
    if not isinstance(verdict, Verdict):
        raise ModerationRefused(
            item.stage, f"the moderator answered {type(verdict).__name__}, not a Verdict"
        )
    if not verdict.allowed:
        raise ModerationRefused(item.stage, verdict.reason or "no reason given")


def allow_everything(item: ModerationItem) -> Verdict:
    """A moderator that lets everything through: for trusted offline use and tests only. A
    deployment plugs in its own (a classifier, a provider's moderation API, a blocklist);
    naming this one is a decision on the record, in code review."""
    return Verdict.allow()
