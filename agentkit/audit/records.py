"""The audit record format: canonical JSON, the hash chain's links, anchors.

One record is one JSON object on one line::

    {"event":"call.requested","fields":{...},"prev":"<hex>","seq":7,"ts":"...Z","v":1,"hash":"<hex>"}

``hash`` is the SHA-256 of the canonical JSON of every other key. ``prev`` is the
``hash`` of the record before it; the first record of a log has ``seq`` 1 and
``prev`` equal to `GENESIS`, a constant, so every log verifies on its own.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentkit.canonical import canonical_json
from agentkit.errors import ConfigError

FORMAT_VERSION = 1
GENESIS = hashlib.sha256(b"agentkit.audit.v1.genesis").hexdigest()
"""The ``prev`` of every log's first record."""

KNOWN_EVENTS: frozenset[str] = frozenset(
    {
        "model.request",
        "model.response",
        "call.requested",
        "call.validated",
        "call.invalid",
        "call.decided",
        "approval.requested",
        "approval.decided",
        "call.progress",
        "call.executed",
        "call.failed",
        "call.timed_out",
        "run.started",
        "run.paused",
        "run.resumed",
        "run.ended",
    }
)
"""The events the runner emits. Other dotted lowercase names are accepted too."""

_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_HASH = re.compile(r"[0-9a-f]{64}")


def digest(text: str) -> str:
    """SHA-256 hex digest of canonical JSON text."""
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def check_event_name(event: str) -> None:
    """Raise ConfigError unless `event` is a dotted lowercase name like ``call.executed``."""
    if event not in KNOWN_EVENTS and not _EVENT_NAME.fullmatch(event):
        raise ConfigError(f"audit event name {event!r} is not a dotted lowercase name")


def format_ts(unix: float) -> str:
    """Unix time as ISO-8601 UTC with microseconds, ``2026-01-02T03:04:05.123456Z``."""
    micros = round(unix * 1_000_000)
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{_second_prefix(seconds)}.{fraction:06d}Z"


@functools.lru_cache(maxsize=4)
def _second_prefix(seconds: int) -> str:
    # Records arrive many per second: format each second once.
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True, slots=True)
class Anchor:
    """A (seq, hash) pair from a log's head, kept elsewhere to prove a tail was not cut.

    Example:
        >>> Anchor.parse("3:" + "ab" * 32).seq
        3
    """

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """Read ``SEQ:HASH``; raise ConfigError when it is not one."""
        seq_text, _, hash_text = text.strip().partition(":")
        hash_text = hash_text.lower()
        if not seq_text.isdigit() or not _HASH.fullmatch(hash_text):
            raise ConfigError(f"an anchor reads SEQ:HASH (64 hex digits), got {text.strip()!r}")
        return cls(int(seq_text), hash_text)


EMPTY_HEAD = Anchor(0, GENESIS)
"""The head of a log with no records."""


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """A record with its place in the chain, ready for a sink.

    ``line`` is the exact text a line-oriented sink stores (no newline); the other
    attributes repeat parts of it for sinks that index them.
    """

    seq: int
    ts: str
    event: str
    prev: str
    hash: str
    line: str
    run_id: str | None
    call_id: str | None


def seal(seq: int, ts: str, event: str, fields_json: str, prev: str) -> tuple[str, str]:
    """Build a record's line and hash from its parts.

    The body is assembled in canonical key order (event, fields, prev, seq, ts, v),
    so it equals ``canonical_json`` of the same dict without a second serialisation.

    Args:
        seq: position in the chain, from 1.
        ts: formatted timestamp.
        event: event name.
        fields_json: canonical JSON of the (redacted) fields object.
        prev: hash of the previous record, or GENESIS.

    Returns:
        (line, hash): the stored line (body plus ``"hash"`` as its last key) and the hash.
    """
    body = (
        f'{{"event":{json.dumps(event)},"fields":{fields_json},"prev":"{prev}",'
        f'"seq":{seq},"ts":"{ts}","v":{FORMAT_VERSION}}}'
    )
    record_hash = digest(body)
    return f'{body[:-1]},"hash":"{record_hash}"}}', record_hash


def parse_line(line: str | bytes) -> dict[str, Any]:
    """Parse one stored line into a record dict; raise ValueError when it is not one."""
    record = json.loads(line)
    if not isinstance(record, dict):
        raise ValueError("a record is a JSON object")
    for key, kind in (("seq", int), ("hash", str), ("prev", str), ("event", str)):
        if not isinstance(record.get(key), kind):
            raise ValueError(f"the record has no valid {key!r}")
    return record


def reseal(record: dict[str, Any]) -> tuple[str, str]:
    """The line and hash a parsed record should have been stored as.

    A stored line that differs from this one in any byte was not written by AuditLog.
    """
    body = canonical_json({key: value for key, value in record.items() if key != "hash"})
    record_hash = digest(body)
    return f'{body[:-1]},"hash":"{record_hash}"}}', record_hash


def recompute_hash(record: dict[str, Any]) -> str:
    """The hash a record dict should carry: SHA-256 over the canonical JSON of the rest."""
    return reseal(record)[1]
