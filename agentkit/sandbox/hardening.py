"""The docker-py keyword arguments that make a container a sandbox.

Pure data from a `SandboxConfig`: no Docker import, no I/O, so it is unit-tested
directly. There is deliberately no way to add volumes, binds or mounts: nothing
from the host (least of all the Docker socket) is ever visible inside.
"""

from __future__ import annotations

import math
from typing import Any

from agentkit.sandbox.config import SandboxConfig

LABEL = "agentkit.sandbox"
OWNER_LABEL = "agentkit.sandbox.owner"
RUNNER_COMMAND = ("python3", "-I", "-S", "/opt/agentkit/runner.py")
_MB = 1 << 20


def tmpfs_mounts(config: SandboxConfig) -> dict[str, str]:
    """The only writable places: ``/work`` (owned by the sandbox user) and ``/tmp``."""
    uid, _, gid = config.user.partition(":")
    owner = f",uid={uid}" + (f",gid={gid}" if gid else "") if uid.isdigit() else ""
    return {
        "/work": f"rw,nosuid,nodev,size={config.work_size_mb}m,mode=0700{owner}",
        "/tmp": f"rw,nosuid,nodev,noexec,size={config.tmp_size_mb}m,mode=1777",
    }


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
        "shm_size": "16m",
        "init": True,
        "ipc_mode": "private",
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
