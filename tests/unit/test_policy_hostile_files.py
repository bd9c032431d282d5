"""Whatever bytes a policy or list file holds, loading it ends in a typed, located error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agentkit.cli import main
from agentkit.errors import PolicyLoadError
from agentkit.policy import load_policy
from agentkit.policy._yaml import MAX_BYTES

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


KINDS = ["regular", "fifo", "directory", "loop", "dangling", "to_fifo", "huge", "not_utf8"]
names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("\x00\n\r/.\\"),
    min_size=1,
    max_size=12,
)


def make_target(directory: Path, name: str, kind: str) -> None:
    """Put a file of `kind` at `name` when the name can be a file in `directory`."""
    if "\x00" in name or "/" in name or name in (".", "..") or len(name.encode()) > 200:
        return
    target = directory / name
    if kind == "regular":
        target.write_text("version: 1\n")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    elif kind == "loop":
        os.symlink(name, target)
    elif kind == "dangling":
        os.symlink(directory / "missing", target)
    elif kind == "to_fifo":
        os.mkfifo(directory / "a-fifo")
        os.symlink(directory / "a-fifo", target)
    elif kind == "huge":
        target.write_bytes(b"#" * (MAX_BYTES + 1))
    else:
        target.write_bytes(b"version: 1\n# \xff\xfe\n")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=names, kind=st.sampled_from(KINDS), as_list=st.booleans())
def test_any_named_file_of_any_kind_loads_or_fails_at_the_line_naming_it(
    tmp_path_factory: pytest.TempPathFactory, name: str, kind: str, as_list: bool
) -> None:
    """Extends and list files: any name (a NUL, a newline, a symlink loop) and any kind (a
    FIFO, a directory, too large, not UTF-8) load, or fail with `file:line:`, never hang or
    crash; the message prints no control character."""
    assume(not name.startswith("/"))  # an absolute name reaches this machine's own files
    directory = tmp_path_factory.mktemp("named")
    make_target(directory, name, kind)
    path = directory / "p.yaml"
    reference = (
        f"lists: {{l: {{file: {json.dumps(name)}}}}}" if as_list else f"extends: {json.dumps(name)}"
    )
    path.write_text(f"version: 1\n{reference}\n")
    failure: PolicyLoadError | None = None
    try:
        load_policy(path)
    except PolicyLoadError as exc:
        failure = exc
    if failure is None:
        assert kind == "regular", "only a regular UTF-8 file of a usable name loads"
        return
    message = str(failure)
    assert message.startswith((f"{path}:2: ", f"{path}: ")), message
    assert not any(ord(ch) < 32 for ch in message), repr(message)
