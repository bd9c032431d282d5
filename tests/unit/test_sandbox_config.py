"""Sandbox limits, floors and the docker-py hardening they turn into."""

from __future__ import annotations

import pytest

from agentkit.errors import ConfigError
from agentkit.sandbox.config import SandboxConfig, make_config
from agentkit.sandbox.hardening import LABEL, container_kwargs


def test_defaults_are_the_shipped_hardening() -> None:
    kwargs = container_kwargs(SandboxConfig(), {"x": "y"})
    assert kwargs["network_mode"] == "none"
    assert kwargs["read_only"] is True
    assert kwargs["user"] == "65534:65534"
    assert kwargs["cap_drop"] == ["ALL"]
    assert "cap_add" not in kwargs
    assert kwargs["security_opt"] == ["no-new-privileges:true"]
    assert kwargs["pids_limit"] == 64
    assert kwargs["mem_limit"] == kwargs["memswap_limit"] == "256m"
    assert kwargs["nano_cpus"] == 1_000_000_000
    assert kwargs["environment"] == {}
    assert kwargs["init"] is True
    assert kwargs["ipc_mode"] == "private"
    assert kwargs["labels"] == {LABEL: "1", "x": "y"}
    assert set(kwargs["tmpfs"]) == {"/work", "/tmp"}
    assert "size=64m" in kwargs["tmpfs"]["/work"]
    assert "noexec" in kwargs["tmpfs"]["/tmp"]


def test_no_host_mounts_and_no_docker_socket_whatever_the_config() -> None:
    config = make_config(network=True, user="0", overrides={"network", "user"})
    kwargs = container_kwargs(config, {})
    assert not {"volumes", "mounts", "binds", "volumes_from", "devices", "privileged"} & set(kwargs)
    assert "docker.sock" not in repr(kwargs)


def test_ulimits_include_files_size_processes_and_a_cpu_backstop() -> None:
    kwargs = container_kwargs(make_config(timeout=7.5, nofile=128), {})
    limits = {u["name"]: u["hard"] for u in kwargs["ulimits"]}
    assert limits["nofile"] == 128
    assert limits["fsize"] == 64 << 20
    assert limits["core"] == 0
    assert limits["cpu"] == 10  # ceil(7.5) + 2
    assert "nproc" in limits


def test_runtime_is_passed_through_only_when_asked() -> None:
    assert "runtime" not in container_kwargs(SandboxConfig(), {})
    assert container_kwargs(make_config(runtime="runsc"), {})["runtime"] == "runsc"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("memory_mb", 4096),
        ("pids_limit", 5000),
        ("timeout", 3600.0),
        ("user", "root"),
        ("user", "0:0"),
        ("network", True),
        ("read_only_root", False),
        ("no_new_privileges", False),
        ("cap_add", ("NET_ADMIN",)),
    ],
)
def test_weakening_past_the_floor_needs_an_override(setting: str, value: object) -> None:
    with pytest.raises(ConfigError, match=setting):
        make_config(**{setting: value})
    config = make_config(**{setting: value, "overrides": {setting}})
    assert config.weakened() == [setting]


def test_tightening_needs_no_override_and_weakens_nothing() -> None:
    config = make_config(memory_mb=64, timeout=1, pids_limit=16, cpus=0.5)
    assert config.weakened() == []
    assert container_kwargs(config, {})["mem_limit"] == "64m"


@pytest.mark.parametrize(
    ("setting", "value"), [("memory_mb", 4), ("timeout", 0), ("pids_limit", 1)]
)
def test_values_below_what_python_needs_are_refused(setting: str, value: object) -> None:
    with pytest.raises(ConfigError, match=setting):
        make_config(**{setting: value})


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="memory"):
        make_config(memory=128)
