"""A document into its title and chunks, within the index's limits, or a typed error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from agentkit.retrieval.chunking import BUDGETS, Block, TextChunk, chunk_blocks
from agentkit.retrieval.documents import Document, Kind, decode_text
from agentkit.retrieval.html import parse_html
from agentkit.retrieval.markdown import parse_markdown, parse_text
from agentkit.retrieval.pdf import parse_pdf
from agentkit.retrieval.retrieval_errors import DocumentTooLarge


@dataclass(frozen=True, slots=True)
class Limits:
    """What one document may be, at most: bigger ones are refused, never cut."""

    max_bytes: int = 32 * 1024 * 1024
    max_chars: int = 8 * 1024 * 1024
    """Characters of text after decoding or PDF extraction."""
    max_pages: int = 2000


@dataclass(frozen=True, slots=True)
class Parsed:
    """A document read and chunked, ready to be written."""

    kind: Kind
    title: str
    chunks: list[TextChunk]


def parse_document(document: Document, limits: Limits) -> Parsed:
    """Read `document` by its kind and cut it into chunks.

    Raises:
        DocumentRejected: a subclass saying why (unsupported, binary, unreadable, too large).
    """
    kind = document.resolved_kind()
    data = document.data()
    where = document.where
    if len(data) > limits.max_bytes:
        raise DocumentTooLarge(where, f"over {limits.max_bytes} bytes")
    title: str | None
    if kind == "pdf":
        title, blocks = parse_pdf(
            data, where, max_pages=limits.max_pages, max_chars=limits.max_chars
        )
    else:
        text = decode_text(data, where)  # given text too: the same checks and cleaning
        if len(text) > limits.max_chars:
            raise DocumentTooLarge(where, f"over {limits.max_chars} characters of text")
        title, blocks = _parse_text_kind(kind, text)
    chunks = chunk_blocks(blocks, BUDGETS[kind], merge_blocks=kind != "pdf")
    return Parsed(kind, document.title or title or _stem(document), chunks)


def _parse_text_kind(kind: Kind, text: str) -> tuple[str | None, list[Block]]:
    if kind == "markdown":
        return parse_markdown(text)
    if kind == "html":
        return parse_html(text)
    return None, parse_text(text)


def _stem(document: Document) -> str:
    name = PurePosixPath((document.source or document.doc_id).replace("\\", "/")).name
    return name.rsplit(".", 1)[0] if "." in name else name
