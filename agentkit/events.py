"""What a run reports as it goes: typed, ordered, serialisable events.

`Agent.stream()` yields them; the CLI's live transcript is built on them. Each stage of a
run the audit log records is one event, with the same name and the same fields, redacted
by the same rules (secrets never appear; unlike the audit's default, prompts and outputs
are kept: the caller is the run's own application), plus the run's context. The last
event of a stream is always ``run.result``, carrying the run's state.

```python
async for event in agent.stream("close ticket 7"):
    if event.type == "call.decided":
        print(event.tool, event.data["action"], event.data["rule"])
    elif event.type == "run.result":
        result = event.result
```
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from agentkit.state import RunResult

EventType = Literal[
    "run.started",
    "run.resumed",
    "run.paused",
    "run.ended",
    "model.request",
    "model.delta",
    "model.response",
    "call.requested",
    "call.validated",
    "call.invalid",
    "call.decided",
    "approval.requested",
    "approval.decided",
    "call.progress",
    "call.executed",
    "call.failed",
    "call.timed_out",
    "run.result",
    "run.interrupted",
]
"""Every event type, in the vocabulary of the audit log; ``model.delta`` (a piece of the
answer's text as it streams, with ``RunConfig(stream=True)``) and ``run.result`` (the
stream's last event) are the stream's own, and ``run.interrupted`` the service's (the
worker driving the run died where continuing on its own could repeat a call)."""

_CONTEXT = ("run_id", "turn", "principal", "call_id", "tool", "request_id")


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One thing that happened in a run.

    Attributes:
        type: what happened (`EventType`).
        run_id: the run it happened in.
        seq: its place in the run's stream, from 1 (a resumed run's stream starts again).
        turn: the model turn it belongs to.
        call_id: the call it is about, for ``call.*`` and ``approval.*`` events.
        tool: that call's tool.
        data: the event's own fields, as the audit log records them (redacted).
        result: the run's state; only on ``run.result``.
    """

    type: EventType
    run_id: str
    seq: int
    turn: int = 0
    call_id: str | None = None
    tool: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    result: RunResult | None = None

    @classmethod
    def result_of(cls, run: RunResult, seq: int = 0) -> RunEvent:
        """The ``run.result`` event that ends the stream of a run that stopped."""
        data = {"status": run.status}
        return cls(type="run.result", run_id=run.run_id, seq=seq, turn=run.turn, data=data,
                   result=run)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-plain, for the wire: ``data`` as recorded, and the state of ``run.result``
        redacted by the default rules (`result` itself is the run's own, unredacted state,
        as `Agent.run` returns it)."""
        out: dict[str, Any] = {
            "type": self.type,
            "run_id": self.run_id,
            "seq": self.seq,
            "turn": self.turn,
            "data": dict(self.data),
        }
        if self.call_id is not None:
            out["call_id"] = self.call_id
            out["tool"] = self.tool
        if self.result is not None:
            from agentkit.audit.redact import Redactor

            state = _without_inline_data(self.result.model_dump(mode="json"))
            out["result"] = Redactor().redact(state, include_prompts=True)
        return out


def _without_inline_data(value: Any) -> Any:
    """The state with each inline ``data:`` URL (an image given to the run) cut to its
    type and digest: the wire and the service's store get what the image was, not its
    bytes; the sealed state keeps them to resume from."""
    if isinstance(value, dict):
        return {key: _without_inline_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_inline_data(item) for item in value]
    if isinstance(value, str) and value.startswith("data:") and ";base64," in value[:80]:
        head, _, body = value.partition(";base64,")
        digest = hashlib.sha256(body.encode("ascii", "replace")).hexdigest()[:16]
        return f"{head};base64,<{len(body)} characters left out; sha256 of them {digest}...>"
    return value


class EventSink(Protocol):
    """Takes each event of a run as it happens (it must not block)."""

    def __call__(self, event: RunEvent) -> None: ...


def split_context(fields: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An audit record's fields as (context, the event's own data)."""
    context = {k: fields[k] for k in _CONTEXT if k in fields}
    data = {k: v for k, v in fields.items() if k not in _CONTEXT}
    return context, data
