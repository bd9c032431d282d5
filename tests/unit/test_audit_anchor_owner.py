"""Only the process that opened an audit log moves its anchor, and never backwards: a forked
child's stale head, or a second log object behind the anchor, cannot hide records cut later."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import AuditLog, AuditWriteFailed, JsonlSink
from agentkit.audit import MemorySink
from agentkit.audit.verify import read_anchor_file


def test_a_forked_child_closing_its_copy_leaves_the_parents_newer_anchor(tmp_path: Path) -> None:
    path, anchor = tmp_path / "audit.jsonl", tmp_path / "audit.anchor"
    log = AuditLog(JsonlSink(path), anchor_path=anchor)
    log.record("run.started", {"run_id": "r"})
    go_read, go_write = os.pipe()
    done_read, done_write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: wait until the parent has moved on, then close its copy
        code = 0
        try:
            os.read(go_read, 1)
            log.close()
            try:
                log.write_anchor(anchor)
                code = 3  # it must refuse
            except AuditWriteFailed:
                pass
        except BaseException:
            code = 2
        os.write(done_write, b"x")
        os._exit(code)
    log.record("run.finished", {"run_id": "r"})
    log.record("run.started", {"run_id": "s"})
    log.close()
    assert read_anchor_file(anchor).seq == 3
    os.write(go_write, b"x")
    os.read(done_read, 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert read_anchor_file(anchor).seq == 3, "the child moved the anchor back"


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 5), st.integers(0, 5))
def test_an_anchor_never_moves_back(
    tmp_path_factory: pytest.TempPathFactory, ahead: int, behind: int
) -> None:
    """Two logs over copies of one chain: whichever is behind may not move the anchor back."""
    anchor = tmp_path_factory.mktemp("anchor") / "audit.anchor"
    front, back = AuditLog(MemorySink()), AuditLog(MemorySink())
    for n in range(ahead):
        front.record("run.started", {"run_id": f"r{n}"})
    for n in range(behind):
        back.record("run.started", {"run_id": f"r{n}"})
    front.write_anchor(anchor)
    if behind < ahead:
        with pytest.raises(AuditWriteFailed, match="past this log's head"):
            back.write_anchor(anchor)
        assert read_anchor_file(anchor).seq == ahead
    else:
        assert back.write_anchor(anchor).seq == behind
        assert read_anchor_file(anchor).seq == behind
