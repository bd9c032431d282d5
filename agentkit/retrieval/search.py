"""The search queries: each arm filters by the principal's readable documents in SQL.

Both arms (BM25 over FTS5, and cosine distance over vectors) rank only chunks whose
document the principal may read, tested in the WHERE clause of the ranking statement
itself: a document it may not read is never ranked, so it cannot appear, be counted or
take a place within the limit.

BM25's term statistics are the whole index's, as FTS5 keeps them: the order of readable
hits can depend on text the principal cannot read. Hits carry a rank-based score rather
than the raw BM25 number for that reason; an index per tenant isolates even the order.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass

from agentkit.decision import Principal
from agentkit.retrieval.vectors import fuse

MAX_QUERY_TERMS = 32
_WORD = re.compile(r"\w+")

# The ACL rules of agentkit.retrieval.acl, as SQL: whether the principal may read the
# document `d`. Each test is a key lookup, made per matching chunk: the cost follows the
# matches, not the size of the corpus (or of the part the principal may read).
_READABLE = """(
    d.public = 1
    OR ((d.scoped = 0 OR EXISTS (
            SELECT 1 FROM acl_entries AS w
            WHERE w.kind = 'workspace' AND w.value = :workspace AND w.doc_id = d.doc_id))
        AND (EXISTS (
                SELECT 1 FROM acl_entries AS u
                WHERE u.kind = 'user' AND u.value = :user AND u.doc_id = d.doc_id)
            OR EXISTS (
                SELECT 1 FROM acl_entries AS r
                WHERE r.kind = 'role' AND r.doc_id = d.doc_id
                AND r.value IN (SELECT value FROM json_each(:roles)))
            OR (d.scoped = 1 AND d.granted = 0)))
)"""
_COLUMNS = "c.id, c.chunk_id, c.doc_id, d.title, c.section, c.page, c.text, d.source"
_BM25 = f"""
SELECT {_COLUMNS}
FROM chunks_fts JOIN chunks AS c ON c.id = chunks_fts.rowid
JOIN documents AS d ON d.doc_id = c.doc_id
WHERE chunks_fts MATCH :match AND {_READABLE}
ORDER BY bm25(chunks_fts, 2.0, 1.0), c.id
LIMIT :limit
"""
_NEAREST = f"""
SELECT {_COLUMNS}
FROM chunk_vectors AS v JOIN chunks AS c ON c.id = v.id
JOIN documents AS d ON d.doc_id = c.doc_id
WHERE {_READABLE}
ORDER BY vec_distance_cosine(v.embedding, :vector), c.id
LIMIT :limit
"""

Row = tuple[int, str, str, str, str, int | None, str, str]


@dataclass(frozen=True, slots=True)
class DocumentHit:
    """One chunk found for a principal who may read its document."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    """Its heading path, ``"Guide > Install"``; empty when it has none."""
    page: int | None
    """Its PDF page, from 1; None for other kinds."""
    text: str
    score: float
    """Reciprocal-rank score, 1 / (60 + rank) summed over the arms: higher is better."""
    source: str


def match_expression(query: str) -> str | None:
    """The query's words as an FTS5 expression (any word; quoted, so nothing is syntax)."""
    words = dict.fromkeys(w.lower() for w in _WORD.findall(query))
    terms = list(words)[:MAX_QUERY_TERMS]
    return " OR ".join(f'"{term}"' for term in terms) or None


def principal_params(principal: Principal) -> dict[str, str | None]:
    return {
        "user": principal.user_id,
        "roles": json.dumps(list(principal.roles)),
        "workspace": principal.workspace,
    }


def ranked(
    conn: sqlite3.Connection,
    principal: Principal,
    match: str | None,
    vector: bytes | None,
    *,
    limit: int,
    depth: int,
) -> list[DocumentHit]:
    """The best `limit` readable chunks, by BM25 alone or fused with vector distance.

    Both arms run in one read transaction, so they see the same state of the index.
    """
    params = principal_params(principal)
    conn.execute("BEGIN")
    try:
        arms: list[list[Row]] = []
        arm_limit = limit if vector is None else depth
        if match is not None:
            bm25 = {**params, "match": match, "limit": arm_limit}
            arms.append(conn.execute(_BM25, bm25).fetchall())
        if vector is not None:
            nearest = {**params, "vector": vector, "limit": depth}
            arms.append(conn.execute(_NEAREST, nearest).fetchall())
    finally:
        conn.execute("COMMIT")
    rows = {row[0]: row for arm in arms for row in arm}
    fused = fuse([[row[0] for row in arm] for arm in arms])[:limit]
    return [_hit(rows[item], score) for item, score in fused]


def _hit(row: Row, score: float) -> DocumentHit:
    _, chunk_id, doc_id, title, section, page, text, source = row
    return DocumentHit(chunk_id, doc_id, title, section, page, text, score, source)
