"""Stage answer: check a final answer against the agent's output type; ask once to correct it."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from agentkit.errors import ModelBehaviorError
from agentkit.model.json_answer import correction_message, structured_problem
from agentkit.model.types import ModelResponse
from agentkit.state import RunResult


def check_answer(
    run: RunResult, response: ModelResponse, output_type: type[BaseModel]
) -> dict[str, Any] | None:
    """None when the answer conforms (and is parsed onto the run), else the correction to send.

    Raises:
        ModelBehaviorError: the answer still does not conform after one correction.
    """
    problem = structured_problem(response.text, output_type)
    if problem is None:
        run.structured = json.loads(response.text)
        return None
    if run.corrections >= 1:
        raise ModelBehaviorError(
            f"the answer does not match {output_type.__name__} after one correction: "
            f"{problem[:1000]}",
            request_id=response.request_id,
        )
    return correction_message(problem)
