"""Whether an answer is whole: an `incomplete` one is never taken as the answer.

xAI answers `status: "incomplete"` when it stopped short: the visible output reached
`max_output_tokens`, the prompt `max_prompt_tokens`, or the time limit ran out
(`incomplete_details.reason`). The text is a fragment; function calls in it may be cut.
"""

from __future__ import annotations

from agentkit.errors import ResponseIncomplete
from agentkit.model.types import ModelResponse

_ADVICE = {
    "max_output_tokens": "raise max_output_tokens or ask for a shorter answer",
    "max_prompt_tokens": "the conversation is too long for the model: shorten it",
    "max_time_limit": "the model ran out of time: ask for less, or lower the reasoning effort",
}


def incomplete_error(response: ModelResponse) -> ResponseIncomplete | None:
    """The error to raise for `response` when it stopped short, else None."""
    if response.status != "incomplete":
        return None
    reason = response.incomplete_reason
    advice = _ADVICE.get(reason or "", "see the response's incomplete_details")
    return ResponseIncomplete(
        f"the model's answer is incomplete ({reason or 'no reason given'}): {advice} "
        f"(request {response.request_id})",
        reason=reason,
        partial_text=response.text,
        request_id=response.request_id,
    )
