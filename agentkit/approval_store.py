"""Paused runs and their approvals, persisted in SQLite or PostgreSQL, and the ledger that
stops replays.

```python
store = ApprovalStore(".agentkit/approvals.db")
result = await agent.run("close ticket 7")          # status awaiting_approval
store.save(result)                                  # any process may now decide
# elsewhere:  agentkit approvals list;  agentkit approvals approve apr_...
run = store.load(result.run_id)
result = await agent.resume(run, store.decisions(run.run_id))
```

An approval id can be used once: `consume()` inserts it under a primary key, so a
second use, from any process sharing the file (or the database), is refused.

Given a ``postgresql://`` URL instead of a path, the store keeps the same tables in the
schema ``agentkit_approvals`` of that database (psycopg, the ``[db]`` extra), so service
workers on several hosts share it; each transaction holds one advisory lock, as each
SQLite transaction holds the file's write lock, so decisions never interleave.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentkit.audit.chain import AuditRecorder
from agentkit.canonical import canonical_json
from agentkit.errors import ApprovalRefused, ConfigError, RunStateError, RunStateTampered
from agentkit.pipeline.confirm import ApprovalDecision, check_state
from agentkit.sealing import Sealer, default_sealer
from agentkit.state import PendingApproval, RunResult
from agentkit.who_approves import Signer, check_signers

DEFAULT_STORE_PATH = ".agentkit/approvals.db"
Verdict = Literal["pending", "approved", "denied"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, agent TEXT NOT NULL, status TEXT NOT NULL,
    state TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS approvals (
    approval_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, call_id TEXT NOT NULL,
    tool TEXT NOT NULL, arguments TEXT NOT NULL, arguments_sha256 TEXT NOT NULL,
    reason TEXT NOT NULL, rule TEXT NOT NULL, requested_at REAL NOT NULL,
    verdict TEXT NOT NULL DEFAULT 'pending', approver TEXT, decided_at REAL,
    verdict_seal TEXT);
CREATE TABLE IF NOT EXISTS consumed (approval_id TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS signatures (
    approval_id TEXT NOT NULL, approver TEXT NOT NULL, roles TEXT NOT NULL,
    approved INTEGER NOT NULL, at REAL NOT NULL, PRIMARY KEY (approval_id, approver));
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, agent);
CREATE INDEX IF NOT EXISTS approvals_by_run ON approvals (run_id);
"""


def _private_dirs(directory: Path) -> None:
    """Create the missing directories of `directory`, each 0700; existing ones are kept."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)
        os.chmod(created, 0o700)  # the umask may have narrowed it further, never widened


def _private_file(path: Path) -> None:
    """Create the database file 0600 when missing; SQLite gives its journal, -wal and
    -shm files the database file's mode."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)


@dataclass(frozen=True, slots=True)
class StoredApproval:
    pending: PendingApproval
    agent: str
    verdict: Verdict
    approver: str | None
    verdict_seal: str | None = None
    """The seal of (approval, verdict, approver, signers) under the deployment key, once
    decided."""
    signers: tuple[Signer, ...] = ()
    """Who decided it (several, under a two-person rule), once decided."""


class ApprovalStore:
    """Store of paused runs, their pending approvals and used approval ids: a SQLite file,
    or a ``postgresql://`` URL."""

    def __init__(
        self, path: str | Path = DEFAULT_STORE_PATH, *, sealer: Sealer | None = None
    ) -> None:
        self._sealer = sealer
        self._lock = threading.Lock()
        self.location = str(path)
        """The file's path, or the database's URL."""
        self._postgres: _Postgres | None = None
        if self.location.startswith(("postgresql://", "postgres://")):
            self._postgres = _Postgres(self.location)
            self._identity: object = self.location
            return
        self._path = Path(path)
        self._identity = self._path.resolve()
        _private_dirs(self._path.parent)
        _private_file(self._path)
        db = sqlite3.connect(self._path, timeout=10)
        try:
            db.executescript(_SCHEMA)  # commits on its own: no transaction around it
            columns = {row[1] for row in db.execute("PRAGMA table_info(approvals)")}
            if "verdict_seal" not in columns:  # a store made before verdicts were sealed
                db.execute("ALTER TABLE approvals ADD COLUMN verdict_seal TEXT")
            if "signers" not in columns:  # a store made before several people could sign
                db.execute("ALTER TABLE approvals ADD COLUMN signers TEXT")
        finally:
            db.close()

    @property
    def path(self) -> Path:
        """The SQLite file (the CLI keeps its saved commands beside it).

        Raises:
            ConfigError: the store is in PostgreSQL.
        """
        if self._postgres is not None:
            raise ConfigError(
                f"the approvals store {self.location} is in PostgreSQL, not a file: the CLI's "
                "run, resume and approvals commands take a SQLite store (--store PATH)"
            )
        return self._path

    def __eq__(self, other: object) -> bool:
        """Stores on the same file (or database) are the same ledger of used approvals."""
        if not isinstance(other, ApprovalStore):
            return NotImplemented
        return self._identity == other._identity

    def __hash__(self) -> int:
        return hash(self._identity)

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        with self._lock:
            if self._postgres is not None:
                with self._postgres.transaction() as pg:
                    yield pg
                return
            db = sqlite3.connect(self._path, timeout=10, isolation_level=None)
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            finally:
                db.close()

    def save(self, run: RunResult) -> None:
        """Store a run's state and register its pending approvals."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET "
                "status=excluded.status, state=excluded.state, updated_at=excluded.updated_at",
                (run.run_id, run.agent, run.status, run.to_json(), time.time()),
            )
            for p in run.pending:
                db.execute(
                    "INSERT INTO approvals (approval_id, run_id, call_id, tool, arguments,"
                    " arguments_sha256, reason, rule, requested_at) VALUES (?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT DO NOTHING",
                    (
                        p.approval_id,
                        p.run_id,
                        p.call_id,
                        p.tool,
                        canonical_json(p.arguments),
                        p.arguments_sha256,
                        p.reason,
                        p.rule,
                        p.requested_at,
                    ),
                )

    def load(self, run_id: str) -> RunResult:
        with self._connect() as db:
            row = db.execute("SELECT state FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunStateError(f"no stored run {run_id!r} in {self.location}")
        return RunResult.from_json(row[0])

    def waiting(self, agent: str, tool: str) -> list[tuple[RunResult, set[str]]]:
        """The paused runs of `agent` with an approval for `tool`, each with the ids of its
        approvals nobody has decided yet (read through the store's indexes, however many
        runs it has kept)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT r.run_id, r.state, a.approval_id, a.verdict FROM runs r"
                " JOIN approvals a USING (run_id)"
                " WHERE r.status = 'awaiting_approval' AND r.agent = ? AND a.tool = ?"
                " ORDER BY a.requested_at",
                (agent, tool),
            ).fetchall()
        runs: dict[str, tuple[RunResult, set[str]]] = {}
        for run_id, state, approval_id, verdict in rows:
            if run_id not in runs:
                try:
                    runs[run_id] = (RunResult.from_json(state), set())
                except RunStateError:
                    continue  # not a run's state: resuming it is refused the same way
            if verdict == "pending":
                runs[run_id][1].add(approval_id)
        return list(runs.values())

    def approvals(self, verdict: Verdict | None = "pending") -> list[StoredApproval]:
        query = (
            "SELECT a.approval_id, a.run_id, a.call_id, a.tool, a.arguments, a.arguments_sha256,"
            " a.reason, a.rule, a.requested_at, r.agent, a.verdict, a.approver, a.verdict_seal,"
            " a.signers"
            " FROM approvals a JOIN runs r USING (run_id)"
        )
        params: tuple[str, ...] = ()
        if verdict is not None:
            query, params = query + " WHERE a.verdict = ?", (verdict,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY a.requested_at", params).fetchall()
        return [_stored(row) for row in rows]

    def decide(
        self,
        approval_id: str,
        *,
        approved: bool,
        approver: str,
        roles: Sequence[str] = (),
        audit: AuditRecorder | None = None,
    ) -> StoredApproval:
        """Record one person's verdict on a pending approval.

        Who may decide is the policy's, stamped into the paused run's sealed state
        (`agentkit.who_approves`): the approver's `roles` (as the application vouches for
        them), not their own call unless the rule allows it, and as many distinct people
        as it requires; until then an approval stays pending with this signature kept. One
        permitted denial decides at once. With `audit`, each signature is an
        ``approval.recorded`` record the moment it is made, naming who made it; when that
        record cannot be written, nothing is stored.

        Raises:
            ApprovalRefused: unknown or decided already, the same person twice, a person
                the rule does not let decide, or an expired request.
            RunStateTampered: the paused run's state does not carry its seal.
        """
        signer = Signer(user_id=approver, roles=tuple(roles))
        with self._connect() as db:
            row = db.execute(
                "SELECT a.run_id, a.verdict, r.state FROM approvals a JOIN runs r USING (run_id)"
                " WHERE a.approval_id = ?",
                (approval_id,),
            ).fetchone()
            if row is None or row[1] != "pending":
                raise ApprovalRefused(f"approval {approval_id} is unknown or already decided")
            run = RunResult.from_json(row[2])
            check_state(run, self.sealer, None)
            pending = next((p for p in run.pending if p.approval_id == approval_id), None)
            if pending is None:
                raise ApprovalRefused(f"approval {approval_id} is not pending in run {row[0]}")
            earlier = [
                Signer(user_id=str(who), roles=tuple(json.loads(str(held))))
                for who, held in db.execute(
                    "SELECT approver, roles FROM signatures WHERE approval_id = ? AND approved = 1"
                    " ORDER BY at",
                    (approval_id,),
                )
            ]
            signers = [*earlier, signer] if approved else [signer]
            outcome = check_signers(
                pending.approvers,
                requester=run.principal.user_id,
                approved=approved,
                signers=signers,
                requested_at=pending.requested_at,
                now=time.time(),
            )
            db.execute(
                "INSERT INTO signatures VALUES (?, ?, ?, ?, ?)",
                (approval_id, approver, json.dumps(list(roles)), int(approved), time.time()),
            )
            if outcome != "waiting":
                verdict = "approved" if outcome == "approved" else "denied"
                signed = _signers_json(signers)
                seal = self.sealer.seal("verdict", approval_id, verdict, approver, signed)
                db.execute(
                    "UPDATE approvals SET verdict = ?, approver = ?, decided_at = ?,"
                    " verdict_seal = ?, signers = ? WHERE approval_id = ?",
                    (verdict, approver, time.time(), seal, signed, approval_id),
                )
            if audit is not None:
                audit.record(
                    "approval.recorded",
                    {
                        "run_id": pending.run_id,
                        "call_id": pending.call_id,
                        "tool": pending.tool,
                        "approval_id": approval_id,
                        "approved": approved,
                        "approver": approver,
                        "approver_roles": list(roles),
                        "outcome": outcome,
                        "rule": pending.approvers.rule,
                    },
                )  # inside the transaction: an unwritten record leaves nothing stored
        return next(a for a in self.approvals(None) if a.pending.approval_id == approval_id)

    def decisions(self, run_id: str) -> list[ApprovalDecision]:
        """The recorded verdicts of a run, ready for `Agent.resume`; resuming consumes them in
        this store, whatever ledger the agent has. Verdicts the resumed state already applied
        (an earlier, partial resume) are skipped by the runner."""
        decided = [
            a for a in self.approvals(None) if a.pending.run_id == run_id and a.verdict != "pending"
        ]
        for row in decided:
            self._check_verdict(row)
        return [
            dataclasses.replace(
                ApprovalDecision._for(
                    a.pending, a.verdict == "approved", a.approver or "unknown", ""
                ),
                ledger=self,
                signers=a.signers,
            )
            for a in decided
        ]

    @property
    def sealer(self) -> Sealer:
        if self._sealer is None:
            self._sealer = default_sealer()
        return self._sealer

    def _check_verdict(self, row: StoredApproval) -> None:
        parts = (
            "verdict",
            row.pending.approval_id,
            row.verdict,
            row.approver or "",
            _signers_json(row.signers),
        )
        if not self.sealer.check(row.verdict_seal, *parts):
            raise RunStateTampered(
                f"the verdict on {row.pending.approval_id} in {self.location} does not carry its "
                "seal: it was not recorded by ApprovalStore.decide under this deployment's key"
            )

    durable = True
    """Every process that opens the same file shares its record of used approvals."""

    def was_used(self, approval_id: str) -> bool:
        """Whether `approval_id` was consumed in this store (by any process)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM consumed WHERE approval_id = ?", (approval_id,)
            ).fetchone()
        return row is not None

    def consume(self, approval_id: str) -> bool:
        with self._connect() as db:
            added = db.execute(
                "INSERT INTO consumed VALUES (?, ?) ON CONFLICT DO NOTHING",
                (approval_id, time.time()),
            )
            return bool(added.rowcount == 1)


_PG_SCHEMA = (
    "CREATE SCHEMA IF NOT EXISTS agentkit_approvals",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY, agent TEXT NOT NULL, status TEXT NOT NULL,
        state TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS approvals (
        approval_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, call_id TEXT NOT NULL,
        tool TEXT NOT NULL, arguments TEXT NOT NULL, arguments_sha256 TEXT NOT NULL,
        reason TEXT NOT NULL, rule TEXT NOT NULL, requested_at DOUBLE PRECISION NOT NULL,
        verdict TEXT NOT NULL DEFAULT 'pending', approver TEXT, decided_at DOUBLE PRECISION,
        verdict_seal TEXT, signers TEXT)""",
    """CREATE TABLE IF NOT EXISTS consumed (
        approval_id TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS signatures (
        approval_id TEXT NOT NULL, approver TEXT NOT NULL, roles TEXT NOT NULL,
        approved INTEGER NOT NULL, at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (approval_id, approver))""",
    "CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, agent)",
    "CREATE INDEX IF NOT EXISTS approvals_by_run ON approvals (run_id)",
)
_PG_LOCK = 4_242_424_243  # one advisory lock: a transaction at a time, as SQLite's file lock


class _Postgres:
    """The store's statements on one psycopg connection, in schema ``agentkit_approvals``."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise ConfigError(
                "a PostgreSQL approvals store needs psycopg: pip install 'agentkit[db]'"
            ) from None
        self._db = psycopg.connect(
            url, autocommit=True, options="-c search_path=agentkit_approvals"
        )
        with self.transaction() as db:
            for statement in _PG_SCHEMA:
                db.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[_PostgresStatements]:
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))
            yield _PostgresStatements(self._db)


class _PostgresStatements:
    """`execute` with the SQLite spelling (``?`` placeholders) the store is written in."""

    def __init__(self, db: Any) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql.replace("?", "%s"), params)


def _stored(row: tuple[object, ...]) -> StoredApproval:
    import json

    (
        approval_id,
        run_id,
        call_id,
        tool,
        arguments,
        digest,
        reason,
        rule,
        requested_at,
        agent,
        verdict,
        approver,
        verdict_seal,
        signers,
    ) = row
    pending = PendingApproval(
        approval_id=str(approval_id),
        run_id=str(run_id),
        call_id=str(call_id),
        tool=str(tool),
        arguments=json.loads(str(arguments)),
        arguments_sha256=str(digest),
        reason=str(reason),
        rule=str(rule),
        requested_at=float(requested_at),  # type: ignore[arg-type]
    )
    return StoredApproval(
        pending,
        str(agent),
        verdict,  # type: ignore[arg-type]
        approver,  # type: ignore[arg-type]
        None if verdict_seal is None else str(verdict_seal),
        tuple(Signer(**s) for s in json.loads(str(signers))) if signers else (),
    )


def _signers_json(signers: Sequence[Signer]) -> str:
    return canonical_json([signer.model_dump(mode="json") for signer in signers])
