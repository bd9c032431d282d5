"""The runner's frames as the host parses them, and the runner's own file checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit.sandbox import container_runner as runner
from agentkit.sandbox.container_runner import encode_frame
from agentkit.sandbox.session import FrameDecoder, ProtocolViolation, RawOutcome


def _decode(data: bytes, cuts: list[int], cap: int = 1000) -> tuple[RawOutcome, bool]:
    outcome = RawOutcome()
    decoder = FrameDecoder(outcome, cap=cap, max_tar=100)
    done, start = False, 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        done = decoder.feed(data[start:cut]) or done
        start = max(start, cut)
        if done:
            break
    return outcome, done


STREAM = (
    encode_frame(b"o", b"hello ")
    + encode_frame(b"e", b"warn")
    + encode_frame(b"o", b"world")
    + encode_frame(b"f", b"TAR")
    + encode_frame(b"x", json.dumps({"exit_code": 0}).encode())
)


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=8))
def test_frames_decode_the_same_however_the_stream_is_cut(cuts: list[int]) -> None:
    outcome, done = _decode(STREAM, cuts)
    assert done
    assert bytes(outcome.stdout) == b"hello world"
    assert bytes(outcome.stderr) == b"warn"
    assert outcome.tar == b"TAR"
    assert outcome.report == {"exit_code": 0}
    assert not outcome.truncated


def test_output_past_the_cap_is_cut_and_flagged() -> None:
    outcome, done = _decode(encode_frame(b"o", b"x" * 50) + encode_frame(b"o", b"y" * 50), [], 60)
    assert done
    assert outcome.truncated
    assert bytes(outcome.stdout) == b"x" * 50 + b"y" * 10


def test_a_forged_huge_output_frame_is_streamed_not_buffered() -> None:
    header = runner.FRAME.pack(b"o", 2**32 - 1)
    outcome, done = _decode(header + b"z" * 2000, [], 1000)
    assert done
    assert outcome.truncated
    assert len(outcome.stdout) == 1000


@pytest.mark.parametrize(
    "data",
    [runner.FRAME.pack(b"?", 1) + b"x", runner.FRAME.pack(b"x", 2**31), encode_frame(b"x", b"[1]")],
)
def test_malformed_frames_are_protocol_violations(data: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        _decode(data, [])


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(runner, "WORK", str(tmp_path))
    return tmp_path


def test_runner_refuses_links_and_escapes_on_the_way_out(
    work: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret").write_text("host secret")
    (work / "ok.txt").write_text("fine")
    os.symlink(outside / "secret", work / "link.txt")
    os.symlink(outside, work / "dir")
    names = ["ok.txt", "link.txt", "dir/secret", "../secret", "/etc/passwd", "missing"]
    tar, refused = runner.collect_outputs(names, max_file=100, max_total=1000)
    assert set(refused) == set(names) - {"ok.txt"}
    assert b"host secret" not in tar
    assert b"fine" in tar


def test_runner_caps_fetched_sizes(work: Path) -> None:
    (work / "big").write_bytes(b"x" * 200)
    (work / "a").write_bytes(b"x" * 60)
    (work / "b").write_bytes(b"x" * 60)
    _, refused = runner.collect_outputs(["big", "a", "b"], max_file=100, max_total=100)
    assert set(refused) == {"big", "b"}


def test_runner_refuses_input_members_that_are_not_plain_files(work: Path) -> None:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("evil")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    with pytest.raises(ValueError, match="evil"):
        runner.extract_inputs(buffer.getvalue())
    assert not (work / "evil").exists()
