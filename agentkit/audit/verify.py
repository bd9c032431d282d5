"""Offline verification of an audit chain, and the repair of a crash-cut last line.

Verification recomputes every record's hash and checks that it links to the record
before it. It finds an edited, deleted, inserted or reordered record and a partial
last line. A cut tail (whole records removed from the end) is found only against an
anchor: a head (seq, hash) kept somewhere else.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentkit.audit.records import (
    EMPTY_HEAD,
    FORMAT_VERSION,
    Anchor,
    parse_line,
    reseal,
)
from agentkit.audit.sinks import move_partial_aside, open_locked, read_tail
from agentkit.errors import AuditChainBroken, ConfigError

BreakKind = Literal[
    "unreadable", "hash", "seq", "prev", "partial", "anchor", "truncated", "row", "replay"
]


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place where a log stops verifying."""

    line: int
    """1-based line (or row) number."""
    seq: int | None
    """The seq the broken record claims, when it is readable."""
    kind: BreakKind
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" (seq {self.seq})" if self.seq is not None else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of verifying a log."""

    records: int
    """Records that verified before the first break (all of them when ok)."""
    head: Anchor
    """The last verified record's (seq, hash)."""
    error: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        """True when the whole log verified."""
        return self.error is None

    def raise_for_break(self) -> None:
        """Raise AuditChainBroken when the log did not verify."""
        if self.error is not None:
            raise AuditChainBroken(f"audit chain broken at {self.error}", seq=self.error.seq)


class ChainVerifier:
    """Checks records one at a time, in order; shared by the file and SQL verifiers."""

    def __init__(self, anchor: Anchor | None = None) -> None:
        self.head = EMPTY_HEAD
        self.anchor = anchor
        self._used_approvals: dict[str, int] = {}

    def check(
        self, record: dict[str, Any], line: int, text: str | None = None
    ) -> ChainBreak | None:
        """Check the next record and advance the head; return the break, if any.

        Args:
            record: the parsed record.
            line: its line or row number, for the report.
            text: the stored line; when given it must match the canonical form byte for byte.
        """
        seq = record["seq"]
        if record.get("v") != FORMAT_VERSION:
            return ChainBreak(
                line, seq, "unreadable", f"unknown format version {record.get('v')!r}"
            )
        canonical, record_hash = reseal(record)
        if record_hash != record["hash"]:
            return ChainBreak(line, seq, "hash", "the record does not match its hash (edited)")
        if text is not None and text != canonical:
            return ChainBreak(line, seq, "hash", "the line is not in canonical form (edited)")
        expected = self.head.seq + 1
        if seq != expected:
            return ChainBreak(
                line,
                seq,
                "seq",
                f"expected seq {expected}: a record was deleted, inserted or moved here",
            )
        if record["prev"] != self.head.hash:
            reason = (
                "the first record does not start from the genesis hash"
                if seq == 1
                else (
                    "the record does not link to the one before it (deleted, inserted or reordered)"
                )
            )
            return ChainBreak(line, seq, "prev", reason)
        if (
            self.anchor is not None
            and seq == self.anchor.seq
            and record["hash"] != self.anchor.hash
        ):
            return ChainBreak(line, seq, "anchor", "the record differs from the anchor's hash")
        self.head = Anchor(seq, record["hash"])
        return self._replayed(record, line)

    def _replayed(self, record: dict[str, Any], line: int) -> ChainBreak | None:
        """A second use of one approval: the chain is intact, but what it records is a
        replay (an approvals store rolled back while nothing checked the chain)."""
        fields = record.get("fields")
        if record["event"] != "approval.decided" or not isinstance(fields, dict):
            return None
        approval_id = fields.get("approval_id")
        if not isinstance(approval_id, str):
            return None
        first = self._used_approvals.setdefault(approval_id, record["seq"])
        if first == record["seq"]:
            return None
        return ChainBreak(
            line,
            record["seq"],
            "replay",
            f"approval {approval_id} is used a second time (first at seq {first}): a replay",
        )

    def finish(self, line: int) -> ChainBreak | None:
        """After the last record: a break when the log ends before the anchor."""
        if self.anchor is not None and self.head.seq < self.anchor.seq:
            return ChainBreak(
                line,
                None,
                "truncated",
                f"the log ends at seq {self.head.seq} but the anchor is at seq "
                f"{self.anchor.seq}: records were cut from the end",
            )
        return None

    def result(self, error: ChainBreak | None) -> VerifyResult:
        """The result so far, with `error` as its break."""
        return VerifyResult(self.head.seq, self.head, error)


def verify_lines(lines: Iterable[str | bytes], *, anchor: Anchor | None = None) -> VerifyResult:
    """Verify stored lines in order; a last line without a newline counts as partial.

    Args:
        lines: each line as read from the file, with its trailing newline.
        anchor: a head kept elsewhere; the log must reach it and agree with it.
    """
    verifier = ChainVerifier(anchor)
    number = 0
    for number, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.endswith("\n"):
            return verifier.result(
                ChainBreak(
                    number,
                    None,
                    "partial",
                    f"the last line is a partial record ({len(text)} bytes, no newline), left by "
                    f"an interrupted write; the {verifier.head.seq} records before it verify",
                )
            )
        try:
            record = parse_line(text)
        except ValueError as exc:
            return verifier.result(ChainBreak(number, None, "unreadable", f"not a record: {exc}"))
        error = verifier.check(record, number, text[:-1])
        if error is not None:
            return verifier.result(error)
    return verifier.result(verifier.finish(number + 1))


def verify_file(path: str | os.PathLike[str], *, anchor: Anchor | None = None) -> VerifyResult:
    """Verify a JSONL audit log.

    Example:
        >>> result = verify_file("audit.jsonl")  # doctest: +SKIP
        >>> result.ok, result.records  # doctest: +SKIP
        (True, 1204)

    Raises:
        ConfigError: the file cannot be read.
    """
    try:
        with open(path, "rb") as handle:
            return verify_lines(handle, anchor=anchor)
    except OSError as exc:
        raise ConfigError(f"cannot read audit log {path}: {exc.strerror}") from exc


def read_anchor_file(path: str | os.PathLike[str]) -> Anchor:
    """Read an anchor file written by AuditLog (``SEQ:HASH``)."""
    try:
        return Anchor.parse(Path(path).read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read audit anchor {path}: {exc}") from exc


def repair_file(path: str | os.PathLike[str]) -> Path | None:
    """Move a partial last line aside to ``<path>.partial-<offset>``; nothing else changes.

    Returns:
        Where the partial bytes went, or None when the file ends cleanly.
    """
    target = Path(path)
    if not target.is_file():
        raise ConfigError(f"no audit log at {target}")
    fd = open_locked(target)
    try:
        size = os.fstat(fd).st_size
        _, partial = read_tail(fd, size)
        return move_partial_aside(fd, target, size - partial) if partial else None
    finally:
        os.close(fd)


def iter_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the parsed records of a JSONL log (no verification)."""
    with open(path, "rb") as handle:
        for raw in handle:
            if raw.endswith(b"\n"):
                yield parse_line(raw)
