"""The docker-py keyword arguments that make a container a sandbox.

Pure data from a `SandboxConfig`: no Docker import, no I/O, so it is unit-tested
directly. There is deliberately no way to add volumes, binds or mounts: nothing
from the host (least of all the Docker socket) is ever visible inside.

docker-py has no keyword for the masked and read-only paths; `host_config_extras`
holds them and the pool merges them into the HostConfig it sends.
"""

from __future__ import annotations

import math
from typing import Any

from agentkit.sandbox.config import SandboxConfig

LABEL = "agentkit.sandbox"
OWNER_LABEL = "agentkit.sandbox.owner"
RUNNER_COMMAND = ("python3", "-I", "-S", "/opt/agentkit/runner.py")
_MB = 1 << 20

# Docker's own defaults, repeated because setting MaskedPaths replaces them.
_DOCKER_MASKED = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
# Host-wide facts a program has no need for: boot, kernel command line, memory,
# load, CPU and device counters, hardware identity.
_HOST_FACTS = (
    "/proc/cmdline",
    "/proc/sys/kernel/random/boot_id",
    "/proc/meminfo",
    "/proc/loadavg",
    "/proc/stat",
    "/proc/uptime",
    "/proc/vmstat",
    "/proc/zoneinfo",
    "/proc/buddyinfo",
    "/proc/pagetypeinfo",
    "/proc/slabinfo",
    "/proc/vmallocinfo",
    "/proc/swaps",
    "/proc/diskstats",
    "/proc/partitions",
    "/proc/interrupts",
    "/proc/softirqs",
    "/proc/schedstat",
    "/proc/pressure",
    "/proc/cpuinfo",
    "/proc/version",
    "/proc/modules",
    "/proc/kallsyms",
    "/proc/devices",
    "/proc/misc",
    "/proc/iomem",
    "/proc/ioports",
    "/proc/consoles",
    "/proc/mdstat",
    "/sys/devices/virtual/dmi",
    "/sys/kernel",
    "/sys/module",
)
MASKED_PATHS = _DOCKER_MASKED + _HOST_FACTS
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def tmpfs_mounts(config: SandboxConfig) -> dict[str, str]:
    """The only writable places: ``/work`` (owned by the sandbox user) and ``/tmp``."""
    uid, _, gid = config.user.partition(":")
    owner = f",uid={uid}" + (f",gid={gid}" if gid else "") if uid.isdigit() else ""
    return {
        "/work": f"rw,nosuid,nodev,size={config.work_size_mb}m,mode=0700{owner}",
        "/tmp": f"rw,nosuid,nodev,noexec,size={config.tmp_size_mb}m,mode=1777",
    }


def host_config_extras() -> dict[str, list[str]]:
    """HostConfig fields docker-py cannot express: paths masked and paths read-only."""
    return {"MaskedPaths": list(MASKED_PATHS), "ReadonlyPaths": list(READONLY_PATHS)}


def ulimits(config: SandboxConfig) -> list[dict[str, Any]]:
    """Per-process limits; the CPU-seconds one is a backstop behind the host deadline."""
    cpu = math.ceil(config.timeout) + 2
    limits = {
        "nofile": config.nofile,
        "fsize": config.fsize_mb * _MB,
        "nproc": config.nproc,
        "core": 0,
        "cpu": cpu,
    }
    return [{"name": name, "soft": value, "hard": value} for name, value in limits.items()]


def container_kwargs(config: SandboxConfig, labels: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.create`` (ulimits as plain dicts)."""
    memory = f"{config.memory_mb}m"
    kwargs: dict[str, Any] = {
        "image": config.image,
        "command": list(RUNNER_COMMAND),
        "network_mode": "bridge" if config.network else "none",
        "network_disabled": not config.network,
        "read_only": config.read_only_root,
        "tmpfs": tmpfs_mounts(config),
        "user": config.user,
        "environment": {},
        "hostname": "sandbox",
        "working_dir": "/work",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"] if config.no_new_privileges else [],
        "pids_limit": config.pids_limit,
        "mem_limit": memory,
        "memswap_limit": memory,
        "nano_cpus": int(config.cpus * 1_000_000_000),
        "shm_size": f"{max(config.shm_size_mb, 1)}m",
        "init": True,
        "ipc_mode": "private" if config.shm_size_mb else "none",
        "cgroupns": "private",
        "log_config": {"type": "none", "config": {}},
        "stdin_open": True,
        "detach": True,
        "labels": {LABEL: "1", **labels},
    }
    if config.cap_add:
        kwargs["cap_add"] = list(config.cap_add)
    if config.runtime:
        kwargs["runtime"] = config.runtime
    kwargs["ulimits"] = ulimits(config)
    return kwargs
