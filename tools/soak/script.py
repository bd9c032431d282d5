"""The soak's fake model: turns chosen from the request itself, with faults at a set rate.

A turn depends only on the request body and the seed, so a retried request (the same
body) meets the same turn, and its fault's ``times`` decides whether a retry recovers
(1) or the client gives up (more attempts than the client makes).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from agentkit.testing import Fault, Turn

SLOW_TICKET = 17
"""ticket_id that makes the soak's lookup tool outlive its timeout."""
FAILING_TICKET = 13
"""ticket_id that makes the soak's lookup tool raise."""
SANDBOX_SHARE = 0.5
"""Of the first turns offered the sandbox tool, the share that calls it."""
PERSISTENT_SHARE = 0.3
"""Of HTTP faults, the share repeated past the client's retries (the run fails, typed)."""
PERSISTENT_TIMES = 9


def _http_faults() -> list[Fault]:
    return [
        Fault.http(429, retry_after=0.01),
        Fault.http(500),
        Fault.http(503),
        Fault.drop(),
    ]


def _rng(body: dict[str, Any], seed: int) -> random.Random:
    text = repr(body.get("input")) + repr(body.get("messages"))
    digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _tool_names(body: dict[str, Any]) -> set[str]:
    return {t.get("name", "") for t in body.get("tools") or [] if isinstance(t, dict)}


def _answered(body: dict[str, Any]) -> bool:
    items = body.get("input")
    if not isinstance(items, list):
        return False
    return any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items)


class SoakModel:
    """Turn function for `FakeXAI`: a tool call, then an answer; faults at ``rate``."""

    def __init__(self, rate: float, seed: int = 0) -> None:
        self.rate = rate
        self.seed = seed

    def __call__(self, body: dict[str, Any]) -> Turn:
        rng = _rng(body, self.seed)
        turn = (
            Turn.text("Done: the ticket is handled.") if _answered(body) else self._call(body, rng)
        )
        if rng.random() >= self.rate:
            return turn
        return turn.with_fault(
            self._fault(rng, calls=turn.has_calls, stream=bool(body.get("stream")))
        )

    def _call(self, body: dict[str, Any], rng: random.Random) -> Turn:
        if "run_python" in _tool_names(body) and rng.random() < SANDBOX_SHARE:
            hang = rng.random() < self.rate * 4
            code = "while True:\n    pass\n" if hang else "print(6 * 7)\n"
            return Turn.call("run_python", {"code": code})
        ticket = 1
        if rng.random() < self.rate * 2:
            ticket = rng.choice([FAILING_TICKET, SLOW_TICKET])
        return Turn.call("lookup_ticket", {"ticket_id": ticket})

    def _fault(self, rng: random.Random, *, calls: bool, stream: bool) -> Fault:
        kinds: list[Fault] = [*_http_faults(), Fault.malformed_body()]
        if calls:
            kinds += [Fault.malformed_arguments(), Fault.invalid_arguments()]
        if stream:
            kinds.append(Fault.truncate_stream(after_events=2))
        fault = rng.choice(kinds)
        persistent = fault.kind in ("http", "drop") and rng.random() < PERSISTENT_SHARE
        return Fault(**{**_fields(fault), "times": PERSISTENT_TIMES if persistent else 1})


def _fields(fault: Fault) -> dict[str, Any]:
    return {name: getattr(fault, name) for name in fault.__slots__}  # type: ignore[attr-defined]
