"""A program runs in the sandbox as `python3 main.py` would run it, though its interpreter
was started before the code arrived."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentkit.sandbox.docker_sandbox import DockerSandbox

pytestmark = pytest.mark.docker


@pytest.fixture
async def sandbox(docker_client: Any) -> AsyncIterator[DockerSandbox]:
    async with DockerSandbox(docker_client, pool_size=1) as started:
        yield started


async def test_script_semantics(sandbox: DockerSandbox) -> None:
    result = await sandbox.execute(
        "import os, sys\n"
        "print(sys.argv[0] == __file__, __name__, os.getcwd(), sys.path[0])\n"
        "print(sorted(k for k in globals() if not k.startswith('__')))\n"
    )
    first, second = result.stdout.splitlines()
    assert first == "True __main__ /work /tmp"
    assert second == "['os', 'sys']", "nothing of the bootstrap leaks into the program"


async def test_an_uncaught_exception_reads_as_usual(sandbox: DockerSandbox) -> None:
    result = await sandbox.execute("def f():\n    return 1 / 0\nf()\n")
    assert result.exit_code == 1
    assert "ZeroDivisionError" in result.stderr
    assert "<string>" not in result.stderr
    assert result.stderr.startswith("Traceback (most recent call last):")


@pytest.mark.parametrize(("code", "status"), [("raise SystemExit(7)", 7), ("pass", 0)])
async def test_exit_codes(sandbox: DockerSandbox, code: str, status: int) -> None:
    assert (await sandbox.execute(code)).exit_code == status
