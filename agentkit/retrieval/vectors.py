"""Optional embeddings: vectors per chunk, cosine distance in SQL, reciprocal rank fusion.

Vectors are stored unit-length as float32 blobs (sqlite-vec's format), one per chunk.
The distance is ``vec_distance_cosine``: sqlite-vec's when the extension loads, else an
exact pure-Python function of the same name and meaning (registered on the connection),
so the SQL is one and the same and the ACL filter stays inside it either way. The Python
distance scans every readable vector: fine for thousands of chunks, slow for millions.
"""

from __future__ import annotations

import importlib
import math
import operator
import sqlite3
from array import array
from collections.abc import Callable, Sequence
from typing import Literal

from agentkit.retrieval.retrieval_errors import EmbeddingFailed

Embed = Callable[[list[str]], Sequence[Sequence[float]]]
"""Maps texts to one vector each (e.g. xAI's ``/v1/embeddings``); the same model always."""
VectorBackend = Literal["sqlite-vec", "python"]
RRF_K = 60
BATCH = 64
"""Texts per call of the embedding function."""


def load_distance(conn: sqlite3.Connection) -> VectorBackend:
    """Give `conn` ``vec_distance_cosine``: sqlite-vec's when it loads, else Python's."""
    try:
        sqlite_vec = importlib.import_module("sqlite_vec")
        conn.enable_load_extension(True)
        try:
            sqlite_vec.load(conn)
        finally:
            conn.enable_load_extension(False)
        return "sqlite-vec"
    except (ImportError, AttributeError, sqlite3.OperationalError):
        # Python built without loadable extensions, or sqlite-vec not installed
        conn.create_function("vec_distance_cosine", 2, _cosine_distance, deterministic=True)
        return "python"


def _cosine_distance(a: bytes, b: bytes) -> float:
    x, y = memoryview(a).cast("f"), memoryview(b).cast("f")
    if len(x) != len(y):
        raise ValueError("vectors of different dimensions")
    dot: float = sum(map(operator.mul, x, y))
    return 1.0 - dot  # both are unit-length


def embed_texts(
    embed: Embed, texts: list[str], where: str, dimensions: int | None
) -> tuple[list[bytes], int | None]:
    """The packed unit vectors of `texts`, and their dimension.

    Raises:
        EmbeddingFailed: the function raised, or answered the wrong number of vectors,
            vectors of another dimension than `dimensions`, or zero or non-finite ones.
    """
    packed: list[bytes] = []
    for start in range(0, len(texts), BATCH):
        batch = texts[start : start + BATCH]
        try:
            vectors = list(embed(batch))
        except Exception as exc:
            raise EmbeddingFailed(
                f"{where}: the embedding function failed ({type(exc).__name__})"
            ) from exc
        if len(vectors) != len(batch):
            raise EmbeddingFailed(
                f"{where}: the embedding function answered {len(vectors)} vectors "
                f"for {len(batch)} texts"
            )
        for vector in vectors:
            blob = pack(vector, where)
            size = len(blob) // 4
            if dimensions is not None and size != dimensions:
                raise EmbeddingFailed(f"{where}: a vector of {size} dimensions, not {dimensions}")
            dimensions = size
            packed.append(blob)
    return packed, dimensions


def pack(vector: Sequence[float], where: str) -> bytes:
    """`vector` scaled to unit length, as float32 bytes."""
    try:
        values = [float(v) for v in vector]
    except (TypeError, ValueError):
        raise EmbeddingFailed(f"{where}: a vector holds something other than numbers") from None
    norm = math.sqrt(math.fsum(v * v for v in values))
    if not values or not math.isfinite(norm) or norm == 0.0:
        raise EmbeddingFailed(f"{where}: an empty, zero or non-finite vector")
    return array("f", [v / norm for v in values]).tobytes()


def fuse(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: ids by the sum of 1 / (k + rank) over the rankings (rank 1
    first); ties go to the better best rank, then the smaller id."""
    scores: dict[int, float] = {}
    best: dict[int, int] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            best[item] = min(best.get(item, rank), rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], best[kv[0]], kv[0]))
