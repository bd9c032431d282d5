"""A sandbox for tests: runs nothing, records what it was asked, answers scripted executions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from agentkit.sandbox.execution import Execution


@dataclass(frozen=True, slots=True)
class SandboxCall:
    """One ``execute`` call, as the sandbox received it."""

    code: str
    files: Mapping[str, bytes | str] = field(default_factory=dict)
    fetch: tuple[str, ...] = ()
    timeout: float | None = None


class RecordingSandbox:
    r"""A `Sandbox` answering the n-th ``execute`` with the n-th of ``executions``.

    The last execution answers every later call; with none, each call exits 0 with no
    output. Nothing is run: the double only records the code, files, fetch names and
    timeout of each call, and whether it was closed.

    Example:
        >>> import asyncio
        >>> from agentkit.tools.python import python_tool
        >>> sandbox = RecordingSandbox(Execution("2\n", "", 0))
        >>> tool = python_tool(sandbox)
        >>> asyncio.run(tool.invoke(tool.validate({"code": "print(1 + 1)"})))["stdout"]
        '2\n'
        >>> sandbox.codes
        ['print(1 + 1)']
    """

    def __init__(self, *executions: Execution) -> None:
        self.executions = executions or (Execution("", "", 0),)
        self.calls: list[SandboxCall] = []
        self.closed = False

    async def execute(
        self,
        code: str,
        *,
        files: Mapping[str, bytes | str] | None = None,
        fetch: Iterable[str] = (),
        timeout: float | None = None,  # noqa: ASYNC109 (recorded, not enforced)
    ) -> Execution:
        """Record the call and return its scripted execution."""
        self.calls.append(SandboxCall(code, dict(files or {}), tuple(fetch), timeout))
        return self.executions[min(len(self.calls), len(self.executions)) - 1]

    async def aclose(self) -> None:
        """Mark the sandbox closed."""
        self.closed = True

    @property
    def codes(self) -> list[str]:
        """The code of each call, in order."""
        return [call.code for call in self.calls]
