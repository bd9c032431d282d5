"""Stage: check a final answer against the agent's output type, and ask once to correct it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


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
