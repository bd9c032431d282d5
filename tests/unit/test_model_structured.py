"""Structured output: strict schema, local validation, one corrective retry."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

from agentkit.errors import ConfigError, ModelBehaviorError
from agentkit.model import ModelRequest, XAIClient
from agentkit.model.json_answer import answer_schema


class Address(BaseModel):
    city: str
    zip_code: str | None = None


class Person(BaseModel):
    name: str
    age: int = 0
    addresses: list[Address] = []


class Node(BaseModel):
    label: str
    children: list[Node] = []


def _objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


@pytest.mark.parametrize("model", [Person, Node])
def test_answer_schema_requires_everything_and_forbids_extras(model: type[BaseModel]) -> None:
    schema = answer_schema(model)
    assert schema["type"] == "object"
    objects = _objects(schema)
    assert len(objects) >= 2  # the root and a nested object
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])
    assert "default" not in json.dumps(schema)


def test_a_non_object_root_is_refused() -> None:
    class Weird(BaseModel):
        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return {"anyOf": [{"type": "string"}, {"type": "integer"}]}

    with pytest.raises(ConfigError, match="object"):
        answer_schema(Weird)


def _answer(text: str, response_id: str) -> dict[str, Any]:
    return {
        "id": response_id,
        "model": "grok-4-1-fast-non-reasoning",
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": f"msg_{response_id}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            },
        ],
    }


def _client(*texts: str) -> tuple[XAIClient, list[dict[str, Any]]]:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json=_answer(texts[len(bodies) - 1], f"r{len(bodies)}"))

    return XAIClient(api_key="xai-k", transport=httpx2.MockTransport(handler)), bodies


REQUEST = ModelRequest(
    model="grok-4-1-fast-non-reasoning", input=[{"role": "user", "content": "who?"}]
)
GOOD = '{"name": "Ada", "age": 36, "addresses": [{"city": "London", "zip_code": null}]}'


async def test_valid_answer_is_parsed_with_a_strict_format() -> None:
    client, bodies = _client(GOOD)
    person = await client.structured(REQUEST, Person)
    assert person == Person(name="Ada", age=36, addresses=[Address(city="London")])
    fmt = bodies[0]["text"]["format"]
    assert (fmt["type"], fmt["name"], fmt["strict"]) == ("json_schema", "Person", True)
    assert fmt["schema"] == answer_schema(Person)


async def test_one_corrective_retry_sends_the_bad_answer_back() -> None:
    client, bodies = _client('{"name": "Ada", "age": "old"}', GOOD)
    person = await client.structured(REQUEST, Person)
    assert person.name == "Ada"
    second = bodies[1]["input"]
    assert second[0] == {"role": "user", "content": "who?"}
    assert second[1]["type"] == "message"
    assert second[1]["content"][0]["text"] == '{"name": "Ada", "age": "old"}'
    assert second[2]["role"] == "user"
    assert "age" in second[2]["content"]


async def test_two_bad_answers_are_a_behaviour_error() -> None:
    client, bodies = _client("not json", "still not json", GOOD)
    with pytest.raises(ModelBehaviorError, match="Person after one correction"):
        await client.structured(REQUEST, Person)
    assert len(bodies) == 2


async def test_correction_continues_a_stored_conversation_by_id() -> None:
    client, bodies = _client("{}", GOOD)
    stored = ModelRequest(model=REQUEST.model, input=[], previous_response_id="r0")
    await client.structured(stored, Person)
    assert bodies[1]["previous_response_id"] == "r1"
    assert len(bodies[1]["input"]) == 1
