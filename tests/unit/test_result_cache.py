"""Kept results of read tools: served again within their time to live, as labelled as
when they ran, never to another principal unless the policy shares them (a property over
generated principals and arguments), never for a tool that is not a read; a hit is on
the record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit.audit import AuditLog, MemorySink
from agentkit.decision import Principal
from agentkit.errors import PolicyLoadError
from agentkit.pipeline.authorise import RecentCalls
from agentkit.pipeline.execute import ToolOutcome
from agentkit.pipeline.result_cache import ResultCache, cache_key
from agentkit.pipeline.runner import Runner
from agentkit.policy import load_policy
from agentkit.testing import FakeXAI, Turn
from agentkit.testing.clock import FakeClock
from agentkit.testing.scripted_client import scripted_client
from agentkit.tool import Tool, ToolOutput

principals = st.builds(Principal, user_id=st.sampled_from(["ana", "lee", "kim"]),
                       workspace=st.sampled_from([None, "red", "blue"]))  # fmt: skip
arguments = st.dictionaries(st.sampled_from(["q", "page", "lang"]),
                            st.one_of(st.integers(0, 3), st.sampled_from(["a", "b"])),
                            max_size=3)  # fmt: skip


@given(principals, principals, arguments, arguments, st.booleans())
def test_a_kept_result_answers_only_the_same_call_of_the_same_principal(
    first: Principal, second: Principal, args1: dict[str, Any], args2: dict[str, Any],
    shared: bool,
) -> None:  # fmt: skip
    cache = ResultCache(clock=FakeClock(0.0))
    cache.put(cache_key(first, "lookup", args1, shared), ToolOutcome("ok", "kept", True), 60)
    found = cache.get(cache_key(second, "lookup", args2, shared))
    same_scope = shared or (first.user_id, first.workspace) == (second.user_id, second.workspace)
    assert (found is not None) == (same_scope and args1 == args2)
    assert cache.get(cache_key(first, "other_tool", args1, shared)) is None


def test_results_expire_and_failures_are_never_kept() -> None:
    clock = FakeClock(0.0)
    cache = ResultCache(clock=clock)
    cache.put("k", ToolOutcome("ok", "x", False), ttl=10)
    cache.put("bad", ToolOutcome("failed", "boom", False), ttl=10)
    assert cache.get("k") is not None
    assert cache.get("bad") is None
    clock.advance(10)
    assert cache.get("k") is None


POLICY = """
version: 1
tools:
  lookup: {side_effect: read, action: allow, untrusted_output: true, cache: {ttl: 300}}
"""


def _runner(tmp_path: Path, calls: list[str], sink: MemorySink, cache: ResultCache) -> Runner:
    async def lookup(q: str) -> ToolOutput:
        """Look something up."""
        calls.append(q)
        return ToolOutput({"answer": f"about {q}"}, citations=(f"chunk:{q}",))

    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    fake = FakeXAI(lambda body: Turn.text("done") if _answered(body) else
                   Turn.call("lookup", {"q": "refunds"}))  # fmt: skip
    return Runner(rate_window=RecentCalls(), client=scripted_client(fake), model="grok-4",
                  tools=[Tool(lookup)], authoriser=load_policy(path, tools=None),
                  audit=AuditLog(sink), result_cache=cache)  # fmt: skip


def _answered(body: dict[str, Any]) -> bool:
    return any(item.get("type") == "function_call_output" for item in body.get("input", []))


async def test_a_run_is_served_the_kept_result_with_its_labels(tmp_path: Path) -> None:
    calls: list[str] = []
    sink, cache = MemorySink(), ResultCache()
    runner = _runner(tmp_path, calls, sink, cache)
    ana, lee = Principal(user_id="ana"), Principal(user_id="lee")
    first = await runner.start("refunds?", principal=ana)
    again = await runner.start("refunds again?", principal=ana)
    other = await runner.start("refunds?", principal=lee)
    assert calls == ["refunds", "refunds"]  # ana's second run was served; lee's ran
    assert [r.steps[0].cached for r in (first, again, other)] == [False, True, False]
    kept, fresh = again.steps[0], first.steps[0]
    assert (kept.output, kept.untrusted, kept.data, kept.citations) == (
        fresh.output, fresh.untrusted, fresh.data, fresh.citations,
    )  # fmt: skip
    assert kept.untrusted  # the policy's mark survives being kept
    executed = [json.loads(line)["fields"] for line in sink.lines if '"call.executed"' in line]
    assert [e.get("cached") for e in executed] == [None, True, None]


def test_a_cache_on_a_tool_that_is_not_a_read_does_not_load(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\ntools:\n  pay: {side_effect: financial, cache: {ttl: 60}}\n")
    with pytest.raises(PolicyLoadError, match="only a read tool's results may be kept"):
        load_policy(path)


def test_a_runner_given_an_empty_cache_uses_that_one() -> None:
    mine = ResultCache()  # empty, so falsy: it must still be the one used
    runner = Runner(rate_window=RecentCalls(), client=scripted_client(FakeXAI(None)),
                    model="grok-4", tools=[], authoriser=load_policy(_policy_file()),
                    result_cache=mine)  # fmt: skip
    assert runner.result_cache is mine


def _policy_file() -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "policy.yaml"
    path.write_text(POLICY.replace("lookup", "search"))
    return path
