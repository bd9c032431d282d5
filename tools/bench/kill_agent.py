"""The worker-kill benchmark's agent: a read, then a slow write, then the answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentkit import Agent, tool
from agentkit.testing import Script, Turn


class Slow(Agent):
    """Reads for 0.4 s, writes for 0.6 s, answers."""

    instructions = "Wait, note, answer."
    policy = str(Path(__file__).with_name("kill_policy.yaml"))
    offline_script = Script(
        [
            Turn.call("wait", {"seconds": 0.4}),
            Turn.call("note", {"text": "seen"}),
            Turn.text("done"),
        ]
    )

    @tool
    async def wait(self, seconds: float) -> str:
        """Wait a while.

        Args:
            seconds: how long.
        """
        await asyncio.sleep(seconds)
        return "waited"

    @tool(side_effect="write")
    async def note(self, text: str) -> str:
        """Write a note (slowly).

        Args:
            text: the note.
        """
        await asyncio.sleep(0.6)
        return "noted"
