"""API tokens: created for a user and roles, stored hashed, looked up per request."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from agentkit.decision import Principal
from agentkit.errors import ConfigError

TOKEN_PREFIX = "akt_"
DEFAULT_TOKENS_PATH = ".agentkit/tokens.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY, user_id TEXT NOT NULL, roles TEXT NOT NULL,
    workspace TEXT, created_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
"""


class Unauthenticated(Exception):
    """No principal for this request: the service answers 401 and does nothing else."""


class Authenticator(Protocol):
    """The seam between HTTP and a `Principal`: who the request's headers say is calling.

    `authenticate` runs in a worker thread (it may wait on the network) unless the class
    sets ``blocks = False``, when it runs on the event loop and must answer at once.
    """

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The caller (headers by lower-case name), or `Unauthenticated`."""
        ...


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """Tokens in SQLite, only their SHA-256 kept: a copy of the file grants nothing."""

    def __init__(self, path: str | Path = DEFAULT_TOKENS_PATH) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # one connection, kept: every request looks a token up, and connecting costs more
        # than the lookup (the lock serialises threads; the module's default serialises too)
        self._conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        with self._conn as db:
            db.executescript(_SCHEMA)
        self.path.chmod(0o600)

    def _db(self) -> sqlite3.Connection:
        return self._conn

    def create(
        self, user_id: str, roles: tuple[str, ...] = (), workspace: str | None = None
    ) -> str:
        """A new token for `user_id`; it is shown once, here, and never stored."""
        if not user_id.strip():
            raise ConfigError("a token needs a user id")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._lock, self._db() as db:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, 0)",
                (_digest(token), user_id, json.dumps(list(roles)), workspace, time.time()),
            )
        return token

    def revoke(self, token: str) -> bool:
        with self._lock, self._db() as db:
            done = db.execute(
                "UPDATE tokens SET revoked = 1 WHERE digest = ? AND revoked = 0", (_digest(token),)
            )
        return done.rowcount == 1

    def lookup(self, token: str) -> Principal | None:
        """The principal of a live token; None for an unknown or revoked one."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self._lock, self._db() as db:
            row = db.execute(
                "SELECT digest, user_id, roles, workspace FROM tokens WHERE digest = ?"
                " AND revoked = 0",
                (_digest(token),),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[0], _digest(token)):
            return None
        return Principal(user_id=row[1], roles=tuple(json.loads(row[2])), workspace=row[3])


class TokenAuthenticator:
    """``Authorization: Bearer akt_...`` against a `TokenStore`."""

    blocks = False
    """Answers from memory or a local file at once: called on the event loop."""

    def __init__(self, store: TokenStore) -> None:
        self._store = store

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("send Authorization: Bearer <token>")
        found = self._store.lookup(credential.strip())
        if found is None:
            raise Unauthenticated("unknown or revoked token")
        return found
