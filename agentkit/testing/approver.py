"""An approver for tests: answers from a fixed rule and keeps every request it saw."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from agentkit.state import PendingApproval

Answer = bool | Mapping[str, bool] | Callable[[PendingApproval], bool | Awaitable[bool]]


class RecordingApprover:
    """An `Approver` that decides by ``answer`` and records each request, in order.

    ``answer`` is one verdict for every request, a mapping of tool name to verdict
    (a tool missing from it is denied), or a function of the request (sync or async).

    Example:
        >>> import asyncio
        >>> from agentkit.pipeline.confirm import pending_approval
        >>> approver = RecordingApprover({"close_ticket": True})
        >>> request = pending_approval(
        ...     "run1", "call1", "close_ticket", {"ticket_id": 7}, reason="", rule="", now=0.0
        ... )
        >>> asyncio.run(approver(request))
        True
        >>> approver.tools
        ['close_ticket']
    """

    def __init__(self, answer: Answer = True, *, name: str = "recording") -> None:
        self.name = name
        self.answer = answer
        self.requests: list[PendingApproval] = []

    async def __call__(self, request: PendingApproval) -> bool:
        self.requests.append(request)
        answer = self.answer
        if isinstance(answer, bool):
            return answer
        if isinstance(answer, Mapping):
            return bool(answer.get(request.tool, False))
        verdict = answer(request)
        if isinstance(verdict, Awaitable):
            verdict = await verdict
        return bool(verdict)

    @property
    def tools(self) -> list[str]:
        """The tool of each request, in order."""
        return [request.tool for request in self.requests]
