"""Requests the real API refuses are refused by the fake, with the same status and flat body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from agentkit.testing import FakeXAI

FUNCTION = {"type": "function", "name": "f", "parameters": {"type": "object"}}


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=FakeXAI().transport(), base_url="http://f/v1") as http:
        yield http


def responses(**fields: Any) -> dict[str, Any]:
    return {"model": "grok-4-1-fast-non-reasoning", "input": "hi", **fields}


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"input": "hi"}, 422, "missing field `model`"),
        ({"model": "grok-4"}, 422, "missing field `input`"),
        (responses(model="grok-4", stop=["x"]), 400, "not supported on this model: stop"),
        (responses(model="grok-3-mini", presence_penalty=1), 400, "presence_penalty"),
        (responses(model="grok-4", reasoning={"effort": "low"}), 400, "reasoningEffort"),
        (responses(temperature=2.5), 400, "temperature"),
        (responses(background=True), 400, "background"),
        (responses(tools=[FUNCTION] * 351), 400, "maximum of 350 tools"),
        (
            responses(tools=[{"type": "function", "name": "g", "parameters": {"anyOf": []}}]),
            400,
            "root",
        ),
        (
            responses(tools=[{"type": "function", "name": "g", "parameters": {"type": "array"}}]),
            400,
            "root must be type object",
        ),
        (
            responses(
                tools=[{"type": "web_search", "allowed_domains": ["a"], "excluded_domains": ["b"]}]
            ),
            400,
            "cannot be set together",
        ),
        (
            responses(tools=[{"type": "web_search", "allowed_domains": list("abcdef")}]),
            400,
            "at most 5",
        ),
        (responses(tool_choice={"type": "web_search"}), 400, "cannot be forced"),
        ([1, 2], 422, "expected an object"),
    ],
)
async def test_refused_like_the_real_api(
    client: httpx2.AsyncClient, body: Any, status: int, words: str
) -> None:
    refused = await client.post("/responses", json=body)
    assert refused.status_code == status
    data = refused.json()
    assert set(data) == {"code", "error"}
    assert words in data["error"]


async def test_accepted_parameters_pass(client: httpx2.AsyncClient) -> None:
    accepted = responses(
        model="grok-3-mini", reasoning={"effort": "high"}, temperature=0.2, tools=[FUNCTION]
    )
    assert (await client.post("/responses", json=accepted)).status_code == 200


async def test_body_that_is_not_json_is_a_400(client: httpx2.AsyncClient) -> None:
    refused = await client.post(
        "/responses", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "Client specified an invalid argument"


async def test_body_not_sent_as_json_is_a_415(client: httpx2.AsyncClient) -> None:
    refused = await client.post("/responses", content=b"{}", headers={"content-type": "text/plain"})
    assert refused.status_code == 415
