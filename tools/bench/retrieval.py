"""The local document index: ingestion throughput, and ACL-filtered search as it grows.

Synthetic Markdown pages of about 500 words (a title, two sections; words drawn from a
Zipf-like vocabulary of 20,000) are synced into a fresh index file: BM25 only, no
embedding function. Each page gets one of four ACLs in turn (a user, a role, another
role, another workspace), so the searching principal (user ``ana``, role ``staff``,
workspace ``acme``) may read half the pages. Searches are two or three words from the
vocabulary's middle ranks, eight hits each, timed one by one after a warm-up, at a
small corpus and then at a large one (the same index, synced with more pages: 10k and
100k chunks, quick 2k and 10k): the growth ratio is p50 at the large size over p50 at
the small one. Growing syncs the whole larger corpus: its time includes hashing and
skipping the pages already indexed (pages/s counts the new ones). Every hit is checked
against the ACL rules.

    python -m tools.bench.retrieval [--quick]
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from agentkit.decision import Principal
from agentkit.retrieval import Acl, Document, LocalIndex
from tools.bench.common import machine, section_main

PAGE_WORDS = 500
VOCABULARY = 20_000
CHUNK_SIZES = {True: (2_000, 10_000), False: (10_000, 100_000)}
"""Chunks searched, small and large, by `quick`."""
QUERIES = {True: 200, False: 400}
WARM_UP = 20
LIMIT = 8
PRINCIPAL = Principal(user_id="ana", roles=("staff",), workspace="acme")
ACLS = (
    Acl(users=["ana"], workspaces=["acme"]),
    Acl(roles=["staff"]),
    Acl(roles=["finance"], workspaces=["acme"]),
    Acl(roles=["staff"], workspaces=["globex"]),
)
"""In turn, page by page: the principal reads the first two, so half the corpus."""


class Corpus:
    """Deterministic synthetic pages: page n is the same text whenever it is made."""

    def __init__(self, seed: int = 0) -> None:
        rng = random.Random(seed)
        syllables = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "ve", "zu", "an", "or"]
        words: set[str] = set()
        while len(words) < VOCABULARY:
            words.add("".join(rng.choices(syllables, k=rng.randint(2, 4))))
        self.words = sorted(words)
        rng.shuffle(self.words)
        self.cum_weights = list(_cumulative([1 / (rank + 1) ** 1.07 for rank in range(VOCABULARY)]))

    def page(self, n: int) -> Document:
        rng = random.Random(n)
        body = rng.choices(self.words, cum_weights=self.cum_weights, k=PAGE_WORDS)
        half = PAGE_WORDS // 2
        text = (
            f"# Page {n}\n\n## Overview\n\n{_sentences(body[:half], rng)}\n\n"
            f"## Details\n\n{_sentences(body[half:], rng)}\n"
        )
        return Document(f"pages/{n:06d}.md", text, acl=ACLS[n % len(ACLS)])

    def pages(self, count: int) -> Iterator[Document]:
        return (self.page(n) for n in range(count))

    def queries(self, count: int, seed: int = 1) -> list[str]:
        rng = random.Random(seed)
        middle = self.words[100:5000]
        return [" ".join(rng.sample(middle, rng.choice((2, 3)))) for _ in range(count)]


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def _sentences(words: list[str], rng: random.Random) -> str:
    out, i = [], 0
    while i < len(words):
        n = rng.randint(8, 20)
        sentence = " ".join(words[i : i + n])
        out.append(sentence[0].upper() + sentence[1:] + ".")
        i += n
    return " ".join(out)


def _chunks(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])


def _pages_for(chunks: int, per_page: float) -> int:
    return max(1, round(chunks / per_page))


def _sync(index: LocalIndex, corpus: Corpus, pages: int, before: int) -> dict[str, Any]:
    """Sync the first `pages` pages (the first `before` are already indexed, unchanged)."""
    started = time.perf_counter()
    result = index.sync(corpus.pages(pages))
    seconds = time.perf_counter() - started
    assert (result.added, result.unchanged) == (pages - before, before), result
    new = pages - before
    return {"pages": new, "seconds": round(seconds, 2), "pages_per_s": round(new / seconds, 1)}


def _search(index: LocalIndex, queries: list[str]) -> dict[str, Any]:
    """Time each query alone; check every hit is one the principal may read."""
    readable = _readable()
    for query in queries[:WARM_UP]:
        index.search(query, PRINCIPAL, limit=LIMIT)
    samples, hits, denied = [], 0, 0
    for query in queries[WARM_UP:]:
        started = time.perf_counter()
        found = index.search(query, PRINCIPAL, limit=LIMIT)
        samples.append((time.perf_counter() - started) * 1000)
        hits += len(found)
        denied += sum(int(h.doc_id[6:12]) % len(ACLS) not in readable for h in found)
    ordered = sorted(samples)
    return {
        "queries": len(samples),
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
        "mean_hits": round(hits / len(samples), 2),
        "denied_hits": denied,
    }


def _readable() -> set[int]:
    """Which of `ACLS` (by position) the principal may read."""
    return {n for n, acl in enumerate(ACLS) if acl.readable_by(PRINCIPAL)}


def measure(quick: bool = False) -> dict[str, Any]:
    """Ingest, search at the small size, grow, search again; the result for the report."""
    small, large = CHUNK_SIZES[quick]
    corpus = Corpus()
    queries = corpus.queries(QUERIES[quick] + WARM_UP)
    with tempfile.TemporaryDirectory(prefix="agentkit-bench-retrieval-") as tmp:
        path = Path(tmp) / "index.db"
        index = LocalIndex(path)
        try:
            probe = 200
            index.sync(corpus.pages(probe))
            per_page = _chunks(path) / probe
            index.sync([])  # empty again: the timed sync starts from nothing
            small_pages = _pages_for(small, per_page)
            ingest = _sync(index, corpus, small_pages, 0)
            searched = [{"chunks": _chunks(path), "pages": small_pages, **_search(index, queries)}]
            large_pages = _pages_for(large, per_page)
            grow = _sync(index, corpus, large_pages, small_pages)
            searched.append(
                {"chunks": _chunks(path), "pages": large_pages, **_search(index, queries)}
            )
            size_mb = path.stat().st_size / 2**20
        finally:
            index.close()
    return {
        "quick": quick,
        "machine": machine(),
        "page_words": PAGE_WORDS,
        "chunks_per_page": round(per_page, 2),
        "principal_reads": len(_readable()) / len(ACLS),
        "limit": LIMIT,
        "ingest": ingest,
        "grow": grow,
        "search": searched,
        "growth_p50": round(searched[1]["p50_ms"] / searched[0]["p50_ms"], 2),
        "index_mb": round(size_mb, 1),
    }


def section(data: dict[str, Any]) -> list[str]:
    """The Markdown lines of `measure`'s result."""
    small, large = data["search"]
    lines = [
        "## 2f. Retrieval: a local index, ingestion and ACL-filtered search",
        "",
        f"Synthetic Markdown pages of {data['page_words']} words "
        f"({data['chunks_per_page']} chunks a page), BM25 over SQLite FTS5; the principal "
        f"reads half the corpus, filtered inside the query; {data['limit']} hits a search.",
        "",
        "| ingestion | pages | seconds | pages/s |",
        "|---|---:|---:|---:|",
        f"| from empty | {data['ingest']['pages']} | {data['ingest']['seconds']} | "
        f"{data['ingest']['pages_per_s']} |",
        f"| growing to {large['chunks']} chunks | {data['grow']['pages']} | "
        f"{data['grow']['seconds']} | {data['grow']['pages_per_s']} |",
        "",
        "| chunks | pages | queries | p50 ms | p99 ms | mean ms | hits/search | denied hits |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in (small, large):
        lines.append(
            f"| {row['chunks']} | {row['pages']} | {row['queries']} | {row['p50_ms']} | "
            f"{row['p99_ms']} | {row['mean_ms']} | {row['mean_hits']} | {row['denied_hits']} |"
        )
    lines += [
        "",
        f"p50 grows {data['growth_p50']} x for {large['chunks'] / small['chunks']:.0f} x the "
        f"chunks; the index file is {data['index_mb']} MB at {large['chunks']} chunks.",
        "",
    ]
    return lines


def main() -> None:
    section_main(__doc__, "2k and 10k chunks, not 10k and 100k", measure, section)


if __name__ == "__main__":
    main()
