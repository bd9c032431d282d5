"""The index's SQLite file: its tables, and opening it.

``documents`` holds one row per document (its ACL as JSON, and three flags the ACL
query reads); ``acl_entries`` one row per ACL entry, keyed for lookup by (kind, value);
``chunks`` the chunks, with ``chunks_fts`` (FTS5, external content, kept in step by
triggers) over their section and text; ``chunk_vectors`` a vector per chunk, when the
index embeds. ``PRAGMA user_version`` is the schema version.
"""

from __future__ import annotations

import sqlite3

from agentkit.retrieval.retrieval_errors import IndexInvalid

SCHEMA_VERSION = 1
SECTION_SEPARATOR = " > "

_TABLES = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    acl TEXT NOT NULL,
    public INTEGER NOT NULL,
    scoped INTEGER NOT NULL,   -- the ACL lists workspaces
    granted INTEGER NOT NULL,  -- the ACL lists users or roles
    updated_at TEXT NOT NULL
);
CREATE TABLE acl_entries (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (kind, value, doc_id)
) WITHOUT ROWID;
CREATE INDEX acl_entries_doc ON acl_entries (doc_id);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    section TEXT NOT NULL,
    page INTEGER,
    text TEXT NOT NULL,
    tokens INTEGER NOT NULL
);
CREATE INDEX chunks_doc ON chunks (doc_id, ordinal);
CREATE TABLE chunk_vectors (id INTEGER PRIMARY KEY, embedding BLOB NOT NULL);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    section, text, content='chunks', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_added AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, section, text) VALUES (new.id, new.section, new.text);
END;
CREATE TRIGGER chunks_removed AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, section, text)
        VALUES ('delete', old.id, old.section, old.text);
    DELETE FROM chunk_vectors WHERE id = old.id;
END;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL for a file.

    Raises:
        IndexInvalid: the file is not SQLite, or holds another schema version.
    """
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise IndexInvalid(f"{path}: not a local index ({exc})") from None
    if version not in (0, SCHEMA_VERSION):
        conn.close()
        raise IndexInvalid(f"{path}: schema version {version}, this code reads {SCHEMA_VERSION}")
    return conn


def create_tables(conn: sqlite3.Connection, path: str) -> None:
    """Create the tables of a new index; check an existing one has them."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            if conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
                raise IndexInvalid(f"{path}: a SQLite file that is not a local index")
            for statement in _statements(_TABLES):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """The statements of `script` (a trigger's body holds semicolons of its own)."""
    statements: list[str] = []
    current = ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements
