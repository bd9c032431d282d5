"""`agentkit resume RUN_ID`: continue a run `agentkit run` stored when it paused.

The decisions people recorded (`agentkit approvals approve|deny`) are applied, the approved
calls run, and the run goes on with the same agent, model and principal it started with.
Calls still undecided keep it paused (exit 10). Exit codes: `agentkit.cli.run_outcome`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agentkit.cli.run_command import add_run_options, execute
from agentkit.errors import RunStateError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "resume",
        help="continue a paused run with the decisions recorded for it",
        description="Exit codes: 0 completed, 11 completed with a call denied or declined, "
        "10 still paused (some calls undecided), 1 failed, 2 a usage mistake.",
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="the run `agentkit run` paused")
    add_run_options(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return resume(args.run_id, args)


def resume(run_id: str, args: argparse.Namespace) -> int:
    """Resume `run_id` from the store `args.store`; print and exit as `agentkit run` does."""
    from agentkit.approval_store import ApprovalStore
    from agentkit.cli import saved_runs
    from agentkit.cli.launch import principal_of

    store = ApprovalStore(args.store)
    state = store.load(run_id)
    if state.called_by is not None:
        raise RunStateError(
            f"run {run_id} is one call a {state.called_by} client made (agentkit mcp serve): "
            "it runs, once approved, when the client makes the same call again"
        )
    command = saved_runs.load(Path(store.path), run_id)
    decisions = store.decisions(run_id)

    def start(agent: Any, events: Any) -> Any:
        return agent.resume(state, decisions, principal=principal_of(command), events=events)

    return execute(command, args, start, store)
