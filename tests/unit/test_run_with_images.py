"""Runs with images: what goes over the wire (Responses and Chat), store false and no
chaining, the records and events (metadata, never bytes), and a paused run's state."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from PIL import Image

from agentkit.agent import Agent
from agentkit.decision import AllowAll, Principal
from agentkit.errors import ImageInputError
from agentkit.events import RunEvent
from agentkit.media.image_input import ImageInput
from agentkit.model.types import ModelResponse
from agentkit.model.usage import usage_from_chat
from agentkit.pipeline.authorise import RecentCalls
from agentkit.pipeline.run_config import RunConfig
from agentkit.pipeline.runner import Runner
from agentkit.pipeline.turn import fold_response
from agentkit.state import RunResult
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.clock import FakeClock
from agentkit.testing.scripted_client import scripted_client
from agentkit.tool import Tool

MODEL = "grok-4"
PROMPT = "What does this chart show?"


def png(size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (12, 120, 220)).save(out, "PNG")
    return out.getvalue()


PNG = png()
PNG_B64 = base64.b64encode(PNG).decode()


class Captured:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def record(self, event: str, fields: Mapping[str, Any]) -> None:
        self.records.append((event, dict(fields)))


async def lookup(n: int) -> str:
    """Look up a row."""
    return f"row {n}"


async def close(n: int) -> str:
    """Close a ticket."""
    return f"closed {n}"


TOOLS = [Tool(lookup), Tool(close, side_effect="destructive")]


def make(
    turns: Iterable[Turn], *, config: RunConfig | None = None, **client: Any
) -> tuple[Runner, FakeXAI, Captured]:
    fake, audit = FakeXAI(Script(turns)), Captured()
    runner = Runner(
        rate_window=RecentCalls(),
        client=scripted_client(fake, **client),
        model=MODEL,
        tools=TOOLS,
        authoriser=AllowAll(),
        audit=audit,
        config=config,
        clock=FakeClock(1_700_000_000.0),
    )
    return runner, fake, audit


async def start(runner: Runner, **options: Any) -> RunResult:
    return await runner.start(PROMPT, principal=Principal(user_id="ana"), run_id="r1", **options)


def image_part(detail: str = "high") -> dict[str, Any]:
    return {
        "type": "input_image",
        "image_url": f"data:image/png;base64,{PNG_B64}",
        "detail": detail,
    }


# --- the wire --------------------------------------------------------------------------


async def test_a_run_with_a_png_sends_text_and_image_parts_with_store_false() -> None:
    runner, fake, _ = make([Turn.text("a rising line")])
    result = await start(runner, images=[ImageInput.from_bytes(PNG, detail="high")])
    assert result.output == "a rising line"
    sent = fake.requests[0].json
    assert sent["input"] == [
        {"role": "user", "content": [{"type": "input_text", "text": PROMPT}, image_part()]}
    ]
    assert sent["store"] is False
    assert "previous_response_id" not in sent


async def test_every_request_of_an_image_run_resends_the_whole_conversation_unstored() -> None:
    chained = RunConfig(chain_responses=True)
    runner, fake, _ = make([Turn.call("lookup", {"n": 1}), Turn.text("done")], config=chained)
    await start(runner, images=[PNG])
    first, second = (r.json for r in fake.requests)
    assert [first["store"], second["store"]] == [False, False]
    assert "previous_response_id" not in second
    assert second["input"][0] == first["input"][0]
    assert second["input"][0]["content"][1] == image_part("auto")
    assert [item.get("type") for item in second["input"][1:]] == [
        "function_call",
        "function_call_output",
    ]


async def test_a_run_with_a_png_on_the_chat_endpoint_sends_the_chat_shape() -> None:
    runner, fake, _ = make([Turn.text("a chart")], endpoint="chat")
    await start(runner, images=[ImageInput.from_bytes(PNG, detail="low")])
    sent = fake.requests[0].json
    assert fake.requests[0].path.endswith("/chat/completions")
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": PROMPT},
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:image/png;base64,{PNG_B64}", "detail": "low"},
                },
            ],
        }
    ]
    assert "store" not in sent


async def test_a_url_image_is_sent_as_its_url() -> None:
    runner, fake, _ = make([Turn.text("a cat")])
    await start(runner, images=["https://images.example/cat.png"])
    content = fake.requests[0].json["input"][0]["content"]
    assert content[1] == {
        "type": "input_image",
        "image_url": "https://images.example/cat.png",
        "detail": "auto",
    }


@pytest.mark.parametrize("config", [RunConfig(), RunConfig(chain_responses=True)])
async def test_a_run_without_images_sends_exactly_what_it_sent_before(config: RunConfig) -> None:
    runner, fake, audit = make([Turn.call("lookup", {"n": 1}), Turn.text("done")], config=config)
    await start(runner)
    first, second = (r.json for r in fake.requests)
    tools = first.pop("tools")
    assert [t["name"] for t in tools] == ["lookup", "close"]
    assert first == {
        "model": MODEL,
        "input": [{"role": "user", "content": PROMPT}],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "user": "ana",
        "prompt_cache_key": "r1",  # the run's id: every turn of it shares the cache
    }
    assert second["prompt_cache_key"] == "r1"
    assert "store" not in second
    if config.chain_responses:
        answered = [
            fields["response_id"] for name, fields in audit.records if name == "model.response"
        ]
        assert second["previous_response_id"] == answered[0]
        assert [item["type"] for item in second["input"]] == ["function_call_output"]
    else:
        assert "previous_response_id" not in second
        assert second["input"][0] == {"role": "user", "content": PROMPT}


async def test_a_refused_image_stops_the_run_before_anything_is_sent_or_recorded() -> None:
    runner, fake, audit = make([Turn.text("never")])
    with pytest.raises(ImageInputError):
        await start(runner, images=[b"GIF89a not wanted"])
    assert fake.requests == []
    assert audit.records == []


# --- records and events ----------------------------------------------------------------


async def test_records_and_events_describe_the_image_and_never_hold_its_bytes() -> None:
    runner, _, audit = make([Turn.call("lookup", {"n": 1}), Turn.text("done")])
    events: list[RunEvent] = []
    image = ImageInput.from_bytes(PNG, detail="high")
    await start(runner, images=[image, "https://images.example/b.png"], events=events.append)
    started = audit.records[0]
    assert started[0] == "run.started"
    assert started[1]["images"] == [
        image.metadata(),
        {"url": "https://images.example/b.png", "detail": "auto"},
    ]
    assert image.metadata()["sha256"] in json.dumps(started[1])
    assert events[0].data["images"] == started[1]["images"]
    written = json.dumps([audit.records, [e.to_dict() for e in events]])
    assert PNG_B64 not in written
    assert PNG_B64[:40] not in written
    assert "data:image/png;base64" not in written


async def test_a_run_without_images_records_no_images_field() -> None:
    runner, _, audit = make([Turn.text("hi")])
    await start(runner)
    assert "images" not in audit.records[0][1]


# --- state -----------------------------------------------------------------------------


async def test_a_paused_run_with_an_image_resumes_from_its_json_with_the_image() -> None:
    runner, fake, _ = make([Turn.call("close", {"n": 7}), Turn.text("closed it")])
    paused = await start(runner, images=[PNG])
    assert paused.status == "awaiting_approval"
    back = RunResult.from_json(paused.to_json())
    assert back == paused
    approval = back.pending[0].approval_id
    result = await runner.resume(back, {approval: True}, principal=Principal(user_id="ana"))
    assert (result.status, result.output) == ("completed", "closed it")
    resumed = fake.requests[-1].json
    assert resumed["store"] is False
    assert resumed["input"][0]["content"][1] == image_part("auto")


def test_chat_image_tokens_are_kept_and_add_up_in_the_totals() -> None:
    raw = {
        "prompt_tokens": 900,
        "completion_tokens": 10,
        "prompt_tokens_details": {"image_tokens": 768},
    }
    usage = usage_from_chat(raw, request_id="q1", model=MODEL)
    assert usage.image_tokens == 768
    assert usage_from_chat({"prompt_tokens": 3}, request_id="q2", model=MODEL).image_tokens == 0
    run = RunResult(run_id="r", agent="a", model=MODEL, principal=Principal())
    for request_id in ("q1", "q2"):
        usage.request_id = request_id
        answer = ModelResponse(
            id=f"resp_{request_id}", model=MODEL, status="completed", output=[], usage=usage,
            request_id=request_id,
        )  # fmt: skip
        fold_response(run, answer, now=0.0)
    assert run.totals.image_tokens == 1536
    assert [u["image_tokens"] for u in run.usage] == [768, 768]
    assert RunResult.from_json(run.to_json()).totals.image_tokens == 1536


# --- the agent -------------------------------------------------------------------------


class Viewer(Agent):
    model = MODEL
    instructions = "Describe images."


def viewer(fake: FakeXAI) -> Viewer:
    return Viewer(client=scripted_client(fake), policy=AllowAll(), audit=None)


async def test_agent_run_and_stream_take_images_beside_the_prompt() -> None:
    fake = FakeXAI(Script([Turn.text("a chart")]))
    result = await viewer(fake).run(PROMPT, images=[PNG])
    assert result.output == "a chart"
    assert fake.requests[-1].json["input"][0]["content"][1] == image_part("auto")

    fake = FakeXAI(Script([Turn.text("a chart")]))
    seen = [event async for event in viewer(fake).stream(PROMPT, images=[PNG])]
    assert seen[0].data["images"][0]["media_type"] == "image/png"
    assert seen[-1].type == "run.result"
    assert fake.requests[-1].json["store"] is False


def test_agent_run_sync_takes_images() -> None:
    fake = FakeXAI(Script([Turn.text("a chart")]))
    viewer(fake).run_sync(PROMPT, images=ImageInput.from_bytes(PNG, detail="low"))
    assert fake.requests[-1].json["input"][0]["content"][1] == image_part("low")


async def test_the_streamed_result_names_the_image_but_leaves_its_bytes_out() -> None:
    fake = FakeXAI(Script([Turn.text("a chart")]))
    seen = [event async for event in viewer(fake).stream(PROMPT, images=[PNG])]
    last = seen[-1]
    assert last.result is not None  # the state itself keeps the image, to resume from
    assert PNG_B64 in json.dumps(last.result.model_dump(mode="json"))
    wire = json.dumps(last.to_dict())
    assert PNG_B64[:40] not in wire
    assert "data:image/png;base64,<" in wire  # what it was, not what it held
