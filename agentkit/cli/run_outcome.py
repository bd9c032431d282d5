"""What `agentkit run` and `agentkit resume` do when a run stops, and what they exit with.

| exit | the run                                                                   |
|------|---------------------------------------------------------------------------|
| 0    | completed                                                                 |
| 11   | completed, but the policy denied a call or a person declined one          |
| 10   | paused: calls wait for a person (`agentkit approvals`, then `resume`)     |
| 1    | failed: the transcript up to the failure is printed, the error last       |

Errors before a run starts keep their own codes (2 a usage or configuration mistake).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from agentkit.approval_store import ApprovalStore
    from agentkit.cli.saved_runs import SavedCommand
    from agentkit.state import RunResult

COMPLETED = 0
FAILED = 1
DENIED = 11
PAUSED = 10
_REFUSED = frozenset({"denied", "declined"})


def exit_code(run: RunResult) -> int:
    """The documented exit code of a run in `run.status`."""
    if run.status == "awaiting_approval":
        return PAUSED
    if run.status == "failed":
        return FAILED
    if any(step.status in _REFUSED for step in run.steps):
        return DENIED
    return COMPLETED


def finish(
    run: RunResult,
    *,
    store: ApprovalStore,
    command: SavedCommand,
    as_json: bool,
    out: TextIO | None = None,
    streamed: bool = False,
) -> int:
    """Store a paused run (with how it was started), print the ending, return the exit code;
    `streamed`: the answer was printed as it streamed."""
    from agentkit.cli import saved_runs
    from agentkit.transcript import Transcript, use_colour

    stream = out or sys.stdout
    if run.status == "awaiting_approval":
        store.save(run)
        saved_runs.save(Path(store.path), run.run_id, command)
    if as_json:
        stream.write(json.dumps(json.loads(run.to_json()), indent=2) + "\n")
    else:
        transcript = Transcript(colour=use_colour(stream))
        for line in transcript.ending(run, answer=not streamed):
            stream.write(line + "\n")
        if run.status == "awaiting_approval":
            stream.write(next_steps(run, store) + "\n")
    return exit_code(run)


def next_steps(run: RunResult, store: ApprovalStore) -> str:
    """How a person decides the paused calls and continues the run, as commands."""
    store_option = "" if _is_default(store) else f" --store {store.path}"
    first = run.pending[0].approval_id if run.pending else "APPROVAL_ID"
    return "\n".join(
        [
            f"stored in {store.path}: {len(run.pending)} call(s) wait for a person",
            f"  see:      agentkit approvals{store_option} show {first}",
            f"  decide:   agentkit approvals{store_option} approve {first}   (or deny)",
            f"  continue: agentkit resume{store_option} {run.run_id}",
        ]
    )


def _is_default(store: ApprovalStore) -> bool:
    from agentkit.approval_store import DEFAULT_STORE_PATH

    return Path(store.path) == Path(DEFAULT_STORE_PATH)
