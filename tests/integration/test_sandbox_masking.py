"""What a program can read about the host: masked facts give nothing host-specific."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.sandbox.config import make_config
from agentkit.sandbox.docker_sandbox import DockerSandbox

pytestmark = pytest.mark.docker

PROBE = textwrap.dedent(
    """
    import json, os, socket, subprocess

    def read(path):
        try:
            with open(path, "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except OSError as exc:
            return f"<{type(exc).__name__}>"

    paths = [
        "/proc/cmdline", "/proc/sys/kernel/random/boot_id", "/proc/meminfo",
        "/proc/loadavg", "/proc/stat", "/proc/uptime", "/proc/vmstat", "/proc/cpuinfo",
        "/proc/version", "/proc/diskstats", "/proc/self/cgroup", "/proc/self/mountinfo",
        "/proc/1/cgroup", "/etc/hostname", "/proc/sys/kernel/hostname",
    ]
    found = {path: read(path) for path in paths}
    found["hostname"] = socket.gethostname()
    shm = os.statvfs("/dev/shm")
    found["shm_bytes"] = shm.f_blocks * shm.f_frsize
    found["shm_flags"] = [
        line.split()[3] for line in read("/proc/self/mounts").splitlines()
        if line.split()[1] == "/dev/shm"
    ]
    exe = "/dev/shm/x"
    try:
        with open(exe, "w") as handle:
            handle.write("#!/bin/sh\\necho ran\\n")
        os.chmod(exe, 0o755)
        found["shm_exec"] = subprocess.run([exe], capture_output=True).stdout.decode()
    except OSError as exc:
        found["shm_exec"] = f"<{type(exc).__name__}>"
    print(json.dumps(found))
    """
)


@pytest.fixture
async def sandbox(docker_client: Any) -> AsyncIterator[DockerSandbox]:
    box = DockerSandbox(docker_client, make_config(timeout=5), pool_size=1)
    await box.start()
    yield box
    await box.aclose()


async def probe(box: DockerSandbox) -> tuple[dict[str, Any], set[str]]:
    """Run the probe; return what it read and the ids of containers that could have run it."""
    for _ in range(100):  # wait for the warm container, so its id is known beforehand
        assert box.pool is not None
        if box.pool.live:
            break
        await asyncio.sleep(0.05)
    assert box.pool is not None
    ids = set(box.pool.live)
    result = await box.execute(PROBE)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), ids | set(box.pool.live)


def host_file(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


async def test_boot_id_and_kernel_command_line_are_masked(sandbox: DockerSandbox) -> None:
    found, _ = await probe(sandbox)
    boot_id = found["/proc/sys/kernel/random/boot_id"].strip()
    assert boot_id != host_file("/proc/sys/kernel/random/boot_id").strip()
    assert boot_id == ""
    assert found["/proc/cmdline"] == ""


@pytest.mark.parametrize(
    "path",
    [
        "/proc/meminfo",
        "/proc/loadavg",
        "/proc/stat",
        "/proc/uptime",
        "/proc/vmstat",
        "/proc/cpuinfo",
        "/proc/version",
        "/proc/diskstats",
    ],
)
async def test_host_counters_read_empty(sandbox: DockerSandbox, path: str) -> None:
    found, _ = await probe(sandbox)
    assert found[path] == "", f"{path} shows host data"


async def test_container_id_is_not_in_hostname_or_cgroups(sandbox: DockerSandbox) -> None:
    found, ids = await probe(sandbox)
    assert found["hostname"] == "sandbox"
    assert found["/etc/hostname"].strip() == found["/proc/sys/kernel/hostname"].strip() == "sandbox"
    for text in (found["/proc/self/cgroup"], found["/proc/1/cgroup"]):
        assert {line.rpartition(":")[2] for line in text.splitlines()} == {"/"}
    for container_id in ids:
        for key in ("hostname", "/etc/hostname", "/proc/self/cgroup", "/proc/1/cgroup"):
            assert container_id[:12] not in found[key]


async def test_container_id_in_mountinfo_only_as_the_hostname_file_source(
    sandbox: DockerSandbox,
) -> None:
    # Docker bind-mounts /etc/hostname from a per-container directory and names it in
    # mountinfo; nothing in a container's config removes it (see docs/sandbox.md).
    found, ids = await probe(sandbox)
    naming = [
        line
        for line in found["/proc/self/mountinfo"].splitlines()
        if any(container_id[:12] in line for container_id in ids)
    ]
    assert [line.split()[4] for line in naming] == ["/etc/hostname"]
    cgroup_roots = {
        line.split()[3]
        for line in found["/proc/self/mountinfo"].splitlines()
        if line.split()[4].startswith("/sys/fs/cgroup/")
    }
    assert cgroup_roots == {"/"}


async def test_dev_shm_is_small_noexec_nosuid_nodev(sandbox: DockerSandbox) -> None:
    found, _ = await probe(sandbox)
    assert 0 < found["shm_bytes"] <= 1 << 20
    (flags,) = found["shm_flags"]
    assert {"noexec", "nosuid", "nodev"} <= set(flags.split(","))
    assert found["shm_exec"] == "<PermissionError>"


async def test_no_dev_shm_when_sized_zero(docker_client: Any) -> None:
    async with DockerSandbox(docker_client, make_config(shm_size_mb=0), pool_size=0) as box:
        result = await box.execute(
            "import os\n"
            "mounts = [l.split()[1] for l in open('/proc/self/mounts')]\n"
            "print('/dev/shm' in mounts, os.access('/dev/shm', os.W_OK))\n"
        )
    assert result.stdout == "False False\n", result.stderr


async def test_multiprocessing_still_works_with_the_small_dev_shm(sandbox: DockerSandbox) -> None:
    result = await sandbox.execute(
        "import multiprocessing, os\n"
        "with multiprocessing.Pool(2) as pool:\n"
        "    print(pool.map(abs, [-1, -2]), os.cpu_count() >= 1)\n"
    )
    assert result.stdout == "[1, 2] True\n", result.stderr
