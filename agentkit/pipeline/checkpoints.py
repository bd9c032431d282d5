"""Where a run can be taken up again if the process driving it dies.

A `Checkpoints` given to a run is told, and awaited, at the two moments that matter for
continuing it elsewhere: at the start of each model turn (the state then is complete: every
output of the turn before is in the conversation, so continuing from it repeats only a
model request), and just before a call that changes something outside runs (after that,
until the next turn starts, continuing could run the call twice: a person must look).
The service (`agentkit.serve`) keeps both in its store; `Runner.continue_from` continues.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agentkit.state import RunResult, Step


@runtime_checkable
class Checkpoints(Protocol):
    """Receives a run's safe points."""

    async def turn_starting(self, run_id: str, state: str) -> None:
        """The run as JSON (sealed, status ``running``), about to ask the model again. May
        return before the state is kept, if `effect_starting` then waits for it too."""

    async def effect_starting(self, run: RunResult, step: Step) -> None:
        """`step`'s call (not a read) is about to run: return once that is kept (with every
        checkpoint before it); the call runs after."""
