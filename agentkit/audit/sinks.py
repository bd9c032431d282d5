"""Where sealed audit records go: the sink seam, a JSONL file, and memory.

A sink stores records in order and reports the head it resumes from. It raises
AuditWriteFailed when a record may not be stored; it never drops one silently.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from agentkit.audit.records import Anchor, SealedRecord, parse_line, recompute_hash
from agentkit.canonical import canonical_json
from agentkit.errors import AuditWriteFailed

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

_CHUNK = 64 * 1024


class AuditSink(Protocol):
    """The seam between the audit log and its storage."""

    def tail(self) -> Anchor | None:
        """The last stored record's (seq, hash), or None when the store is empty."""
        ...

    def write(self, record: SealedRecord) -> None:
        """Store one record durably enough to survive the process; raise AuditWriteFailed."""
        ...

    def close(self) -> None:
        """Release the store; later writes raise AuditWriteFailed."""
        ...


@runtime_checkable
class RunReader(Protocol):
    """A sink that can read back the records of one run (every built-in sink can)."""

    def records_of_run(self, run_id: str) -> Iterator[dict[str, Any]]:
        """The stored records whose fields name `run_id`, in chain order, parsed."""
        ...


class MemorySink:
    """Keeps records in a list; for tests and for capture_audit()."""

    def __init__(self) -> None:
        self.records: list[SealedRecord] = []
        self.closed = False

    def tail(self) -> Anchor | None:
        """The last record's anchor, or None."""
        if not self.records:
            return None
        last = self.records[-1]
        return Anchor(last.seq, last.hash)

    def write(self, record: SealedRecord) -> None:
        """Append `record`; raise AuditWriteFailed once closed."""
        if self.closed:
            raise AuditWriteFailed("the in-memory audit sink is closed")
        self.records.append(record)

    def close(self) -> None:
        """Refuse further writes."""
        self.closed = True

    def records_of_run(self, run_id: str) -> Iterator[dict[str, Any]]:
        """The records of `run_id`, parsed from their lines."""
        for record in list(self.records):
            if record.run_id == run_id:
                yield parse_line(record.line)

    @property
    def lines(self) -> list[str]:
        """The stored lines, as a JSONL sink would have written them."""
        return [record.line for record in self.records]


class JsonlSink:
    """Appends one JSON line per record to a file, with one ``write(2)`` per record.

    Records reach the kernel before ``write`` returns (nothing is buffered in the
    process); ``fsync=True`` also waits for the disk. An existing file is resumed
    from its last record. The file is locked while open: a second writer would fork
    the chain.

    Args:
        path: the log file; created with mode 0600 when missing.
        fsync: fsync after every record.
        repair_partial: when the file ends with a partial record (a crash mid-write),
            move those bytes to ``<path>.partial-<offset>`` instead of refusing to open.

    Example:
        >>> from agentkit.audit import AuditLog
        >>> log = AuditLog(JsonlSink("audit.jsonl"))  # doctest: +SKIP
    """

    def __init__(
        self, path: str | os.PathLike[str], *, fsync: bool = False, repair_partial: bool = False
    ) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._fd: int | None = open_locked(self.path)
        try:
            self._tail = self._resume(repair_partial)
        except BaseException:
            self.close()
            raise

    def tail(self) -> Anchor | None:
        """The head this file resumed from (None for a new or empty file)."""
        return self._tail

    def write(self, record: SealedRecord) -> None:
        """Append `record` as one line; raise AuditWriteFailed on any error."""
        if self._fd is None:
            raise AuditWriteFailed(f"audit log {self.path} is closed")
        data = memoryview(f"{record.line}\n".encode("ascii"))
        try:
            while data:
                data = data[os.write(self._fd, data) :]
            if self._fsync:
                os.fsync(self._fd)
        except OSError as exc:
            raise AuditWriteFailed(f"cannot write audit log {self.path}: {exc.strerror}") from exc

    def close(self) -> None:
        """Unlock and close the file; idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing releases the flock

    def records_of_run(self, run_id: str) -> Iterator[dict[str, Any]]:
        """The records of `run_id`, read from the file up to its current end."""
        if self._fd is None:
            raise AuditWriteFailed(f"audit log {self.path} is closed")
        needle = canonical_run_field(run_id)
        for line in _lines(self._fd, os.fstat(self._fd).st_size):
            if needle in line:
                record = parse_line(line)
                if record.get("fields", {}).get("run_id") == run_id:
                    yield record

    def fileno(self) -> int:
        """The open file descriptor (for tests that break it)."""
        if self._fd is None:
            raise AuditWriteFailed(f"audit log {self.path} is closed")
        return self._fd

    def _resume(self, repair_partial: bool) -> Anchor | None:
        assert self._fd is not None
        info = os.fstat(self._fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            return None  # a device or a new file: nothing to resume
        last, partial = read_tail(self._fd, info.st_size)
        if partial:
            if not repair_partial:
                raise AuditWriteFailed(
                    f"{self.path} ends with a partial record ({partial} bytes after the last "
                    f"newline), left by a crash during a write; run `agentkit audit repair "
                    f"{self.path}` to move it aside, then open the log again"
                )
            try:
                move_partial_aside(self._fd, self.path, info.st_size - partial)
            except OSError as exc:
                raise AuditWriteFailed(
                    f"cannot move the partial record of {self.path} aside: {exc}"
                ) from exc
        return _anchor_of(last, self.path) if last else None


def open_locked(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise AuditWriteFailed(f"cannot open audit log {path}: {exc.strerror}") from exc
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise AuditWriteFailed(
                f"audit log {path} is already open for writing (another process or sink); "
                "two writers would fork the chain"
            ) from exc
    return fd


def canonical_run_field(run_id: str) -> bytes:
    """How a record's line spells its run id (canonical JSON: ASCII, no spaces)."""
    return b'"run_id":' + canonical_json(run_id).encode("ascii")


def _lines(fd: int, size: int) -> Iterator[bytes]:
    """The complete lines of the first `size` bytes of a file, read in chunks."""
    offset, rest = 0, b""
    while offset < size:
        chunk = os.pread(fd, min(_CHUNK * 16, size - offset), offset)
        if not chunk:
            break
        offset += len(chunk)
        *lines, rest = (rest + chunk).split(b"\n")
        yield from lines
    if rest:
        yield rest


def read_tail(fd: int, size: int) -> tuple[bytes, int]:
    """Find a file's last complete line and the length of any partial line after it.

    Returns:
        (last complete line without its newline, or b""; bytes after the last newline).
    """
    end = size
    buffer = b""
    partial: int | None = None
    while end > 0:
        start = max(0, end - _CHUNK)
        buffer = os.pread(fd, end - start, start) + buffer
        end = start
        if partial is None:
            cut = buffer.rfind(b"\n")
            if cut < 0:
                continue
            partial, buffer = len(buffer) - cut - 1, buffer[:cut]
        cut = buffer.rfind(b"\n")
        if cut >= 0:
            return buffer[cut + 1 :], partial
    return (buffer, partial) if partial is not None else (b"", size)


def move_partial_aside(fd: int, path: Path, offset: int) -> Path:
    """Copy the bytes after `offset` to ``<path>.partial-<offset>``, then truncate there."""
    size = os.fstat(fd).st_size
    aside = path.with_name(f"{path.name}.partial-{offset}")
    with open(aside, "xb") as out:
        out.write(os.pread(fd, size - offset, offset))
        out.flush()
        os.fsync(out.fileno())
    os.ftruncate(fd, offset)
    return aside


def _anchor_of(line: bytes, path: Path) -> Anchor:
    try:
        record = parse_line(line)
    except ValueError as exc:
        raise AuditWriteFailed(
            f"cannot resume {path}: its last line is not a record ({exc}); "
            f"run `agentkit audit verify {path}`"
        ) from exc
    if recompute_hash(record) != record["hash"]:
        raise AuditWriteFailed(
            f"cannot resume {path}: its last record does not match its hash; "
            f"run `agentkit audit verify {path}`"
        )
    return Anchor(record["seq"], record["hash"])
