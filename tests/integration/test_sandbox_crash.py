"""A host process killed with SIGKILL leaves its warm pool behind; the next sandbox reaps it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from agentkit.sandbox.hardening import LABEL, OWNER_LABEL

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from agentkit.sandbox.docker_sandbox import DockerSandbox

    async def main():
        sandbox = DockerSandbox(pool_size=2)
        await sandbox.start()
        result = await sandbox.execute("print(6 * 7)")
        print(result.stdout.strip(), flush=True)
        await asyncio.sleep(3600)  # killed here, with its warm containers still up

    asyncio.run(main())
    """
)


def labelled_by(client: Any, pid: int) -> list[str]:
    containers = client.api.containers(all=True, filters={"label": LABEL})
    return [
        c["Id"] for c in containers if f"/{pid}/" in (c.get("Labels") or {}).get(OWNER_LABEL, "")
    ]


def test_containers_of_a_killed_process_are_reaped_at_the_next_start(docker_client: Any) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "42"
        left = labelled_by(docker_client, holder.pid)
        assert left, "the warm pool should be up while its process lives"
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    assert labelled_by(docker_client, holder.pid), "SIGKILL leaves the pool's containers behind"

    from agentkit.sandbox.docker_sandbox import DockerSandbox

    async def start_another() -> list[str]:
        async with DockerSandbox(docker_client, pool_size=0):
            return labelled_by(docker_client, holder.pid)

    assert asyncio.run(start_another()) == []
