"""A warm pool of started sandbox containers, each used once and then destroyed.

Containers are created and started ahead of time so an execution does not wait for
them; one serves exactly one execution and is removed, so no state crosses
executions. Every container carries the sandbox label and an owner label naming this
process; at start, labelled containers whose owner process is gone are reaped.
All docker-py calls go through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from agentkit.sandbox.config import SandboxConfig
from agentkit.sandbox.docker_errors import translate
from agentkit.sandbox.hardening import LABEL, OWNER_LABEL, container_kwargs, host_config_extras

log = logging.getLogger(__name__)


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (so a reused pid is not mistaken for its owner)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


def owner_id(pid: int | None = None) -> str:
    """``host/boot/pid/start``: who owns a container, checkable after a crash."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}/{_boot_id()}/{pid}/{_start_time(pid)}"


def is_orphan(owner: str | None) -> bool:
    """True when the owner process is gone (or the label is not ours to read)."""
    parts = (owner or "").split("/")
    if len(parts) != 4 or not parts[2].isdigit():
        return True
    host, boot, pid, started = parts
    if host != socket.gethostname():
        return False  # another machine's container: not ours to judge
    return boot != _boot_id() or _start_time(int(pid)) != started


def reap_orphans(client: Any) -> list[str]:
    """Remove labelled containers whose owning process no longer exists (blocking)."""
    removed = []
    # the low-level listing carries the labels: no per-container inspect that could race
    # with another process removing a container between the list and the inspect
    for summary in client.api.containers(all=True, filters={"label": LABEL}):
        labels = summary.get("Labels") or {}
        if is_orphan(labels.get(OWNER_LABEL)):
            with contextlib.suppress(Exception):
                client.api.remove_container(summary["Id"], force=True)
                removed.append(summary["Id"])
    if removed:
        log.info("reaped %d orphaned sandbox container(s)", len(removed))
    return removed


def create_container(client: Any, kwargs: dict[str, Any]) -> str:
    """Create (not start) a container from `container_kwargs`, with the masked paths.

    docker-py's high-level ``create`` has no keyword for MaskedPaths/ReadonlyPaths, so
    its own argument split is reused and the HostConfig completed before sending.
    """
    from docker.models.containers import _create_container_args

    args = _create_container_args({**kwargs, "version": client.api._version})
    args["host_config"].update(host_config_extras())
    return str(client.api.create_container(**args)["Id"])


class WarmPool:
    """Started containers ready for one execution each; refilled in the background."""

    def __init__(self, client: Any, config: SandboxConfig, size: int = 2) -> None:
        self._client = client
        self._config = config
        self._size = max(size, 0)
        self._owner = owner_id()
        self._ready: list[str] = []
        self._live: set[str] = set()
        self._wanted = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._refiller: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def live(self) -> frozenset[str]:
        """Ids of every container this pool started and has not removed yet."""
        return frozenset(self._live)

    async def start(self) -> None:
        """Reap orphans from crashed processes, then start filling the pool."""
        await asyncio.to_thread(reap_orphans, self._client)
        self._refiller = asyncio.create_task(self._refill())
        self._wanted.set()

    async def acquire(self) -> str:
        """A started container for one execution (created now if none is warm)."""
        if self._closed:
            raise RuntimeError("the sandbox pool is closed")
        container_id = self._ready.pop(0) if self._ready else await self._create()
        self._wanted.set()
        return container_id

    def discard(self, container_id: str) -> None:
        """Kill and remove a used container in the background."""
        self._spawn(self._remove(container_id))

    async def aclose(self) -> None:
        """Stop refilling and remove every container this pool started."""
        self._closed = True
        if self._refiller is not None:
            self._refiller.cancel()
            await asyncio.gather(self._refiller, return_exceptions=True)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(self._remove(cid) for cid in list(self._live)))
        self._ready.clear()

    async def _create(self) -> str:
        kwargs = container_kwargs(self._config, {OWNER_LABEL: self._owner})
        # Tracked and shielded: a creation in flight when the pool closes still finishes,
        # and aclose() waits for it, so its container is removed rather than leaked.
        task = self._spawn(asyncio.to_thread(self._create_started, kwargs, self._live.add))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise translate(exc, image=self._config.image) from exc

    def _create_started(self, kwargs: dict[str, Any], track: Callable[[str], None]) -> str:
        container_id = create_container(self._client, kwargs)
        track(container_id)  # tracked before start, so a failed start is still removed
        self._client.api.start(container_id)
        return container_id

    async def _refill(self) -> None:
        while not self._closed:
            await self._wanted.wait()
            self._wanted.clear()
            while len(self._ready) < self._size and not self._closed:
                try:
                    container_id = await self._create()
                except Exception as exc:
                    log.warning("sandbox pool refill failed: %s", exc)
                    break
                if self._closed:
                    await self._remove(container_id)
                else:
                    self._ready.append(container_id)

    async def _remove(self, container_id: str) -> None:
        try:
            await asyncio.to_thread(self._client.api.remove_container, container_id, force=True)
        except Exception as exc:
            if "No such container" not in str(exc) and "already in progress" not in str(exc):
                log.warning("could not remove sandbox container %s: %s", container_id[:12], exc)
                return
        self._live.discard(container_id)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
