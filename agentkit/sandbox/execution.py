"""What a sandbox is (the `Sandbox` protocol) and what one execution returns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentkit.errors import SandboxOOM, SandboxTimeout


@dataclass(frozen=True, slots=True)
class Execution:
    """The outcome of running one program; a timeout or OOM is an outcome, not an exception.

    ``exit_code`` is None when the host killed the program (timeout, output overflow);
    a program killed by a signal reports 128 + the signal (137 for an OOM kill).
    """

    stdout: str
    stderr: str
    exit_code: int | None
    timed_out: bool = False
    oom_killed: bool = False
    truncated: bool = False
    files: Mapping[str, bytes] = field(default_factory=dict)
    file_errors: Mapping[str, str] = field(default_factory=dict)
    duration: float = 0.0
    error: str | None = None
    """Set when the runner itself was lost (for example the program killed it)."""

    @property
    def ok(self) -> bool:
        """True when the program finished by itself with exit code 0."""
        return self.exit_code == 0 and not (self.timed_out or self.oom_killed or self.error)

    def raise_for_status(self) -> Execution:
        """Raise SandboxTimeout or SandboxOOM (with ``.execution``) if it ended that way."""
        if self.timed_out:
            exc: SandboxTimeout | SandboxOOM = SandboxTimeout(
                f"the program was killed at its {self.duration:.1f}s wall-clock deadline"
            )
        elif self.oom_killed:
            exc = SandboxOOM("the program was killed for exceeding its memory limit")
        else:
            return self
        exc.execution = self
        raise exc

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view, as the `run_python` tool returns it."""
        return {
            "stdout": self.stdout,
            "stderr": self.stderr,
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "oom_killed": self.oom_killed,
            "truncated": self.truncated,
            **({"error": self.error} if self.error else {}),
        }


@runtime_checkable
class Sandbox(Protocol):
    """Somewhere to run untrusted Python once per call, with no state carried over."""

    async def execute(
        self,
        code: str,
        *,
        files: Mapping[str, bytes | str] | None = None,
        fetch: Iterable[str] = (),
        timeout: float | None = None,  # noqa: ASYNC109 (the deadline is enforced on the host)
    ) -> Execution:
        """Run ``code`` with ``files`` in its work directory; return output and ``fetch`` files."""
        ...

    async def aclose(self) -> None:
        """Release everything the sandbox started."""
        ...
