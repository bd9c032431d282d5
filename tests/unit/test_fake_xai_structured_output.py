"""The offline model answers structured output requests with JSON that fits the schema.

With no script, a request whose ``text.format`` (Responses) or ``response_format`` (Chat)
is a ``json_schema`` gets an answer that validates against it: an agent's `output_type`
and the openai SDK's ``parse`` work offline, as tool arguments always did.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, create_model

from agentkit import Agent
from agentkit.testing import FakeXAI, scripted_client, serve_in_thread

FIELD_TYPES: list[Any] = [
    int,
    str,
    bool,
    float,
    Literal["low", "high"],
    list[str],
    int | None,
    dict[str, int],
    tuple[int, str],
]


def bounded() -> st.SearchStrategy[Any]:
    return st.builds(
        lambda low, span: (int, Field(ge=low, le=low + span)),
        st.integers(-50, 50),
        st.integers(0, 10),
    )


def models(depth: int = 0) -> st.SearchStrategy[type[BaseModel]]:
    plain = st.sampled_from(FIELD_TYPES).map(lambda t: (t, ...))
    kinds = [plain, bounded(), st.sampled_from(FIELD_TYPES).map(lambda t: (list[t], ...))]
    if depth < 2:
        kinds.append(models(depth + 1).map(lambda m: (m, ...)))
    fields = st.dictionaries(
        st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True), st.one_of(kinds), min_size=1, max_size=5
    )
    return fields.map(lambda f: create_model(f"Out{depth}", **f))  # type: ignore[call-overload]


@settings(max_examples=60, deadline=None)
@given(models())
def test_an_agents_output_type_is_answered_offline(model: type[BaseModel]) -> None:
    agent_class = type("Structured", (Agent,), {"output_type": model})
    agent = agent_class(client=scripted_client(), audit=None, policy=_allow_all())
    result = agent.run_sync("give me the record")
    assert result.status == "completed"
    model.model_validate_json(result.output or "")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(FakeXAI()) as server:
        yield str(server.base_url)


class Verdict(BaseModel):
    severity: Literal["low", "high"]
    score: int = Field(ge=1, le=5)
    tags: list[str]
    note: str | None


def test_the_openai_sdks_parse_works_offline(base_url: str) -> None:
    import openai

    client = openai.OpenAI(api_key="offline", base_url=base_url)
    parsed = client.responses.parse(model="grok-4", input="triage", text_format=Verdict)
    assert isinstance(parsed.output_parsed, Verdict)
    chat = client.chat.completions.parse(
        model="grok-4", messages=[{"role": "user", "content": "triage"}], response_format=Verdict
    )
    assert isinstance(chat.choices[0].message.parsed, Verdict)


def test_json_object_is_an_object_carrying_the_text(base_url: str) -> None:
    import openai

    client = openai.OpenAI(api_key="offline", base_url=base_url)
    answer = client.responses.create(
        model="grok-4", input="hi", text={"format": {"type": "json_object"}}
    )
    assert json.loads(answer.output_text)["answer"].startswith("Hello from the offline")


def test_plain_text_stays_text(base_url: str) -> None:
    import openai

    client = openai.OpenAI(api_key="offline", base_url=base_url)
    answer = client.responses.create(model="grok-4", input="hi")
    assert answer.output_text.startswith("Hello from the offline test model")


PROGRAM = """
import asyncio, httpx2
from agentkit import Agent, AllowAll
from agentkit.model import XAIClient
from agentkit.testing import FakeXAI, serve_in_thread

class A(Agent):
    policy = AllowAll()

with serve_in_thread(FakeXAI()) as server:
    client = XAIClient(api_key="k", base_url=server.base_url)
    A(client=client, audit=None).run_sync("one")       # a kept-alive connection stays open
    A(client=client, audit=None).run_sync("two")       # the client works in a second loop
    httpx2.get(server.base_url + "/models")
print("done")
"""


def test_a_clean_shutdown_prints_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", PROGRAM],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"
    assert done.stderr == ""


def _allow_all() -> Any:
    from agentkit import AllowAll

    return AllowAll()
