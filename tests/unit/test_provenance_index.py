"""The provenance index: the same answers as reading every output, at the cost of one lookup.

Property tests hold the index to `dataflow.appears_in` on every piece of text, hold field
sources to whole-field equality for values with any characters, and hold per-field trust
to its promise (a value found only in an untrusted field never has that tool as source).
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agentkit.decision import (
    Decision,
    History,
    OutputLog,
    PastCall,
    Principal,
    ProposedCall,
    ToolInfo,
)
from agentkit.pipeline.authorise import RecentCalls, history_for
from agentkit.policy import Policy, dataflow
from agentkit.policy.provenance_index import index_of
from agentkit.policy.spec import NormaliseKind
from agentkit.state import RunResult, Step
from agentkit.tool import Tool, render_output

FIELDS = """
version: 1
tools:
  src: {action: allow}
  send:
    action: allow
    args:
      v: {normalise: KIND, provenance: {user: false, fields: {src: "[].f"}}}
  echo:
    action: allow
    args:
      v: {normalise: KIND, provenance: {user: false, tools: [src]}}
"""
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


def policy(kind: str) -> Policy:
    return Policy.from_yaml(FIELDS.replace("KIND", kind))


POLICIES = {kind: policy(kind) for kind in ("exact", "text")}


def allowed(kind: str, tool: str, value: Any, outputs: list[tuple[str, Any]]) -> bool:
    decision = POLICIES[kind].explain(tool, {"v": value}, principal=Principal(), outputs=outputs)
    return decision.action == "allow"


@settings(max_examples=150)
@given(st.lists(ANY_TEXT, min_size=1, max_size=4), ANY_TEXT, st.sampled_from(["exact", "text"]))
def test_a_field_source_holds_exactly_the_values_at_its_path(
    values: list[str], candidate: str, kind: NormaliseKind
) -> None:
    outputs = [("src", [{"f": v, "other": candidate + "!"} for v in values])]
    forms = {dataflow.normalise(kind, v) for v in values} - {""}
    expected = dataflow.normalise(kind, candidate) in forms
    assert allowed(kind, "send", candidate, outputs) is expected


@settings(max_examples=150)
@given(st.lists(ANY_TEXT, min_size=1, max_size=4), st.sampled_from(["exact", "text"]))
def test_a_value_taken_from_a_structure_always_comes_from_it(
    values: list[str], kind: NormaliseKind
) -> None:
    """Newlines, quotes, backslashes, any unicode: a field's value is found in the output
    it came from, by a field source and by a tool source alike."""
    outputs = [("src", {"rows": [{"f": v} for v in values]}), ("src", [{"f": v} for v in values])]
    for value in values:
        if dataflow.normalise(kind, value):
            assert allowed(kind, "send", value, outputs)
            assert allowed(kind, "echo", value, outputs)


TRUST = """
version: 1
tools:
  list_transactions:
    action: allow
    output_fields: {trusted: ["[].iban"], untrusted: ["[].subject"]}
  read_inbox:
    action: allow
    untrusted_output: true
    output_fields: {trusted: ["[].sender"]}
  pay:
    action: allow
    args:
      to:
        provenance:
          user: false
          tools: [list_transactions, read_inbox]
          fields:
            list_transactions: ["[].iban", "[].subject"]
            read_inbox: ["[].sender", "[].body"]
"""
TRUSTED_POLICY = Policy.from_yaml(TRUST)


@settings(max_examples=200)
@given(ANY_TEXT, ANY_TEXT, ANY_TEXT, ANY_TEXT)
def test_a_value_only_in_an_untrusted_field_never_has_that_tool_as_source(
    iban: str, subject: str, sender: str, body: str
) -> None:
    outputs = [
        ("list_transactions", [{"iban": iban, "subject": subject}]),
        ("read_inbox", [{"sender": sender, "body": body}]),
    ]
    for value in (subject, body):
        norm = dataflow.normalise("text", value)
        assume(norm)
        trusted = (iban, sender)
        assume(not any(dataflow.appears_in("text", norm, t) for t in trusted))
        decision = TRUSTED_POLICY.explain(
            "pay", {"to": value}, principal=Principal(), outputs=outputs
        )
        assert decision.action == "deny", (value, decision)
        assert "appears only in untrusted output of" in decision.reason


@given(ANY_TEXT, ANY_TEXT)
def test_a_trusted_field_of_an_untrusted_output_is_a_source(iban: str, sender: str) -> None:
    outputs = [
        ("list_transactions", [{"iban": iban, "subject": "x"}]),
        ("read_inbox", [{"sender": sender, "body": "y"}]),
    ]
    for value in (iban, sender):
        if dataflow.normalise("text", value):
            decision = TRUSTED_POLICY.explain(
                "pay", {"to": value}, principal=Principal(), outputs=outputs
            )
            assert decision.action == "allow", (value, decision)


PIECES = [
    "bücher.de",
    "xn--bcher-kva.de",
    "BÜCHER.DE",
    "a@b.com",
    "A@B.com.",
    "a@b.com.evil.org",
    "o'brien@b.com",
    "fass.de",
    "faß.de",
    "https://a.com/x",
    "https://A.com",
    "www.a.com/x",
    "a.com",
    "a.com:443/x?q=1",
    "http://a.com/",
    "DE89 3704-0044",
    "DE89370400441",
    "1234-5678",
    "7",
    "2024-07-07",
    "Alice",
    "alice smith",
    "T-1",
    "-1",
    "…",
    "(",
    "\u00e9",
    "e\u0301",
]
SEPARATORS = st.sampled_from([" ", "\n", ", ", "'", '"', "(", ") ", ".", "-", "/", ""])
TEXTS = st.lists(st.tuples(st.sampled_from(PIECES), SEPARATORS), max_size=6).map(
    lambda parts: "".join(p + s for p, s in parts)
)
KINDS: tuple[NormaliseKind, ...] = ("text", "exact", "email", "account", "iban", "domain", "url")


@settings(max_examples=300)
@given(
    st.lists(TEXTS, min_size=1, max_size=3),
    st.sampled_from(PIECES) | TEXTS,
    st.sampled_from(KINDS),
    st.booleans(),
)
def test_the_index_finds_a_value_where_reading_the_text_finds_it(
    texts: list[str], value: str, kind: NormaliseKind, structured: bool
) -> None:
    try:
        norm = dataflow.normalise(kind, value)
    except dataflow.HostError:
        return
    calls = [_past(f"c{i}", "src", text, structured) for i, text in enumerate(texts)]
    index = index_of(History(calls=tuple(calls)))
    expected = any(dataflow.appears_in(kind, norm, text) for text in texts)
    assert index.in_outputs(kind, norm, ["src"], frozenset()) is expected
    assert (index.untrusted_source(kind, norm, frozenset({"src"})) == "src") is expected
    assert index.untrusted_source(kind, norm, frozenset()) is None
    assert (index.any_source(kind, norm) == "src") is expected


def _past(call_id: str, tool: str, text: str, structured: bool, **more: Any) -> PastCall:
    data = {"a": [text]} if structured else None
    return PastCall(
        call_id=call_id,
        tool=tool,
        side_effect="read",
        arguments={},
        action="allow",
        executed=True,
        output=render_output(data) if structured else text,
        data=data,
        **more,
    )


def test_the_first_untrusted_source_is_named() -> None:
    calls = (
        _past("1", "web", "pay eve", False, untrusted_output=True),
        _past("2", "mail", "pay eve", False, untrusted_output=True),
    )
    assert index_of(History(calls=calls)).untrusted_source("text", "eve", frozenset()) == "web"


def test_a_failed_output_is_no_source() -> None:
    calls = (_past("1", "src", "order 7", False, failed=True),)
    index = index_of(History(calls=calls))
    assert not index.in_outputs("text", "7", ["src"], frozenset())
    assert not index.in_fields("text", "7", "src", ["a"], frozenset())


ALLOWED = Decision(action="allow", reason="", rule="tools.src")
TOOLS = {"src": Tool(lambda: "", name="src"), "web": Tool(lambda: "", name="web")}


def _run_with(outputs: list[tuple[str, Any]]) -> RunResult:
    run = RunResult(run_id="r", agent="a", model="m", principal=Principal(), user_messages=["hi"])
    for i, (tool, value) in enumerate(outputs):
        text = render_output(value)
        run.steps.append(
            Step(
                call_id=f"c{i}",
                tool=tool,
                turn=1,
                raw_arguments="{}",
                arguments={},
                status="ok",
                decision=ALLOWED,
                output=text,
                data=None if isinstance(value, str) else value,
                untrusted=tool == "web",
            )
        )
    return run


def _decide(policy: Policy, run: RunResult, value: str, tool: str = "echo") -> str:
    history = history_for(run, TOOLS, now=0.0, recent=RecentCalls())
    call = ProposedCall(call_id="x", tool=ToolInfo(name=tool), arguments={"v": value})
    return policy.decide(Principal(), call, history).action


def test_each_output_is_read_once_however_many_decisions_follow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read: list[str] = []
    haystack = dataflow.haystack

    def counting(kind: NormaliseKind, text: str) -> str:
        read.append(text)
        return haystack(kind, text)

    monkeypatch.setattr(dataflow, "haystack", counting)
    run = _run_with([("src", [{"f": f"value {i}"}]) for i in range(50)])
    text_policy = POLICIES["text"]
    assert _decide(text_policy, run, "value 3") == "allow"
    assert len(read) == 50  # the first decision reads every output, once
    for _ in range(5):
        assert _decide(text_policy, run, "absent") == "deny"
    assert len(read) == 50
    run.steps.extend(_run_with([("src", [{"f": "later"}])]).steps[:1])
    run.steps[-1].call_id = "later"
    assert _decide(text_policy, run, "later") == "allow"
    assert read[50:] == ["later"]  # only the new output is read


def test_a_history_from_the_run_carries_its_log_and_the_log_records_each_output_once() -> None:
    run = _run_with([("src", [{"f": "a"}]), ("web", "page")])
    first = history_for(run, TOOLS, now=0.0, recent=RecentCalls())
    again = history_for(run, TOOLS, now=0.0, recent=RecentCalls())
    assert first.outputs is again.outputs is run.output_log()
    assert [c.call_id for c in run.output_log().since(0)] == ["c0", "c1"]
    assert first == History(
        run_id="r", calls=first.calls, user_messages=("hi",)
    )  # the log is a cache: histories compare by what they say
    resumed = RunResult.from_json(run.to_json())
    assert resumed == run
    assert resumed.output_log() is not run.output_log()
    history_for(resumed, TOOLS, now=0.0, recent=RecentCalls())
    assert len(resumed.output_log()) == 2


def test_a_history_built_by_hand_is_read_from_its_calls() -> None:
    calls = (_past("1", "src", "x", True), _past("1", "src", "y", True))  # ids may repeat
    index = index_of(History(calls=calls))
    assert index.in_outputs("text", "x", ["src"], frozenset())
    assert index.in_outputs("text", "y", ["src"], frozenset())


def test_decisions_of_several_threads_over_one_log_agree() -> None:
    log = OutputLog()
    log.record(_past(f"c{i}", "src", f"word{i}", True) for i in range(200))
    history = History(calls=tuple(log.since(0)), outputs=log)
    policy = POLICIES["text"]

    def decide(i: int) -> str:
        call = ProposedCall(call_id="x", tool=ToolInfo(name="echo"), arguments={"v": f"word{i}"})
        return policy.decide(Principal(), call, history).action

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        actions = list(pool.map(decide, range(300)))
    assert actions == ["allow"] * 200 + ["deny"] * 100


def test_a_copy_of_a_run_starts_its_own_log() -> None:
    """A deep copy (a store keeping an older state) copies no lock and no cache, and a run
    given another list of steps is not read from the caches of the first."""
    run = _run_with([("web", "pay eve")])
    history_for(run, TOOLS, now=0.0, recent=RecentCalls())
    kept = run.model_copy(deep=True)
    assert kept == run
    assert kept.output_log() is not run.output_log()
    assert len(history_for(kept, TOOLS, now=0.0, recent=RecentCalls()).outputs or ()) == 1
    other = run.model_copy(update={"steps": []})
    history = history_for(other, TOOLS, now=0.0, recent=RecentCalls())
    assert history.calls == ()
    assert len(history.outputs or ()) == 0


@pytest.mark.parametrize("structured", [False, True])
def test_a_url_written_without_a_scheme_is_found_as_reading_the_text_finds_it(
    structured: bool,
) -> None:
    text = "Book at www.booking.com/hotels, or see (example.org)."
    index = index_of(History(calls=(_past("c", "src", text, structured),)))
    for url, found in [
        ("https://www.booking.com/hotels", True),
        ("https://example.org:443", True),
        ("http://example.org/", False),
        ("https://www.booking.com/hotels?to=x", False),
    ]:
        norm = dataflow.normalise("url", url)
        assert dataflow.appears_in("url", norm, text) is found
        assert index.in_outputs("url", norm, ["src"], frozenset()) is found
