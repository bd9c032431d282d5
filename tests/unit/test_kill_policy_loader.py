"""Reading policy and list files: at most the size cap, whatever the reads return."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from agentkit.errors import PolicyLoadError
from agentkit.policy import load_policy, loader


class ShortReads:
    """os.read that returns at most `most` bytes a call and counts what it returned."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.returned = 0
        self.real = os.read

    def __call__(self, fd: int, n: int) -> bytes:
        chunk = self.real(fd, min(n, self.most))
        self.returned += len(chunk)
        return chunk


@pytest.fixture
def short_reads(monkeypatch: pytest.MonkeyPatch) -> ShortReads:
    reads = ShortReads(5)
    monkeypatch.setattr(os, "read", reads)
    return reads


def test_a_file_read_in_pieces_is_joined_unchanged(tmp_path: Path, short_reads: ShortReads) -> None:
    path = tmp_path / "f.txt"
    path.write_text("alpha beta\n", encoding="utf-8")
    assert loader.read_bounded(path, limit=11) == "alpha beta\n"


def test_one_byte_over_the_cap_is_refused_when_the_cap_is_reached_in_pieces(
    tmp_path: Path, short_reads: ShortReads
) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"a" * 11)
    with pytest.raises(ValueError) as info:
        loader.read_bounded(path, limit=10)
    assert str(info.value) == "file is larger than 10 bytes"


def test_a_large_file_is_read_no_further_than_one_byte_past_the_cap(
    tmp_path: Path, short_reads: ShortReads
) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"a" * 1000)
    with pytest.raises(ValueError):
        loader.read_bounded(path, limit=10)
    assert short_reads.returned == 11


def test_a_large_file_read_whole_is_read_no_further_than_one_byte_past_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = ShortReads(1 << 20)
    monkeypatch.setattr(os, "read", reads)
    path = tmp_path / "f.txt"
    path.write_bytes(b"a" * 1000)
    with pytest.raises(ValueError):
        loader.read_bounded(path, limit=10)
    assert reads.returned == 11


def test_a_file_of_exactly_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"a" * 10)
    assert loader.read_bounded(path, limit=10) == "a" * 10


def test_a_file_is_opened_without_becoming_the_controlling_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags: list[int] = []
    real = os.open

    def spy(path: Path, flag: int, *args: int) -> int:
        flags.append(flag)
        return real(path, flag, *args)

    monkeypatch.setattr(os, "open", spy)
    path = tmp_path / "f.txt"
    path.write_text("x", encoding="utf-8")
    loader.read_bounded(path)
    assert flags == [os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY]


def test_a_failing_read_is_reported_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(fd: int, n: int) -> bytes:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "read", broken)
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\n", encoding="utf-8")
    with pytest.raises(PolicyLoadError) as info:
        load_policy(path)
    err = info.value
    assert (err.path, err.line, err.detail) == (
        str(path),
        None,
        "cannot read the file: Input/output error",
    )


def test_a_directory_is_not_a_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError) as info:
        load_policy(tmp_path)
    err = info.value
    assert (err.path, err.line, err.detail) == (str(tmp_path), None, "is not a regular file")


def test_a_fifo_as_a_list_file_is_refused_at_the_list_line(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "vals.txt")
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nlists:\n  l:\n    file: vals.txt\n", encoding="utf-8")
    with pytest.raises(PolicyLoadError) as info:
        loader.resolve_lists(loader.load_files([path]))
    err = info.value
    assert (Path(err.path).name, err.line, err.detail) == (
        "p.yaml",
        4,
        "list 'l': cannot read vals.txt: is not a regular file",
    )
