"""Structured output: a pydantic model as a strict `text.format` json_schema.

The answer is validated locally (model output is untrusted input). One corrective retry
sends the bad answer back with the validation errors; a second failure is an error.
Imported lazily by `XAIClient.structured`, so pydantic stays off the import path.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agentkit.errors import ConfigError, ModelBehaviorError
from agentkit.json_schema import strict_schema
from agentkit.model.outcome import incomplete_error
from agentkit.model.types import Item, ModelClient, ModelRequest, ModelResponse

OutputT = TypeVar("OutputT", bound=BaseModel)


def answer_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of `model` in strict form, its root an object.

    Every object lists all its properties as required and forbids others, recursively;
    defaults are dropped (the model must always send every field).
    """
    schema = model.model_json_schema()
    ref = schema.get("$ref")
    if isinstance(ref, str) and "type" not in schema:
        # a self-referencing model puts its root behind a $ref: inline it, keep the $defs
        name = ref.rsplit("/", 1)[-1]
        schema = {**schema.get("$defs", {}).get(name, {}), "$defs": schema.get("$defs", {})}
    if schema.get("type") != "object":
        raise ConfigError(f"{model.__name__}: a structured output schema must be an object")
    return strict_schema(schema, drop=("default",))


def text_format(model: type[BaseModel]) -> dict[str, Any]:
    """The `text.format` entry asking for `model` as strict JSON."""
    return {
        "type": "json_schema",
        "name": model.__name__,
        "schema": answer_schema(model),
        "strict": True,
    }


def _validate(response: ModelResponse, model: type[OutputT]) -> OutputT | str:
    """The parsed output, or a description of what was wrong with it."""
    problem = structured_problem(response.text, model)
    return model.model_validate_json(response.text) if problem is None else problem


def _correction(request: ModelRequest, response: ModelResponse, problem: str) -> ModelRequest:
    message: Item = correction_message(problem)
    if request.previous_response_id is not None:
        return dataclasses.replace(request, previous_response_id=response.id, input=[message])
    return dataclasses.replace(request, input=[*request.input, *response.output, message])


async def respond_structured(
    client: ModelClient, request: ModelRequest, model: type[OutputT]
) -> OutputT:
    """Ask `client` for an answer matching `model`, with one corrective retry."""
    request = dataclasses.replace(request, text_format=text_format(model))
    response = await _whole(client, request)
    result = _validate(response, model)
    if isinstance(result, BaseModel):
        return result
    response = await _whole(client, _correction(request, response, result))
    second = _validate(response, model)
    if isinstance(second, BaseModel):
        return second
    raise ModelBehaviorError(
        f"the answer does not match {model.__name__} after one correction: {second[:1000]}",
        request_id=response.request_id,
        attempts=2,
    )


async def _whole(client: ModelClient, request: ModelRequest) -> ModelResponse:
    """The answer, unless it stopped short: a cut JSON text is not worth a correction."""
    response = await client.respond(request)
    error = incomplete_error(response)
    if error is not None:
        raise error
    return response


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
