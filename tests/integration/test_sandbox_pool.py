"""The warm pool against real Docker: orphans reaped, no reuse, nothing left at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit.cli import main as cli_main
from agentkit.errors import SandboxError, SandboxImageMissing
from agentkit.sandbox.config import make_config
from agentkit.sandbox.docker_sandbox import DockerSandbox
from agentkit.sandbox.hardening import LABEL, OWNER_LABEL, RUNNER_COMMAND
from agentkit.sandbox.pool import owner_id
from agentkit.tools.python import close_python_tool, python_tool

pytestmark = pytest.mark.docker


def ours(client: Any) -> set[str]:
    found = client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={owner_id()}"})
    return {c.id for c in found}


@pytest.fixture(autouse=True)
def _nothing_left_behind(docker_client: Any) -> Iterator[None]:
    yield
    assert ours(docker_client) == set(), "a sandbox container outlived its sandbox"


async def test_orphans_of_a_dead_process_are_reaped_at_start(docker_client: Any) -> None:
    orphan = docker_client.containers.create(
        "agentkit-sandbox:latest",
        list(RUNNER_COMMAND),
        labels={LABEL: "1", OWNER_LABEL: owner_id().rsplit("/", 2)[0] + "/999999999/0"},
        network_mode="none",
    )
    async with DockerSandbox(docker_client, pool_size=0):
        remaining = docker_client.containers.list(all=True, filters={"id": orphan.id})
    assert remaining == []


async def test_pool_containers_serve_once_and_are_never_reused(docker_client: Any) -> None:
    async with DockerSandbox(docker_client, pool_size=2) as box:
        assert box.pool is not None
        seen: set[str] = set()
        for _ in range(4):
            result = await box.execute(
                "import os\n"
                "print(os.path.exists('/work/mark'), os.path.exists('/tmp/mark'))\n"
                "open('/work/mark', 'w').close(); open('/tmp/mark', 'w').close()\n"
            )
            assert result.stdout == "False False\n"
            seen |= box.pool.live
        assert len(seen) >= 4


async def test_the_pool_refills_in_the_background(docker_client: Any) -> None:
    async with DockerSandbox(docker_client, pool_size=2) as box:
        assert box.pool is not None
        for _ in range(100):
            if len(box.pool.live) == 2:
                break
            await asyncio.sleep(0.1)
        assert len(box.pool.live) == 2


async def test_shutdown_removes_every_container_even_mid_refill(docker_client: Any) -> None:
    box = DockerSandbox(docker_client, pool_size=3)
    await box.start()
    await box.execute("print(1)")
    await box.aclose()
    assert ours(docker_client) == set()
    with pytest.raises(SandboxError):
        await box.execute("print(1)")


async def test_a_missing_image_names_the_build_command(docker_client: Any) -> None:
    config = make_config(image="agentkit-sandbox:does-not-exist")
    with pytest.raises(SandboxImageMissing, match="agentkit sandbox build"):
        await DockerSandbox(docker_client, config).start()


async def test_an_unreachable_daemon_is_sandbox_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentkit.errors import SandboxUnavailable

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(SandboxUnavailable):
        await DockerSandbox().start()


async def test_run_python_tool_runs_code_in_a_real_sandbox() -> None:
    tool = python_tool(timeout=2, pool_size=0)
    try:
        result = await tool.invoke(tool.validate({"code": "print(sum(range(10)))"}))
        assert result["stdout"] == "45\n"
        assert result["exit_code"] == 0
        slow = await tool.invoke({"code": "import time; time.sleep(30)"})
        assert slow["timed_out"] is True
    finally:
        await close_python_tool(tool)


@pytest.mark.parametrize(
    ("args", "code", "reason"),
    [
        (["-c", "print('hi')"], 0, ""),
        (["-c", "raise SystemExit(7)"], 7, ""),
        (["-c", "import time; time.sleep(60)", "--timeout", "1"], 124, "timed out"),
        (["-c", "x = bytearray(1 << 30)", "--memory", "64"], 137, "memory"),
    ],
)
def test_cli_run_exits_with_the_program_code(
    args: list[str], code: int, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["sandbox", "run", *args]) == code
    err = capsys.readouterr().err
    assert reason in err
