"""Sandbox limits: hardened defaults, each one configurable within a floor.

Tightening a limit is always allowed. Loosening one past its floor (more memory
than the ceiling, root, a network, capabilities...) is refused unless the setting
is named in ``overrides``; such a config reports itself through `weakened()` so the
caller can audit it, and the sandbox logs it at start.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentkit.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "agentkit-sandbox:latest"
_ROOT_USERS = frozenset({"0", "root", "0:0", "root:root"})

# setting -> the most permissive value allowed without an explicit override
CEILINGS: dict[str, float] = {
    "memory_mb": 2048,
    "cpus": 2.0,
    "pids_limit": 256,
    "timeout": 120.0,
    "work_size_mb": 512,
    "tmp_size_mb": 256,
    "shm_size_mb": 64,
    "nofile": 4096,
    "fsize_mb": 512,
    "nproc": 4096,
    "output_cap_bytes": 16 << 20,
    "max_input_bytes": 64 << 20,
    "max_input_files": 1000,
    "max_output_bytes": 64 << 20,
    "max_output_files": 1000,
}


class SandboxConfig(BaseModel):
    """Limits and hardening of one sandbox; the defaults are the shipped hardening."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: str = DEFAULT_IMAGE
    """Image to run (built by `agentkit sandbox build`)."""
    runtime: str | None = None
    """OCI runtime name passed through (for example ``runsc``); must be installed."""
    timeout: float = Field(10.0, gt=0)
    """Wall-clock seconds per execution, enforced from the host; a call may only lower it."""
    memory_mb: int = Field(256, ge=32)
    """Memory limit; swap is set equal, so there is no swap beyond it."""
    cpus: float = Field(1.0, ge=0.05)
    """CPU quota in cores."""
    pids_limit: int = Field(64, ge=8)
    """Processes and threads in the container."""
    work_size_mb: int = Field(64, ge=1)
    """Size of the writable tmpfs work directory ``/work``."""
    tmp_size_mb: int = Field(16, ge=1)
    """Size of the ``/tmp`` tmpfs (noexec)."""
    shm_size_mb: int = Field(1, ge=0)
    """Size of ``/dev/shm`` (noexec, nosuid, nodev); 0 mounts none (IPC mode ``none``)."""
    nofile: int = Field(256, ge=32)
    """Open-file ulimit."""
    fsize_mb: int = Field(64, ge=1)
    """Largest file a process may write (ulimit fsize)."""
    nproc: int = Field(1024, ge=16)
    """Process ulimit, counted per user across containers (``pids_limit`` caps one)."""
    output_cap_bytes: int = Field(1 << 20, ge=1024)
    """Bytes kept per stream; past it the container is killed and ``truncated`` set."""
    max_input_bytes: int = Field(16 << 20, ge=1)
    """Total bytes of input files (and code)."""
    max_input_files: int = Field(100, ge=0)
    max_output_bytes: int = Field(16 << 20, ge=1)
    """Total bytes of fetched files (also the per-file cap)."""
    max_output_files: int = Field(100, ge=0)
    user: str = "65534:65534"
    """User inside the container; root needs an override."""
    network: bool = False
    """Any network at all (default none); needs an override."""
    read_only_root: bool = True
    no_new_privileges: bool = True
    cap_add: tuple[str, ...] = ()
    """Capabilities added back after dropping all; needs an override."""
    overrides: frozenset[str] = frozenset()
    """Settings allowed past their floor; each is logged and reported by `weakened()`."""

    @model_validator(mode="after")
    def _check_floors(self) -> SandboxConfig:
        unapproved = sorted(set(self._beyond_floor()) - self.overrides)
        if unapproved:
            raise ValueError(
                "weakening the sandbox needs an explicit override: "
                + ", ".join(unapproved)
                + " (add them to overrides=..., which is logged and audited)"
            )
        return self

    def _beyond_floor(self) -> list[str]:
        names = [name for name, top in CEILINGS.items() if getattr(self, name) > top]
        flags = {
            "user": self.user.strip() in _ROOT_USERS,
            "network": self.network,
            "read_only_root": not self.read_only_root,
            "no_new_privileges": not self.no_new_privileges,
            "cap_add": bool(self.cap_add),
        }
        return names + [name for name, weak in flags.items() if weak]

    def weakened(self) -> list[str]:
        """The settings this config loosens past their floor (all approved by overrides)."""
        return self._beyond_floor()


def make_config(base: SandboxConfig | None = None, **limits: Any) -> SandboxConfig:
    """A config from ``base`` (or the defaults) with ``limits`` changed.

    Raises:
        ConfigError: a limit is out of range or weakens the sandbox without an override.
    """
    data = (base or SandboxConfig()).model_dump()
    data.update({k: v for k, v in limits.items() if v is not None})
    try:
        config = SandboxConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid sandbox config: {problems}") from exc
    if config.weakened():
        log.warning("sandbox hardening weakened by override: %s", ", ".join(config.weakened()))
    return config
