"""Sandbox: cold and warm ``print(1)`` in agentkit's Docker sandbox, a bare ``docker run``,
and AutoGen's DockerCommandLineCodeExecutor, all on the local image (nothing is pulled).

    python -m tools.bench.sandbox [--cold 20] [--warm 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tools.bench.common import summary

IMAGE = "agentkit-sandbox:latest"
CODE = "print(1)"
SPACING = 0.5
"""Seconds between spaced warm runs, standing in for the model turn between two code runs."""
AUTOGEN_COLD = 5
"""Cold AutoGen runs: each one's teardown waits 10 s for `docker stop`."""


async def timed(action: Callable[[], Awaitable[Any]], count: int) -> list[float]:
    """Milliseconds of `count` sequential calls of `action`."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def docker_run() -> None:
    """A bare ``docker run --rm`` of the image, without agentkit's hardening."""
    command = ["docker", "run", "--rm", "--network", "none", IMAGE, "python3", "-c", CODE]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
    if done.stdout.strip() != "1":
        raise RuntimeError(f"docker run printed {done.stdout!r} {done.stderr[-300:]!r}")


async def agentkit_cold(count: int) -> list[float]:
    """A fresh DockerSandbox each time: connect, check the image, start a container, run.

    Teardown (removing the containers) is not timed, as for AutoGen.
    """
    from agentkit.sandbox.docker_sandbox import DockerSandbox

    samples = []
    for _ in range(count):
        sandbox = DockerSandbox(pool_size=1)
        started = time.perf_counter()
        try:
            result = await sandbox.execute(CODE)
            samples.append((time.perf_counter() - started) * 1000)
        finally:
            await sandbox.aclose()
        if result.stdout != "1\n":
            raise RuntimeError(f"agentkit sandbox printed {result.stdout!r} ({result.error})")
    return samples


async def agentkit_warm(count: int, *, pause: float = 0.0) -> list[float]:
    """Executions on a started sandbox (pool of 2), back to back or `pause` s apart.

    Back to back, the pool cannot start containers as fast as they are used, so some
    calls wait for a start. Spaced out, as code runs are in an agent (a model turn comes
    between them), a started container is always waiting. The pause is not timed.
    """
    from agentkit.sandbox.docker_sandbox import DockerSandbox

    async with DockerSandbox(pool_size=2) as sandbox:

        async def once() -> None:
            result = await sandbox.execute(CODE)
            if result.stdout != "1\n":
                raise RuntimeError(f"agentkit sandbox printed {result.stdout!r}")

        await once()
        samples = []
        for _ in range(count):
            await asyncio.sleep(pause)
            samples += await timed(once, 1)
        return samples


async def autogen_cold(count: int) -> list[float]:
    """AutoGen's executor: start its container and run the block (stop is not timed)."""
    samples = []
    for _ in range(count):
        executor, run = _autogen()
        started = time.perf_counter()
        try:
            await executor.start()
            await run()
            samples.append((time.perf_counter() - started) * 1000)
        finally:
            await executor.stop()  # `docker stop` waits out its 10 s grace: tail ignores TERM
    return samples


async def autogen_warm(count: int) -> list[float]:
    """AutoGen's executor runs every block in its one long-lived container."""
    executor, run = _autogen()
    await executor.start()
    try:
        await run()
        return await timed(run, count)
    finally:
        await executor.stop()


def _autogen() -> tuple[Any, Callable[[], Awaitable[None]]]:
    from autogen_core import CancellationToken
    from autogen_core.code_executor import CodeBlock
    from autogen_ext.code_executors.docker import DockerCommandLineCodeExecutor

    folder = tempfile.mkdtemp(prefix="bench-autogen-")
    os.chmod(folder, 0o755)  # the image runs as nobody; AutoGen bind-mounts this folder
    executor = DockerCommandLineCodeExecutor(image=IMAGE, work_dir=folder, timeout=30)

    async def run() -> None:
        # AutoGen runs python blocks with `python`; the image (like Debian) has only
        # `python3`, so the same program goes through an sh block
        block = CodeBlock(code=f"exec python3 -c '{CODE}'", language="sh")
        result = await executor.execute_code_blocks([block], CancellationToken())
        if result.exit_code != 0 or result.output.strip() != "1":
            raise RuntimeError(f"AutoGen exit {result.exit_code}: {result.output.strip()[:300]}")

    return executor, run


async def guarded(name: str, measure: Callable[[], Awaitable[list[float]]]) -> dict[str, Any]:
    """A summary of the samples, or why this peer cannot run here."""
    try:
        return summary(await measure())
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:600], "name": name}


async def measure_all(cold: int, warm: int) -> dict[str, Any]:
    """Every variant; a failing peer is reported with its error instead of numbers."""
    return {
        "docker_run_cold": await guarded("docker run", lambda: timed(docker_run, cold)),
        "agentkit_cold": await guarded("agentkit", lambda: agentkit_cold(cold)),
        "agentkit_warm": await guarded("agentkit", lambda: agentkit_warm(warm)),
        "agentkit_warm_spaced": await guarded(
            "agentkit", lambda: agentkit_warm(warm, pause=SPACING)
        ),
        "autogen_cold": await guarded("autogen", lambda: autogen_cold(min(cold, AUTOGEN_COLD))),
        "autogen_warm": await guarded("autogen", lambda: autogen_warm(warm)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold", type=int, default=20)
    parser.add_argument("--warm", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure_all(args.cold, args.warm)), indent=2))


if __name__ == "__main__":
    main()
