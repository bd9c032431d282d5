"""`DockerSandbox`: the `Sandbox` protocol over docker-py, with a warm pool.

```python
async with DockerSandbox() as sandbox:
    result = await sandbox.execute("print(6 * 7)")
    assert result.stdout == "42\\n"
```

docker-py blocks: every call to it goes through ``asyncio.to_thread`` here or in
the pool, nowhere else. ``docker`` is imported on first use only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from agentkit.errors import ConfigError, SandboxError, SandboxUnavailable
from agentkit.sandbox.config import SandboxConfig
from agentkit.sandbox.docker_errors import image_missing, import_docker, translate
from agentkit.sandbox.execution import Execution
from agentkit.sandbox.pool import WarmPool
from agentkit.sandbox.session import RawOutcome, drive, encode_request
from agentkit.sandbox.transfer import check_fetch, pack_inputs, unpack_outputs
from agentkit.telemetry.instruments import instruments_for
from agentkit.telemetry.settings import GLOBAL_TELEMETRY

log = logging.getLogger(__name__)


def connect() -> Any:
    """A docker-py client from the environment (blocking).

    Raises:
        SandboxUnavailable: docker is not installed, or the daemon cannot be reached.
    """
    docker = import_docker()
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        raise translate(exc, image="") from exc
    return client


def check_daemon(client: Any, config: SandboxConfig) -> dict[str, Any]:
    """Check the image and runtime exist (blocking); return the daemon's info.

    Raises:
        SandboxImageMissing: the image is not built.
        ConfigError: the requested runtime is not installed.
    """
    from agentkit.sandbox.build import image_state

    try:
        info: dict[str, Any] = client.info()
        state = image_state(client, config.image)
    except Exception as exc:
        raise translate(exc, image=config.image) from exc
    if state == "missing":
        raise image_missing(config.image)
    if state == "stale":
        log.warning("sandbox image %s was built with another runner: rebuild it", config.image)
    runtimes = info.get("Runtimes") or {}
    if config.runtime and config.runtime not in runtimes:
        raise ConfigError(
            f"container runtime {config.runtime!r} is not installed (have: {', '.join(runtimes)})"
        )
    return info


class DockerSandbox:
    """Runs each execution in a fresh hardened container taken from a warm pool."""

    def __init__(
        self,
        client: Any | None = None,
        config: SandboxConfig | None = None,
        pool_size: int = 2,
    ) -> None:
        self.config = config or SandboxConfig()
        self._client = client
        self._pool_size = pool_size
        self._pool: WarmPool | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def __aenter__(self) -> DockerSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Connect, check the image and runtime, reap orphans, start the warm pool."""
        async with self._lock:
            if self._closed:
                raise SandboxUnavailable("the sandbox is closed")
            if self._pool is not None:
                return
            if self._client is None:
                self._client = await asyncio.to_thread(connect)
            await asyncio.to_thread(check_daemon, self._client, self.config)
            if self.config.weakened():
                log.warning("sandbox weakened by override: %s", ", ".join(self.config.weakened()))
            pool = WarmPool(self._client, self.config, self._pool_size)
            await pool.start()
            self._pool = pool

    @property
    def pool(self) -> WarmPool | None:
        """The warm pool, once started."""
        return self._pool

    async def execute(
        self,
        code: str,
        *,
        files: Mapping[str, bytes | str] | None = None,
        fetch: Iterable[str] = (),
        timeout: float | None = None,  # noqa: ASYNC109 (the deadline is enforced on the host)
    ) -> Execution:
        """Run ``code`` once in a fresh container.

        Args:
            code: Python source, run as a script in ``/work``.
            files: Input files put into ``/work`` (name -> content).
            fetch: Names of files in ``/work`` to bring back after the run.
            timeout: Wall-clock seconds; never above the config's timeout.

        Raises:
            SandboxFileError: an input or fetch name is unsafe or over a cap.
            SandboxUnavailable, SandboxImageMissing: Docker or the image is missing.
        """
        cfg = self.config
        limit = cfg.timeout if timeout is None else min(max(timeout, 0.01), cfg.timeout)
        wanted = check_fetch(fetch, max_files=cfg.max_output_files)
        source = code.encode()
        tar = pack_inputs(
            files,
            max_bytes=max(cfg.max_input_bytes - len(source), 0),
            max_files=cfg.max_input_files,
        )
        request = encode_request(source, tar, wanted, cfg.max_output_bytes)
        await self.start()
        assert self._pool is not None
        container_id = await self._pool.acquire()
        started = time.monotonic()
        try:
            raw = await asyncio.to_thread(
                drive,
                self._client_api(),
                container_id,
                request,
                timeout=limit,
                cap=cfg.output_cap_bytes,
                max_tar=cfg.max_output_bytes,
            )
            state = await self._final_state(container_id, raw)
        except SandboxError as exc:
            _count_execution(type(exc).__name__)
            raise
        except Exception as exc:
            _count_execution("error")
            raise translate(exc, image=cfg.image) from exc
        finally:
            self._pool.discard(container_id)
        execution = _execution(raw, state, wanted, cfg, time.monotonic() - started)
        _count_execution(_outcome(execution))
        return execution

    def _client_api(self) -> Any:
        assert self._client is not None
        return self._client.api

    async def _final_state(self, container_id: str, raw: RawOutcome) -> dict[str, Any]:
        """The container's State when the runner did not report (it died, or was killed)."""
        if raw.report is not None or raw.timed_out or raw.truncated:
            return {}
        api = self._client_api()
        try:
            await asyncio.to_thread(api.wait, container_id, timeout=5)
            info = await asyncio.to_thread(api.inspect_container, container_id)
        except Exception:
            return {}
        state: dict[str, Any] = info.get("State") or {}
        return state

    async def aclose(self) -> None:
        """Remove every container the sandbox started."""
        async with self._lock:
            self._closed = True
            if self._pool is not None:
                await self._pool.aclose()


def _exit_code(status: Any) -> int | None:
    if not isinstance(status, int) or isinstance(status, bool):
        return None
    return 128 - status if status < 0 else status


def _execution(
    raw: RawOutcome, state: dict[str, Any], wanted: list[str], cfg: SandboxConfig, took: float
) -> Execution:
    report = raw.report or {}
    oom = bool(report.get("oom")) or bool(state.get("OOMKilled"))
    error = raw.violation or report.get("error")
    if raw.report is None and not (raw.timed_out or raw.truncated or raw.violation):
        error = "the sandbox runner exited before reporting (did the program kill it?)"
    files: dict[str, bytes] = {}
    file_errors = {str(k): str(v) for k, v in dict(report.get("refused") or {}).items()}
    if raw.tar:
        files = unpack_outputs(raw.tar, wanted=wanted, max_bytes=cfg.max_output_bytes)
    exit_code = _exit_code(report.get("exit_code", state.get("ExitCode")))
    if raw.timed_out or raw.truncated:
        exit_code = None
    return Execution(
        stdout=raw.stdout.decode("utf-8", "replace"),
        stderr=raw.stderr.decode("utf-8", "replace"),
        exit_code=exit_code,
        timed_out=raw.timed_out,
        oom_killed=oom,
        truncated=raw.truncated,
        files=files,
        file_errors=file_errors,
        duration=took,
        error=str(error) if error else None,
    )


def _outcome(execution: Execution) -> str:
    if execution.timed_out:
        return "timed_out"
    if execution.oom_killed:
        return "oom_killed"
    return "ok" if execution.ok else "failed"


def _count_execution(outcome: str) -> None:
    """``agentkit.sandbox.executions`` on the global meter, by outcome."""
    instruments_for(GLOBAL_TELEMETRY).sandbox_executions.add(1, {"agentkit.outcome": outcome})
