"""Which call a tool is running for: its run, its call id, and an idempotency key.

```python
@tool(side_effect="financial")
async def pay(amount: int) -> str:
    key = idempotency_key()          # "<run id>:<call id>", the same whenever this call runs
    return await bank.transfer(amount, idempotency_key=key)
```

A tool that changes something outside can hand the key to the system it calls (most
payment and ticket APIs take one), or record it and do nothing the second time: a call
run again for the same run and call (a retry after a crash) then changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from agentkit.decision import Principal


@dataclass(frozen=True, slots=True)
class CallContext:
    run_id: str
    call_id: str
    principal: Principal = field(default_factory=Principal)
    """Whom the run is for (a tool that records provenance names them)."""
    report: Callable[[str, Mapping[str, Any]], None] | None = field(default=None, compare=False)
    """Tells the run how the call is going (`report_progress`)."""

    @property
    def idempotency_key(self) -> str:
        return f"{self.run_id}:{self.call_id}"


CURRENT_CALL: ContextVar[CallContext | None] = ContextVar("agentkit_current_call", default=None)


def current_call() -> CallContext | None:
    """The call the running tool serves; None outside a run's tool call."""
    return CURRENT_CALL.get()


def idempotency_key() -> str | None:
    """``<run id>:<call id>`` of the call the running tool serves (None outside one)."""
    call = CURRENT_CALL.get()
    return call.idempotency_key if call is not None else None


def report_progress(stage: str, **detail: Any) -> None:
    """Tell the run how the running call is going: a ``call.progress`` event for its
    subscribers and a record in its audit log (``stage`` such as ``pending``, ``done``;
    `detail` JSON-plain, redacted like every record). Does nothing outside a run's call."""
    call = CURRENT_CALL.get()
    if call is not None and call.report is not None:
        call.report(stage, detail)
