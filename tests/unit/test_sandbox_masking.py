"""Masked paths, a private cgroup namespace and a sized /dev/shm, as sent to Docker."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.errors import ConfigError
from agentkit.sandbox.config import SandboxConfig, make_config
from agentkit.sandbox.hardening import MASKED_PATHS, container_kwargs, host_config_extras
from agentkit.sandbox.pool import create_container

HOST_FACTS = (
    "/proc/cmdline",
    "/proc/sys/kernel/random/boot_id",
    "/proc/meminfo",
    "/proc/loadavg",
    "/proc/stat",
    "/proc/uptime",
    "/proc/cpuinfo",
    "/proc/kcore",
    "/sys/firmware",
)


@pytest.mark.parametrize("path", HOST_FACTS)
def test_host_facts_are_masked(path: str) -> None:
    assert path in host_config_extras()["MaskedPaths"]


def test_proc_sys_stays_read_only() -> None:
    assert "/proc/sys" in host_config_extras()["ReadonlyPaths"]
    assert len(set(MASKED_PATHS)) == len(MASKED_PATHS)


def test_cgroup_namespace_is_private_and_hostname_neutral() -> None:
    kwargs = container_kwargs(SandboxConfig(), {})
    assert kwargs["cgroupns"] == "private"
    assert kwargs["hostname"] == "sandbox"


def test_dev_shm_is_one_megabyte_by_default_and_none_at_zero() -> None:
    assert container_kwargs(SandboxConfig(), {})["shm_size"] == "1m"
    assert container_kwargs(make_config(shm_size_mb=8), {})["shm_size"] == "8m"
    assert container_kwargs(make_config(shm_size_mb=0), {})["ipc_mode"] == "none"


def test_a_large_dev_shm_needs_an_override() -> None:
    with pytest.raises(ConfigError, match="shm_size_mb"):
        make_config(shm_size_mb=128)
    assert make_config(shm_size_mb=128, overrides={"shm_size_mb"}).weakened() == ["shm_size_mb"]


class _Api:
    _version = "1.41"

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}

    def create_container(self, **args: Any) -> dict[str, str]:
        self.sent = args
        return {"Id": "c0ffee"}


class _Client:
    def __init__(self) -> None:
        self.api = _Api()


def test_create_container_sends_the_masked_paths_in_the_host_config() -> None:
    client = _Client()
    assert create_container(client, container_kwargs(SandboxConfig(), {})) == "c0ffee"
    host = client.api.sent["host_config"]
    assert host["MaskedPaths"] == list(MASKED_PATHS)
    assert "/proc/sys" in host["ReadonlyPaths"]
    assert host["CgroupnsMode"] == "private"
    assert host["ShmSize"] == 1 << 20
    assert host["NetworkMode"] == "none"
    assert client.api.sent["hostname"] == "sandbox"
