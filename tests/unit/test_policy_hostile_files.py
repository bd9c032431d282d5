"""Whatever bytes a policy or list file holds, loading it ends in a typed, located error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit.cli import main
from agentkit.errors import PolicyLoadError
from agentkit.policy import load_policy

FRAGMENTS = [
    b"version: 1\n",
    b"tools:\n",
    b"  a: {action: allow}\n",
    b"extends: x.yaml\n",
    b"lists: {l: {file: l.txt}}\n",
    b"\x00",
    b"\x07",
    b"\x1b[2A",
    b"\xff\xfe",
    b"&a [*a]",
    b"!!python/object:os.system x",
    b"{",
    b"- - -",
    b"\t",
    b"\xe2\x80\xae",
    b"key: [",
    b"a: !!binary AAAA",
]
contents = st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=40), max_size=12).map(b"".join)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=contents, listed=st.binary(max_size=60))
def test_arbitrary_bytes_load_or_fail_with_a_policy_error(
    tmp_path: Path, data: bytes, listed: bytes
) -> None:
    (tmp_path / "x.yaml").write_bytes(b"version: 1\n")
    (tmp_path / "l.txt").write_bytes(listed)
    path = tmp_path / "p.yaml"
    path.write_bytes(data)
    failure: PolicyLoadError | None = None
    try:
        load_policy(path)
    except PolicyLoadError as exc:
        failure = exc
    if failure is not None:
        assert str(path) in str(failure) or "l.txt" in str(failure)


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "/dev/stdin", "."])
def test_extends_and_list_files_must_be_regular_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    target = str(tmp_path) if target == "." else target
    for text in (
        f"version: 1\nextends: {target}\n",
        f"version: 1\nlists: {{a: {{file: {target}}}}}\n",
    ):
        path = tmp_path / "p.yaml"
        path.write_text(text)
        assert main(["policy", "check", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{path}:2:" in err
        assert "Traceback" not in err


def test_a_fifo_does_not_block_the_loader(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(PolicyLoadError, match="not a regular file"):
        load_policy(fifo)


def test_control_characters_are_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"version: 1\ntools:\n  a\x07: {}\n")
    assert main(["policy", "check", str(path)]) == 2
    assert f"{path}:3: invalid YAML" in capsys.readouterr().err
