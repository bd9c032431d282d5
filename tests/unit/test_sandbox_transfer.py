"""Tar transfer checks: names, caps, and what is refused on the way out."""

from __future__ import annotations

import io
import tarfile

import pytest

from agentkit.errors import SandboxFileError
from agentkit.sandbox.transfer import check_fetch, check_name, pack_inputs, unpack_outputs


def _tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    "name", ["/etc/passwd", "../x", "a/../../x", "a\\b", "", "./a", "a/./b", "x" * 300]
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(SandboxFileError):
        check_name(name)


def test_safe_names_are_normalised() -> None:
    assert check_name("data/in.csv") == "data/in.csv"
    assert check_name("a//b") == "a/b"


def test_inputs_round_trip_through_a_tar_of_regular_files() -> None:
    data = pack_inputs({"a.txt": "hé", "d/b.bin": b"\x00\x01"}, max_bytes=100, max_files=5)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert all(m.isreg() for m in members.values())
        assert archive.extractfile(members["a.txt"]).read() == "hé".encode()  # type: ignore[union-attr]


def test_inputs_over_the_size_or_count_cap_are_refused_before_docker() -> None:
    with pytest.raises(SandboxFileError, match="cap"):
        pack_inputs({"big": b"x" * 101}, max_bytes=100, max_files=5)
    with pytest.raises(SandboxFileError, match="at most 1"):
        pack_inputs({"a": "", "b": ""}, max_bytes=100, max_files=1)
    with pytest.raises(SandboxFileError, match="at most 1"):
        check_fetch(["a", "b"], max_files=1)


def test_outputs_are_read_into_memory() -> None:
    tar = _tar((_member("out.txt"), b"result"))
    assert unpack_outputs(tar, wanted=["out.txt"], max_bytes=10) == {"out.txt": b"result"}


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (_member("out.txt", tarfile.SYMTYPE, "/etc/passwd"), "not a regular file"),
        (_member("out.txt", tarfile.LNKTYPE, "/etc/passwd"), "not a regular file"),
        (_member("out.txt", tarfile.CHRTYPE), "not a regular file"),
        (_member("/etc/passwd"), "refused"),
        (_member("../out.txt"), "refused"),
        (_member("other.txt"), "not asked for"),
    ],
)
def test_hostile_output_members_are_refused(member: tarfile.TarInfo, reason: str) -> None:
    tar = _tar((member, b"x"))
    with pytest.raises(SandboxFileError, match=reason):
        unpack_outputs(tar, wanted=["out.txt"], max_bytes=10)


def test_outputs_over_the_cap_are_refused() -> None:
    tar = _tar((_member("a"), b"x" * 6), (_member("b"), b"y" * 6))
    with pytest.raises(SandboxFileError, match="cap"):
        unpack_outputs(tar, wanted=["a", "b"], max_bytes=10)


def test_a_malformed_archive_is_a_file_error() -> None:
    with pytest.raises(SandboxFileError, match="malformed"):
        unpack_outputs(b"not a tar at all" * 64, wanted=["a"], max_bytes=10)
