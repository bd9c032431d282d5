"""The demo's ticket database: a small SQLite file the example creates on first run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

TICKETS = [
    (41, "open", "high", "payments", "Card refunds stuck in pending since the 02:00 deploy", 3),
    (42, "open", "high", "storage", "Disk at 94% on db-replica-2; WAL archiving slow", 2),
    (43, "open", "low", "web", "Typo on the status page footer", 9),
    (44, "open", "medium", "auth", "SSO login loops for users in the EU workspace", 1),
    (45, "closed", "medium", "storage", "Backup job took 3h instead of 40m", 12),
]


def create_database(path: Path) -> Path:
    """Create (or recreate) the demo's tickets database and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE tickets (id INTEGER PRIMARY KEY, status TEXT NOT NULL,"
            " priority TEXT NOT NULL, service TEXT NOT NULL, title TEXT NOT NULL,"
            " age_days INTEGER NOT NULL)"
        )
        db.executemany("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?)", TICKETS)
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, password_hash TEXT)")
        db.execute("INSERT INTO users VALUES (1, 'oncall@example.com', 'not-for-the-model')")
    return path
