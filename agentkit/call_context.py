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

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallContext:
    run_id: str
    call_id: str

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
