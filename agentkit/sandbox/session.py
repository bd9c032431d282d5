"""One execution against one started container: send the request, read frames, keep the deadline.

Blocking code (docker-py and a raw socket): the sandbox calls `drive` through
``asyncio.to_thread``. The deadline is the host's: socket reads time out at it and
the container is killed. Output is capped per stream; past the cap the container is
killed too. Everything the container sends is parsed as hostile input.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from agentkit.sandbox.container_runner import FRAME

_DOCKER_HEADER = struct.Struct(">BxxxL")
_REPORT_LIMIT = 1 << 20
_DIAGNOSTICS_LIMIT = 1 << 16


class ProtocolViolation(Exception):
    """The container sent something that is not a valid frame."""


@dataclass
class RawOutcome:
    """What came back from the container, before it is turned into an Execution."""

    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    truncated: bool = False
    timed_out: bool = False
    tar: bytes = b""
    report: dict[str, Any] | None = None
    diagnostics: bytearray = field(default_factory=bytearray)
    violation: str | None = None


def encode_request(code: bytes, tar: bytes, fetch: list[str], max_fetch_bytes: int) -> bytes:
    """The bytes the runner reads from its stdin."""
    header = {
        "code": len(code),
        "files": len(tar),
        "fetch": fetch,
        "max_file_bytes": max_fetch_bytes,
        "max_fetch_bytes": max_fetch_bytes,
    }
    return json.dumps(header).encode() + b"\n" + code + tar


class FrameDecoder:
    """Incremental parser of the runner's frames, capping each output stream."""

    def __init__(self, outcome: RawOutcome, *, cap: int, max_tar: int) -> None:
        self.outcome = outcome
        self._cap = cap
        self._limits = {b"f": max_tar + (1 << 20), b"x": _REPORT_LIMIT}
        self._buf = bytearray()
        self._kind: bytes | None = None
        self._left = 0

    def feed(self, data: bytes) -> bool:
        """Consume bytes; True once the run is over (report received or output capped)."""
        self._buf += data
        while True:
            if self._kind is None:
                if len(self._buf) < FRAME.size:
                    return False
                self._start_frame()
            if self._kind in (b"o", b"e"):
                if self._stream_payload():
                    return True
                if self._left:
                    return False
            elif len(self._buf) < self._left:
                return False
            elif self._whole_payload():
                return True
            self._kind = None

    def _start_frame(self) -> None:
        kind, length = FRAME.unpack_from(self._buf)
        del self._buf[: FRAME.size]
        if kind not in (b"o", b"e", b"f", b"x"):
            raise ProtocolViolation(f"unknown frame type {kind!r}")
        if length > self._limits.get(kind, length):
            raise ProtocolViolation(f"frame {kind!r} of {length} bytes is over its limit")
        self._kind, self._left = kind, length

    def _stream_payload(self) -> bool:
        chunk = bytes(self._buf[: self._left])
        del self._buf[: len(chunk)]
        self._left -= len(chunk)
        target = self.outcome.stdout if self._kind == b"o" else self.outcome.stderr
        room = self._cap - len(target)
        target += chunk[: max(room, 0)]
        if len(chunk) > room:
            self.outcome.truncated = True
        return self.outcome.truncated

    def _whole_payload(self) -> bool:
        payload = bytes(self._buf[: self._left])
        del self._buf[: self._left]
        if self._kind == b"f":
            self.outcome.tar = payload
            return False
        try:
            report = json.loads(payload)
        except ValueError as exc:
            raise ProtocolViolation(f"unreadable exit report: {exc}") from exc
        if not isinstance(report, dict):
            raise ProtocolViolation("the exit report is not an object")
        self.outcome.report = report
        return True


def _raw_socket(sock: Any) -> socket.socket:
    raw = getattr(sock, "_sock", sock)
    if not isinstance(raw, socket.socket):
        raise ProtocolViolation(f"unsupported attach transport {type(raw).__name__}")
    return raw


def _recv_exact(sock: socket.socket, size: int, deadline: float) -> bytes | None:
    """``size`` bytes, or None at end of stream; raises TimeoutError at the deadline."""
    parts, got = [], 0
    while got < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        data = sock.recv(min(size - got, 1 << 16))
        if not data:
            return None
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def _pump(sock: socket.socket, decoder: FrameDecoder, deadline: float) -> None:
    """Read Docker's multiplexed stream until the run is over or the stream ends."""
    outcome = decoder.outcome
    while True:
        header = _recv_exact(sock, _DOCKER_HEADER.size, deadline)
        if header is None:
            return
        stream, length = _DOCKER_HEADER.unpack(header)
        payload = _recv_exact(sock, length, deadline) if length else b""
        if payload is None:
            return
        if stream == 1:
            if decoder.feed(payload):
                return
        elif len(outcome.diagnostics) < _DIAGNOSTICS_LIMIT:
            outcome.diagnostics += payload[: _DIAGNOSTICS_LIMIT - len(outcome.diagnostics)]


def drive(
    api: Any, container_id: str, request: bytes, *, timeout: float, cap: int, max_tar: int
) -> RawOutcome:
    """Run one request in a started container; kill it at the deadline or on overflow."""
    outcome = RawOutcome()
    decoder = FrameDecoder(outcome, cap=cap, max_tar=max_tar)
    params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
    handle = api.attach_socket(container_id, params=params)
    deadline = time.monotonic() + timeout
    sock: socket.socket | None = None
    try:
        sock = _raw_socket(handle)
        sock.settimeout(timeout)
        sock.sendall(request)
        _pump(sock, decoder, deadline)
    except TimeoutError:
        outcome.timed_out = True
    except ProtocolViolation as exc:
        outcome.violation = str(exc)
    finally:
        _hang_up(sock, handle)
    if outcome.timed_out or outcome.truncated or outcome.violation:
        _kill(api, container_id)
    return outcome


def _hang_up(sock: socket.socket | None, handle: Any) -> None:
    """Really close the attach connection, even if docker-py still holds a reference.

    A connection left open but unread stalls Docker's copy of the container's output,
    and with it the container's exit, kill and removal (the daemon hangs on its lock).
    """
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    handle.close()


def _kill(api: Any, container_id: str) -> None:
    import docker.errors

    with contextlib.suppress(docker.errors.APIError):  # already gone: removal follows anyway
        api.kill(container_id)
