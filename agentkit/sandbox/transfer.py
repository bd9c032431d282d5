"""Files in and out of a sandbox as tar streams, with caps and path checks.

Inputs are checked before anything reaches Docker; outputs are parsed in memory
(never extracted onto the host's disk) and refused member by member when they are
links, devices, absolute, contain ``..``, were not asked for, or exceed a cap.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable, Mapping

from agentkit.errors import SandboxFileError


def check_name(name: str) -> str:
    """A safe relative path inside the work directory, normalised.

    Raises:
        SandboxFileError: absolute, empty, ``..``, or odd characters.
    """
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        raise SandboxFileError(f"file name {name!r} refused: must be a relative path")
    parts = [part for part in name.split("/") if part]
    if any(part in ("..", ".") for part in parts) or len(name) > 255:
        raise SandboxFileError(f"file name {name!r} refused: no '..', '.' or over-long names")
    return "/".join(parts)


def pack_inputs(
    files: Mapping[str, bytes | str] | None, *, max_bytes: int, max_files: int
) -> bytes:
    """A tar of regular files for the work directory.

    Raises:
        SandboxFileError: a name is unsafe, or the count or total size is over its cap.
    """
    if not files:
        return b""
    if len(files) > max_files:
        raise SandboxFileError(f"{len(files)} input files: at most {max_files} are allowed")
    blobs = {check_name(k): _as_bytes(v) for k, v in files.items()}
    total = sum(len(v) for v in blobs.values())
    if total > max_bytes:
        raise SandboxFileError(f"input files total {total} bytes: the cap is {max_bytes}")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in blobs.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            member.mode = 0o644
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def check_fetch(names: Iterable[str], *, max_files: int) -> list[str]:
    """The names to fetch, checked before the run.

    Raises:
        SandboxFileError: an unsafe name, or more names than the cap.
    """
    checked = [check_name(n) for n in names]
    if len(checked) > max_files:
        raise SandboxFileError(f"{len(checked)} files to fetch: at most {max_files} are allowed")
    return checked


def unpack_outputs(data: bytes, *, wanted: Iterable[str], max_bytes: int) -> dict[str, bytes]:
    """The regular files of an output tar, read into memory.

    Raises:
        SandboxFileError: a member is not a regular file, not asked for, unsafe, or over the cap.
    """
    if not data:
        return {}
    allowed, out, total = set(wanted), {}, 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for member in archive:
                name = _checked_member(member, allowed)
                total += member.size
                if total > max_bytes:
                    raise SandboxFileError(f"fetched files exceed the cap of {max_bytes} bytes")
                source = archive.extractfile(member)
                out[name] = source.read() if source is not None else b""
    except tarfile.TarError as exc:
        raise SandboxFileError(f"the sandbox returned a malformed archive: {exc}") from exc
    return out


def _checked_member(member: tarfile.TarInfo, allowed: set[str]) -> str:
    if not member.isreg():
        raise SandboxFileError(f"fetched member {member.name!r} refused: not a regular file")
    try:
        tarfile.data_filter(member, "/work")
    except tarfile.FilterError as exc:
        raise SandboxFileError(f"fetched member {member.name!r} refused: {exc}") from exc
    name = check_name(member.name)
    if name not in allowed:
        raise SandboxFileError(f"fetched member {name!r} refused: it was not asked for")
    return name
