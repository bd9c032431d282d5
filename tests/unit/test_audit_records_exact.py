"""What an audit record holds: prompts only on request, correlation ids, exact refusals."""

from __future__ import annotations

import json

import pytest

from agentkit.audit import AuditLog, MemorySink
from agentkit.audit.records import Anchor, check_event_name, parse_line
from agentkit.errors import ConfigError

PROMPTS = {"prompt": "plan the outage", "output": "step one", "messages": ["a", "b"]}


def stored_fields(sink: MemorySink) -> dict[str, object]:
    fields: dict[str, object] = json.loads(sink.lines[-1])["fields"]
    return fields


def test_by_default_records_omit_prompts_and_outputs_keeping_their_length() -> None:
    sink = MemorySink()
    AuditLog(sink).record("model.request", {"run_id": "r1", **PROMPTS})
    assert stored_fields(sink) == {
        "run_id": "r1",
        "prompt": {"omitted": True, "length": 15},
        "output": {"omitted": True, "length": 8},
        "messages": {"omitted": True, "length": 2},
    }
    assert "plan the outage" not in sink.lines[-1]


def test_include_prompts_keeps_prompts_and_outputs() -> None:
    sink = MemorySink()
    AuditLog(sink, include_prompts=True).record("model.request", {"run_id": "r1", **PROMPTS})
    assert stored_fields(sink) == {"run_id": "r1", **PROMPTS}


def test_only_string_run_and_call_ids_are_correlated() -> None:
    sink = MemorySink()
    log = AuditLog(sink)
    log.record("call.executed", {"run_id": "r1", "call_id": "c1"})
    log.record("call.executed", {"run_id": 7, "call_id": 8})
    log.record("call.executed", {})
    assert [(r.run_id, r.call_id) for r in sink.records] == [
        ("r1", "c1"),
        (None, None),
        (None, None),
    ]


def test_a_bad_event_name_is_refused_with_the_name() -> None:
    with pytest.raises(
        ConfigError, match=r"^audit event name 'Run\.Started' is not a dotted lowercase name$"
    ):
        check_event_name("Run.Started")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1, 2]", "a record is a JSON object"),
        ('{"hash": "h", "prev": "p", "event": "e"}', "the record has no valid 'seq'"),
        ('{"seq": 1, "prev": "p", "event": "e"}', "the record has no valid 'hash'"),
        ('{"seq": 1, "hash": "h", "prev": 3, "event": "e"}', "the record has no valid 'prev'"),
    ],
)
def test_a_line_that_is_not_a_record_says_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_line(line)
    assert str(caught.value) == message


def test_an_anchor_that_is_not_seq_colon_hash_is_refused_with_its_text() -> None:
    with pytest.raises(ConfigError) as caught:
        Anchor.parse("  3:xyz \n")
    assert str(caught.value) == "an anchor reads SEQ:HASH (64 hex digits), got '3:xyz'"
