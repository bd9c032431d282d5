"""One worker process of `agentkit serve`: the app built from what the command was given.

With ``--workers N`` uvicorn starts N processes that each import `app_from_environment`
(a factory, so each builds its own agent, model client and store connections); the
command's options reach them in `CONFIG_VARIABLE` as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from typing import Any

CONFIG_VARIABLE = "AGENTKIT_SERVE_CONFIG"


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker of one `agentkit serve` needs."""

    target: str
    offline: bool
    workdir: str
    store: str
    tokens: str
    runs: str | None = None
    lease: float | None = None

    def to_environment(self) -> None:
        os.environ[CONFIG_VARIABLE] = json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> WorkerConfig:
        from agentkit.errors import ConfigError

        text = os.environ.get(CONFIG_VARIABLE)
        if not text:
            raise ConfigError(f"{CONFIG_VARIABLE} is not set: start workers with agentkit serve")
        return cls(**json.loads(text))


_RESOURCES = ExitStack()  # the offline model server lives as long as the worker


def build_app(config: WorkerConfig) -> Any:
    """The service app for `config` (its offline model server, if any, runs until exit)."""
    from agentkit.approval_store import ApprovalStore
    from agentkit.audit.default_log import default_audit_log
    from agentkit.cli.launch import launch
    from agentkit.cli.saved_runs import SavedCommand
    from agentkit.serve import TokenAuthenticator, TokenStore, create_app
    from agentkit.serve.run_store import LEASE_SECONDS, default_run_store_path, open_run_store

    command = SavedCommand(target=config.target, offline=config.offline, workdir=config.workdir)
    store = ApprovalStore(config.store)
    launched = launch(
        command, _RESOURCES, store=store, audit=default_audit_log(), notices=sys.stderr
    )
    return create_app(
        launched.agent,
        store=store,
        authenticator=TokenAuthenticator(TokenStore(config.tokens)),
        runs=open_run_store(
            config.runs or default_run_store_path(config.store),
            lease_seconds=config.lease or LEASE_SECONDS,
        ),
    )


def app_from_environment() -> Any:
    """uvicorn's factory for each worker process."""
    return build_app(WorkerConfig.from_environment())
