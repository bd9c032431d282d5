"""`Agent.stream()`: the run's events as they happen, the audit's order, nothing it hides."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agentkit import Agent, AllowAll, tool
from agentkit.audit.testing import CapturedAudit
from agentkit.errors import AgentkitError
from agentkit.events import RunEvent
from agentkit.testing import Script, Turn, scripted_client

SECRET_PREFIX = "xai-"
RAN: list[str] = []


class Ops(Agent):
    policy = AllowAll()

    @tool
    async def lookup(self, ticket: int) -> str:
        """Look a ticket up."""
        RAN.append("lookup")
        return f"ticket {ticket}"

    @tool
    async def leak(self, ticket: int) -> str:
        """Returns a secret in its output."""
        RAN.append("leak")
        return f"token {SECRET_PREFIX}{'A' * 48} for {ticket}"

    @tool
    async def slow(self, ticket: int) -> str:
        """Takes a while."""
        await asyncio.sleep(0.2)
        RAN.append("slow")
        return "late"

    @tool(destructive=True)
    async def close(self, ticket: int) -> str:
        """Close a ticket."""
        RAN.append("close")
        return "closed"


CALLS = st.sampled_from(
    [
        ("lookup", {"ticket": 1}),
        ("leak", {"ticket": 2}),
        ("close", {"ticket": 3}),
        ("lookup", {"ticket": "not a number"}),  # invalid arguments
        ("nope", {}),  # an unknown tool
    ]
)
SCRIPTS = st.lists(st.lists(CALLS, min_size=1, max_size=3), max_size=3).map(
    lambda turns: Script([*(Turn.calls(t) for t in turns), Turn.text("done")])
)


async def streamed(agent: Agent, prompt: str) -> list[RunEvent]:
    """Every event, a failed run's too (its stream raises after its run.result)."""
    seen: list[RunEvent] = []
    try:
        async for event in agent.stream(prompt, run_id="r1"):
            seen.append(event)
    except AgentkitError:
        assert seen[-1].type == "run.result"
    return seen


def ran_sync(agent: Agent, prompt: str) -> Any:
    try:
        return agent.run_sync(prompt, run_id="r1")
    except AgentkitError as exc:
        return exc.run


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SCRIPTS)
@example(  # too many invalid calls: the run fails, and its stream says so
    Script([*(Turn.calls([("lookup", {"ticket": "x"})] * 3) for _ in range(3)), Turn.text("ok")])
)
def test_events_follow_the_audit_and_end_with_the_runs_state(script: Script) -> None:
    audit = CapturedAudit()
    events = asyncio.run(streamed(Ops(client=scripted_client(script), audit=audit), "go"))
    ran = ran_sync(Ops(client=scripted_client(script), audit=CapturedAudit()), "go")

    *stages, last = events
    assert [e.type for e in stages] == audit.events  # each stored record, in its order
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert last.type == "run.result"
    assert last.result is not None
    assert last.result.status == ran.status  # run() is stream() drained
    assert [s.status for s in last.result.steps] == [s.status for s in ran.steps]
    for event, record in zip(stages, audit.records, strict=True):
        assert event.call_id == record["fields"].get("call_id")
        assert event.run_id == "r1"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SCRIPTS, st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=40))
def test_no_event_shows_a_secret(script: Script, key: str) -> None:
    prompt = f"use the key {SECRET_PREFIX}{key}"
    events = asyncio.run(streamed(Ops(client=scripted_client(script), audit=None), prompt))
    shown = json.dumps([e.to_dict() for e in events])  # the state of run.result too
    assert SECRET_PREFIX + key not in shown
    assert SECRET_PREFIX + "A" * 48 not in shown


def test_a_failed_run_yields_its_state_then_raises() -> None:
    agent = Ops(client=scripted_client(Script([Turn.call("lookup", {"ticket": 1})])), audit=None)
    seen: list[RunEvent] = []

    async def consume() -> None:
        async for event in agent.stream("go"):
            seen.append(event)

    with pytest.raises(AgentkitError):
        asyncio.run(consume())
    assert seen[-1].type == "run.result"
    assert seen[-1].result is not None
    assert seen[-1].result.status == "failed"
    assert seen[-2].type == "run.ended"


def test_leaving_the_stream_early_cancels_the_run() -> None:
    RAN.clear()
    script = Script([Turn.call("slow", {"ticket": 1}), Turn.text("done")])
    audit = CapturedAudit()
    agent = Ops(client=scripted_client(script), audit=audit)

    async def until_the_call_is_decided() -> str:
        stream = agent.stream("go")
        async for event in stream:
            if event.type == "call.decided":
                await stream.aclose()  # type: ignore[attr-defined]
                await asyncio.sleep(0.3)  # longer than the tool takes
                return event.type
        return ""

    assert asyncio.run(until_the_call_is_decided()) == "call.decided"
    assert RAN == []  # the tool's body was cancelled at its first await
    assert audit.events[-1] == "run.ended"  # the audit trail says how it ended
    assert audit.fields_of("run.ended")[-1]["status"] == "cancelled"
    assert audit.verify().ok


def test_events_are_json(tmp_path: Any) -> None:
    script = Script([Turn.call("close", {"ticket": 3})])
    events = asyncio.run(streamed(Ops(client=scripted_client(script), audit=None), "go"))
    for event in events:
        json.dumps(event.to_dict())
    assert events[-1].to_dict()["result"]["status"] == "awaiting_approval"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["word", " ", "\n", "key", SECRET_PREFIX + "B" * 48, "."]), max_size=12
    ),
    st.lists(st.integers(1, 30), min_size=1, max_size=20),
)
def test_streamed_text_is_whole_and_redacted_however_it_is_cut(
    pieces: list[str], cuts: list[int]
) -> None:
    from agentkit.audit.redact import Redactor
    from agentkit.pipeline.record import RunRecorder
    from agentkit.state import RunResult as State

    text = "".join(pieces)
    published: list[RunEvent] = []
    recorder = RunRecorder(
        CapturedAudit(),
        State(run_id="r", agent="A", model="m", principal=_anyone()),
        published.append,
    )
    at = 0
    for size in cuts * (len(text) // max(1, sum(cuts)) + 1):
        if at >= len(text):
            break
        recorder.text(text[at : at + size])
        at += size
    recorder.end_text()
    shown = "".join(str(e.data["text"]) for e in published)
    # exactly what redacting the whole text gives: a secret cut across deltas is whole
    # when the redactor sees it
    assert shown == Redactor().redact({"text": text}, include_prompts=True)["text"]


def test_a_secret_cut_anywhere_never_streams() -> None:
    from agentkit.pipeline.record import RunRecorder
    from agentkit.state import RunResult as State

    secret = SECRET_PREFIX + "B" * 48
    text = f"the key is {secret} so use it"
    for cut in range(1, len(text)):
        published: list[RunEvent] = []
        recorder = RunRecorder(
            CapturedAudit(),
            State(run_id="r", agent="A", model="m", principal=_anyone()),
            published.append,
        )
        recorder.text(text[:cut])
        recorder.text(text[cut:])
        recorder.end_text()
        shown = "".join(str(e.data["text"]) for e in published)
        assert secret not in shown
        assert shown.startswith("the key is ")


def test_a_streamed_answer_arrives_in_pieces_before_the_result() -> None:
    from agentkit import RunConfig

    answer = "The ticket is about a full disk on the replica, and nothing else."
    agent = Ops(
        client=scripted_client(Script([Turn.text(answer)])),
        audit=None,
        config=RunConfig(stream=True),
    )
    events = asyncio.run(streamed(agent, "go"))
    deltas = [e for e in events if e.type == "model.delta"]
    assert len(deltas) > 1
    assert "".join(str(e.data["text"]) for e in deltas) == answer
    assert events.index(deltas[-1]) < [e.type for e in events].index("model.response")


def _anyone() -> Any:
    from agentkit import Principal

    return Principal()


def test_every_audited_stage_is_an_event_type() -> None:
    from typing import get_args

    from agentkit.audit.records import KNOWN_EVENTS
    from agentkit.events import EventType

    # the two lists are written twice (a Literal for the type checker, a set for the
    # log): this keeps them the same
    stream_own = {"model.delta", "run.result", "run.interrupted"}
    assert set(get_args(EventType)) == KNOWN_EVENTS | stream_own
