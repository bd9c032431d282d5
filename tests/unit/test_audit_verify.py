"""Verification finds every kind of tampering it promises to, in the API and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.audit import Anchor, AuditLog, JsonlSink, repair_file, verify_file
from agentkit.cli import main
from agentkit.errors import AuditChainBroken, AuditWriteFailed, ConfigError


def write_log(path: Path, count: int = 6) -> Anchor:
    """Write `count` records and return the head."""
    with AuditLog(JsonlSink(path)) as log:
        for index in range(count):
            log.record("call.executed", {"run_id": "r1", "call_id": f"c{index}", "n": index})
        return log.head


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def rewrite(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines))


def cli(*args: str | Path) -> int:
    return main(["audit", *(str(arg) for arg in args)])


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    write_log(path)
    return path


def test_intact_log_verifies_and_cli_prints_ok(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = verify_file(log_path)
    assert result.ok
    assert result.records == 6
    assert cli("verify", log_path) == 0
    assert capsys.readouterr().out.strip() == "ok: 6 records"


def test_edited_field_is_named(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = lines_of(log_path)
    lines[2] = lines[2].replace('"n":2', '"n":7')
    rewrite(log_path, lines)
    result = verify_file(log_path)
    assert result.error is not None
    assert (result.error.line, result.error.seq, result.error.kind) == (3, 3, "hash")
    assert result.records == 2
    assert cli("verify", log_path) == 1
    assert "line 3 (seq 3)" in capsys.readouterr().out


def test_edit_with_recomputed_hash_breaks_the_next_link(log_path: Path) -> None:
    lines = lines_of(log_path)
    record = json.loads(lines[2])
    record["fields"]["n"] = 99
    del record["hash"]
    from agentkit.audit.records import reseal

    lines[2] = reseal(record)[0] + "\n"
    rewrite(log_path, lines)
    error = verify_file(log_path).error
    assert error is not None
    assert (error.seq, error.kind) == (4, "prev")


def test_dropped_line(log_path: Path) -> None:
    lines = lines_of(log_path)
    del lines[3]
    rewrite(log_path, lines)
    error = verify_file(log_path).error
    assert error is not None
    assert (error.line, error.seq, error.kind) == (4, 5, "seq")
    assert cli("verify", log_path) == 1


def test_dropped_first_line(log_path: Path) -> None:
    rewrite(log_path, lines_of(log_path)[1:])
    error = verify_file(log_path).error
    assert error is not None
    assert (error.line, error.seq) == (1, 2)


def test_two_swapped_lines(log_path: Path) -> None:
    lines = lines_of(log_path)
    lines[1], lines[2] = lines[2], lines[1]
    rewrite(log_path, lines)
    error = verify_file(log_path).error
    assert error is not None
    assert (error.line, error.seq, error.kind) == (2, 3, "seq")
    assert cli("verify", log_path) == 1


def test_inserted_copy_of_a_line(log_path: Path) -> None:
    lines = lines_of(log_path)
    lines.insert(4, lines[1])
    rewrite(log_path, lines)
    error = verify_file(log_path).error
    assert error is not None
    assert (error.line, error.seq) == (5, 2)
    assert cli("verify", log_path) == 1


def test_inserted_line_from_another_log(log_path: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    write_log(other, 3)
    lines = lines_of(log_path)
    lines.insert(2, lines_of(other)[2])  # same seq as the record it displaces
    rewrite(log_path, lines)
    error = verify_file(log_path).error
    assert error is not None
    assert (error.line, error.seq, error.kind) == (3, 3, "prev")


def test_partial_last_line_is_reported_as_such(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = log_path.read_bytes()
    log_path.write_bytes(data[:-40])
    result = verify_file(log_path)
    assert result.error is not None
    assert (result.error.line, result.error.kind) == (6, "partial")
    assert result.records == 5
    assert cli("verify", log_path) == 1
    assert "partial record" in capsys.readouterr().out


def test_missing_final_newline_counts_as_partial(log_path: Path) -> None:
    log_path.write_bytes(log_path.read_bytes()[:-1])
    error = verify_file(log_path).error
    assert error is not None
    assert error.kind == "partial"


def test_cut_tail_passes_without_anchor_but_fails_with_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.jsonl"
    head = write_log(path)
    rewrite(path, lines_of(path)[:4])
    assert verify_file(path).ok  # documented limit: a clean cut needs an anchor
    result = verify_file(path, anchor=head)
    assert result.error is not None
    assert result.error.kind == "truncated"
    assert cli("verify", path, "--anchor", str(head)) == 1
    assert "cut from the end" in capsys.readouterr().out


def test_anchor_file_written_on_close_catches_a_cut_tail(tmp_path: Path) -> None:
    path, anchor_path = tmp_path / "audit.jsonl", tmp_path / "audit.anchor"
    with AuditLog(JsonlSink(path), anchor_path=anchor_path) as log:
        for index in range(3):
            log.record("run.started", {"n": index})
    assert anchor_path.read_text().strip() == str(log.head)
    assert cli("verify", path, "--anchor-file", anchor_path) == 0
    rewrite(path, lines_of(path)[:2])
    assert cli("verify", path, "--anchor-file", anchor_path) == 1


def test_anchor_that_disagrees_means_rewritten_history(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    head = write_log(first, 4)
    with AuditLog(JsonlSink(second)) as log:  # same shape, different content
        for index in range(4):
            log.record("call.executed", {"n": -index})
    error = verify_file(second, anchor=head).error
    assert error is not None
    assert (error.seq, error.kind) == (4, "anchor")


def test_log_may_grow_past_its_anchor(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    head = write_log(path, 3)
    with AuditLog(JsonlSink(path)) as log:
        log.record("run.resumed", {"run_id": "r1"})
    assert verify_file(path, anchor=head).ok


def test_raise_for_break(log_path: Path) -> None:
    rewrite(log_path, lines_of(log_path)[::-1])
    with pytest.raises(AuditChainBroken) as caught:
        verify_file(log_path).raise_for_break()
    assert caught.value.seq == 6


def test_unreadable_file_and_bad_anchor_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        verify_file(tmp_path / "missing.jsonl")
    assert main(["audit", "verify", str(tmp_path / "missing.jsonl")]) == 2
    with pytest.raises(ConfigError):
        Anchor.parse("12:not-a-hash")


def test_resume_refuses_partial_line_until_repaired(log_path: Path) -> None:
    data = log_path.read_bytes()
    log_path.write_bytes(data[:-40])
    with pytest.raises(AuditWriteFailed, match="partial record"):
        JsonlSink(log_path)
    aside = repair_file(log_path)
    assert aside is not None
    moved = aside.read_bytes()
    assert moved
    assert b"\n" not in moved
    assert data[:-40].endswith(moved)
    with AuditLog(JsonlSink(log_path)) as log:
        assert log.head.seq == 5
        log.record("run.resumed", {})
    assert verify_file(log_path).records == 6


def test_sink_can_repair_partial_line_itself(log_path: Path) -> None:
    log_path.write_bytes(log_path.read_bytes()[:-10])
    with AuditLog(JsonlSink(log_path, repair_partial=True)) as log:
        log.record("run.resumed", {})
    assert verify_file(log_path).ok
    assert list(log_path.parent.glob("audit.jsonl.partial-*"))


def test_cli_head_and_repair(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("head", log_path) == 0
    head = Anchor.parse(capsys.readouterr().out)
    assert head.seq == 6
    assert cli("repair", log_path) == 0
    assert "nothing to repair" in capsys.readouterr().out


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_is_detected(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("flip") / "audit.jsonl"
    write_log(path, 4)
    raw = bytearray(path.read_bytes())
    positions = [i for i, byte in enumerate(raw) if byte != ord("\n")]
    position = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.integers(32, 126).filter(lambda b: b != raw[position]), label="byte")
    raw[position] = replacement
    path.write_bytes(bytes(raw))
    assert not verify_file(path).ok
