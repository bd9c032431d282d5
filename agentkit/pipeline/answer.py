"""Stage answer: check a final answer against the agent's output type; ask once to correct it."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from agentkit.errors import ModelBehaviorError
from agentkit.model.types import ModelResponse
from agentkit.state import RunResult


def structured_problem(text: str, model: type[BaseModel]) -> str | None:
    """What is wrong with `text` as a `model`, or None when it conforms."""
    if not text.strip():
        return "the answer contained no text"
    try:
        model.model_validate_json(text)
    except ValidationError as exc:
        return str(exc)
    return None


def correction_message(problem: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": (
            "Your previous answer does not match the required JSON schema:\n"
            f"{problem}\nAnswer again with only one JSON object that matches the schema."
        ),
    }


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
