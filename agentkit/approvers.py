"""Approvers that decide a pending call inline: an application callback, or the terminal."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TextIO

from agentkit.canonical import canonical_json
from agentkit.state import PendingApproval
from agentkit.terminal import printable


class CallbackApprover:
    """Wraps an application callback (sync or async) returning True to approve."""

    def __init__(
        self,
        callback: Callable[[PendingApproval], bool | Awaitable[bool]],
        *,
        name: str = "callback",
        roles: Sequence[str] = (),
    ) -> None:
        """`name` and `roles` are who decides, for the policy's ``approvers`` rules."""
        self._callback = callback
        self.name = name
        self.roles = tuple(roles)

    async def __call__(self, request: PendingApproval) -> bool:
        answer = self._callback(request)
        if isinstance(answer, Awaitable):
            answer = await answer
        return bool(answer)


class TerminalApprover:
    """Asks on the terminal: shows the tool, the arguments and the reason; default No."""

    def __init__(
        self,
        *,
        stream_in: TextIO | None = None,
        stream_out: TextIO | None = None,
        name: str = "terminal",
        roles: Sequence[str] = (),
    ) -> None:
        """`name` and `roles` are who decides, for the policy's ``approvers`` rules."""
        self._in = stream_in or sys.stdin
        self._out = stream_out or sys.stderr
        self.name = name
        self.roles = tuple(roles)

    async def __call__(self, request: PendingApproval) -> bool:
        return await asyncio.to_thread(self._ask, request)

    def _ask(self, request: PendingApproval) -> bool:
        call = printable(f"{request.tool}({canonical_json(request.arguments)})")
        why = printable(f"{request.reason} [{request.rule}]")
        self._out.write(f"\nApproval needed: {call}\n  why: {why}\n  approve? [y/N] ")
        self._out.flush()
        answer = self._in.readline().strip().lower()
        return answer in ("y", "yes")
