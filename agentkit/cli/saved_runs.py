"""How `agentkit run` started a run, kept beside the approval store so `agentkit resume`
can build the same agent again (the store keeps the run state; this keeps the command)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agentkit.errors import ConfigError, RunStateError

_RUN_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")


@dataclass(frozen=True)
class SavedCommand:
    """The options of the `agentkit run` that started a run."""

    target: str
    model: str | None = None
    base_url: str | None = None
    offline: bool = False
    script: str | None = None
    """An absolute path: `resume` may run from elsewhere."""
    user: str = "cli"
    roles: list[str] = field(default_factory=list)
    workdir: str | None = None
    """Where the agent's module was imported from."""


def folder_of(store: Path) -> Path:
    """Where the commands of the runs in `store` are kept."""
    return store.parent / "cli-runs"


def save(store: Path, run_id: str, command: SavedCommand) -> None:
    """Keep `command` for `run_id` (0600, in a 0700 folder)."""
    target = _path(store, run_id)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(command), out)


def load(store: Path, run_id: str) -> SavedCommand:
    """The command that started `run_id`.

    Raises:
        RunStateError: no `agentkit run` with this store started that run.
    """
    path = _path(store, run_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return SavedCommand(**data)
    except FileNotFoundError:
        raise RunStateError(
            f"run {run_id!r} was not started by `agentkit run` with this store "
            f"({store}); resume it from the code that started it (Agent.resume)"
        ) from None
    except (ValueError, TypeError) as exc:
        raise RunStateError(f"the saved command of run {run_id!r} is unreadable: {exc}") from exc


def _path(store: Path, run_id: str) -> Path:
    if _RUN_ID.fullmatch(run_id) is None:
        raise ConfigError(f"{run_id!r} is not a run id")
    return folder_of(store) / f"{run_id}.json"
