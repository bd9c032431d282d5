"""The built-in `run_python` tool: model-written Python, run in the Docker sandbox.

```python
from agentkit.tools.python import python_tool

class Analyst(Agent):
    tools = [python_tool(timeout=5, memory_mb=128)]
```

Creating the tool touches neither Docker nor the ``docker`` package: the sandbox and
its warm pool start on the first call. The tool is ``side_effect="read"``: the code
has no network, no host files and no state that outlives the call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agentkit.sandbox.config import SandboxConfig, make_config
from agentkit.sandbox.execution import Sandbox
from agentkit.tool import Tool

DESCRIPTION = (
    "Run a Python 3.11 program (standard library only) in an isolated sandbox and get "
    "its stdout, stderr and exit code. No network, no persistent files: every call starts "
    "from an empty working directory. Print what you need to see."
)
# time for the first call to start the sandbox, on top of the program's own deadline
_STARTUP_SLACK = 20.0


class _LazySandbox:
    """Creates the sandbox on first use, on the event loop that uses it."""

    def __init__(self, sandbox: Sandbox | None, config: SandboxConfig, pool_size: int) -> None:
        self._given = sandbox
        self._config = config
        self._pool_size = pool_size
        self._own: Sandbox | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def get(self) -> Sandbox:
        if self._given is not None:
            return self._given
        loop = asyncio.get_running_loop()
        if self._own is None or self._loop is not loop:
            from agentkit.sandbox.docker_sandbox import DockerSandbox

            # A sandbox from an earlier event loop cannot be awaited here; its
            # containers are reaped as orphans by a later start at the latest.
            self._own = DockerSandbox(config=self._config, pool_size=self._pool_size)
            self._loop = loop
        return self._own

    async def aclose(self) -> None:
        if self._own is not None and self._loop is asyncio.get_running_loop():
            await self._own.aclose()
        self._own = None

    async def run_python(self, code: str) -> dict[str, Any]:
        """Run a Python program in the sandbox.

        Args:
            code: The whole program, run as a script; print the results you need.
        """
        sandbox = await self.get()
        result = await sandbox.execute(code)
        return result.summary()


def python_tool(sandbox: Sandbox | None = None, *, pool_size: int = 1, **limits: Any) -> Tool:
    """The `run_python` tool over ``sandbox``, or over a Docker sandbox made on first use.

    Args:
        sandbox: A sandbox to use (and not close); default a `DockerSandbox` with ``limits``.
        pool_size: Warm containers kept ready by the default sandbox.
        **limits: `SandboxConfig` fields, e.g. ``timeout=5, memory_mb=128``.

    Raises:
        ConfigError: a limit is out of range or weakens the sandbox without an override.
    """
    config = make_config(**limits)
    holder = _LazySandbox(sandbox, config, pool_size)
    return Tool(
        holder.run_python,
        name="run_python",
        description=DESCRIPTION,
        side_effect="read",
        timeout=config.timeout + _STARTUP_SLACK,
        facts=_facts(config, sandbox),
    )


def _facts(config: SandboxConfig, sandbox: Sandbox | None) -> dict[str, Any]:
    """What the audit log records about this sandbox at the start of each run."""
    if sandbox is not None:
        return {"sandbox": type(sandbox).__name__}
    return {
        "sandbox": "DockerSandbox",
        "image": config.image,
        "weakened": config.weakened(),
        "runtime": config.runtime,
    }


async def close_python_tool(tool: Tool) -> None:
    """Remove the containers of a `python_tool` that made its own sandbox."""
    holder = getattr(tool.fn, "__self__", None)
    if isinstance(holder, _LazySandbox):
        await holder.aclose()
