"""Which turn answers a request: scripts, turn functions, the offline model, concurrency."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from agentkit.errors import ConfigError
from agentkit.testing import FakeXAI, Fault, Script, Turn
from agentkit.testing.behaviour import count_model_turns

TOOLS = [
    {
        "type": "function",
        "name": "step",
        "parameters": {
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
        },
    }
]
SCRIPT = Script([Turn.call("step", {"n": 1}), Turn.call("step", {"n": 2}), Turn.text("finished")])


def request(items: list[dict[str, Any]] | str, **fields: Any) -> dict[str, Any]:
    return {"model": "grok-4-1-fast-non-reasoning", "input": items, "tools": TOOLS, **fields}


async def run_conversation(http: httpx2.AsyncClient, name: str) -> list[str]:
    """A stateless client: resend the whole history each turn; return what the model did."""
    items: list[dict[str, Any]] = [{"role": "user", "content": name}]
    seen = []
    for _ in range(5):
        data = (await http.post("/responses", json=request(items))).json()
        items += data["output"]
        calls = [i for i in data["output"] if i["type"] == "function_call"]
        if not calls:
            seen.append(data["output"][-1]["content"][0]["text"])
            return seen
        for call in calls:
            seen.append(call["arguments"])
            await asyncio.sleep(0)  # let the other conversations interleave
            result = {"type": "function_call_output", "call_id": call["call_id"], "output": name}
            items.append(result)
    return seen


async def test_concurrent_conversations_each_follow_the_script() -> None:
    fake = FakeXAI(SCRIPT)
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        runs = await asyncio.gather(*(run_conversation(http, f"run {i}") for i in range(50)))
    expected = ['{"n":1}', '{"n":2}', "finished"]
    assert runs == [expected] * 50
    assert fake.count() == 150


async def test_chained_conversations_follow_the_script() -> None:
    fake = FakeXAI(SCRIPT)

    async def chained(http: httpx2.AsyncClient) -> list[str]:
        data = (await http.post("/responses", json=request("go"))).json()
        seen = [data["output"][0]["arguments"]]
        for _ in range(2):
            call_id = data["output"][0].get("call_id", "")
            output = [{"type": "function_call_output", "call_id": call_id, "output": "ok"}]
            follow = request(output, previous_response_id=data["id"])
            data = (await http.post("/responses", json=follow)).json()
            first = data["output"][0]
            seen.append(first.get("arguments") or first["content"][0]["text"])
        return seen

    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        runs = await asyncio.gather(*(chained(http) for _ in range(20)))
    assert runs == [['{"n":1}', '{"n":2}', "finished"]] * 20


def test_foreign_history_counts_runs_of_model_items() -> None:
    items = [
        {"role": "user", "content": "hi"},
        {"type": "function_call", "call_id": "a", "name": "x", "arguments": "{}"},
        {"type": "function_call", "call_id": "b", "name": "x", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "a", "output": "1"},
        {"type": "function_call_output", "call_id": "b", "output": "2"},
        {"role": "assistant", "content": "done"},
        {"role": "user", "content": "again"},
    ]
    assert count_model_turns(items, lambda _: None) == 2


def test_known_ids_group_interleaved_parallel_calls() -> None:
    items = [
        {"type": "function_call", "call_id": "a", "name": "x", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "a", "output": "1"},
        {"type": "function_call", "call_id": "b", "name": "x", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "b", "output": "2"},
    ]
    origins = {"a": "response-1", "b": "response-1"}
    assert count_model_turns(items, origins.get) == 1
    assert count_model_turns(items, lambda _: None) == 2


async def test_exhausted_script_is_a_clear_400() -> None:
    fake = FakeXAI(Script([Turn.text("only")]))
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "only"}]
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        refused = await http.post("/responses", json=request(history))
    assert refused.status_code == 400
    assert "script exhausted" in refused.json()["error"]


async def test_turn_function_sees_the_request() -> None:
    def answer(body: dict[str, Any]) -> Turn:
        return Turn.text(f"you asked {body['input']} of {body['model']}")

    fake = FakeXAI(answer)
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        data = (await http.post("/responses", json=request("ping"))).json()
    text = data["output"][0]["content"][0]["text"]
    assert text == "you asked ping of grok-4-1-fast-non-reasoning"


@pytest.mark.parametrize("result", [RuntimeError("boom"), "not a turn"])
async def test_broken_turn_function_is_a_500(result: Any) -> None:
    def answer(body: dict[str, Any]) -> Any:
        if isinstance(result, Exception):
            raise result
        return result

    fake = FakeXAI(answer)
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        response = await http.post("/responses", json=request("ping"))
    assert response.status_code == 500
    assert "turn function" in response.json()["error"]


async def test_offline_model_calls_then_reports_then_chats() -> None:
    fake = FakeXAI()
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        first = (await http.post("/responses", json=request("hi"))).json()
        call = first["output"][0]
        assert json.loads(call["arguments"]) == {"n": 1}
        result = {"type": "function_call_output", "call_id": call["call_id"], "output": "42 apples"}
        second = (await http.post("/responses", json=request([call, result]))).json()
        chat = (await http.post("/responses", json={"model": "m", "input": "hello there"})).json()
    assert "42 apples" in second["output"][0]["content"][0]["text"]
    assert "hello there" in chat["output"][0]["content"][0]["text"]


async def test_offline_model_honours_a_forced_tool() -> None:
    tools = [*TOOLS, {"type": "function", "name": "other", "parameters": {"type": "object"}}]
    forced = request("hi", tools=tools, tool_choice={"type": "function", "name": "other"})
    fake = FakeXAI()
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://f/v1") as http:
        data = (await http.post("/responses", json=forced)).json()
    assert data["output"][0]["name"] == "other"


SCRIPT_YAML = """
turns:
  - call: lookup_ticket
    arguments: {ticket_id: 42}
  - calls:
      - {name: a, arguments: {x: 1}}
      - {name: b}
  - search:
      kind: x
      query: grok news
      results: [{url: "https://x.com/xai/status/1", title: "post"}]
      text: Grok shipped.
  - text: done
    reasoning: checked twice
    fault: {kind: http, status: 503, times: 2}
"""


def test_script_loads_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(SCRIPT_YAML)
    script = Script.load(path)
    assert len(script) == 4
    assert script[0] == Turn.call("lookup_ticket", {"ticket_id": 42})
    assert [c.name for c in script[1].function_calls] == ["a", "b"]
    assert script[1].function_calls[1].arguments == {}
    search = script[2].search_call
    assert search is not None
    assert (search.kind, search.query, search.results[0].title) == ("x", "grok news", "post")
    assert script[2].answer == "Grok shipped."
    assert script[3].answer == "done"
    assert script[3].reasoning == "checked twice"
    assert script[3].fault == Fault(kind="http", status=503, times=2)


def test_script_loads_from_json(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps([{"text": "hi"}, {"call": "f", "arguments": "{not json"}]))
    script = Script.load(path)
    assert script[0] == Turn.text("hi")
    assert script[1].function_calls[0].arguments_json() == "{not json"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"turns": [{"txet": "typo"}]}, "unknown key"),
        ([{"reasoning": "only"}], "needs one of"),
        ([], "at least one turn"),
        ({"nothing": 1}, "expected a list"),
        ([{"text": "x", "fault": {"kind": "meteor"}}], "unknown fault kind"),
        ([{"search": {"query": "q", "results": [{"title": "no url"}]}}], "needs a url"),
    ],
)
def test_bad_scripts_are_config_errors(data: Any, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=message):
        Script.load(path)


def test_missing_script_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        Script.load(tmp_path / "absent.yaml")


def test_script_files_script_the_wire_facts(tmp_path: Path) -> None:
    path = tmp_path / "facts.yaml"
    path.write_text(
        "turns:\n"
        "  - search: {kind: x, item: x_search_call, query: q, results: [], text: t}\n"
        "  - text: The first half\n"
        "    incomplete: max_output_tokens\n"
        "    reasoning_tokens: 5000\n"
        "    fault: {kind: stream_error, after_events: 1, status: 529}\n"
    )
    search, cut = Script.load(path).turns
    assert search.search_call is not None
    assert search.search_call.item_type == "x_search_call"
    assert (cut.incomplete, cut.reasoning_tokens) == ("max_output_tokens", 5000)
    assert cut.fault == Fault.stream_error(after_events=1, status=529)
    for bad in ("incomplete: [1]", "reasoning_tokens: -1"):
        path.write_text(f"turns:\n  - text: t\n    {bad}\n")
        with pytest.raises(ConfigError, match="turn 0"):
            Script.load(path)
