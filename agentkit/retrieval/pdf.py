"""PDF into blocks, one per page (numbered from 1), with pypdf (the ``retrieval`` extra)."""

from __future__ import annotations

import io
import re
import warnings
from typing import TYPE_CHECKING

from agentkit.retrieval.chunking import Block
from agentkit.retrieval.documents import clean_text
from agentkit.retrieval.retrieval_errors import (
    DocumentTooLarge,
    UnreadableDocument,
    UnsupportedDocument,
)

if TYPE_CHECKING:
    from pypdf import PdfReader

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def parse_pdf(
    data: bytes, where: str, *, max_pages: int, max_chars: int
) -> tuple[str | None, list[Block]]:
    """The PDF's title (its metadata) and a block per page with text.

    Raises:
        UnreadableDocument: pypdf cannot read it (damaged, encrypted, not a PDF).
        DocumentTooLarge: over `max_pages` pages or `max_chars` characters of text.
        UnsupportedDocument: pypdf is not installed.
    """
    try:
        from pypdf import PdfReader
    except ImportError:
        raise UnsupportedDocument(
            where, "reading PDF needs pypdf: pip install 'agentkit[retrieval]'"
        ) from None
    if not data.startswith(b"%PDF-"):
        raise UnreadableDocument(where, "not a PDF (no %PDF- header)")
    # pypdf warns about, and works around, many defects; a defect it cannot get past raises
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise UnreadableDocument(where, "encrypted with a password")
            if len(reader.pages) > max_pages:
                raise DocumentTooLarge(where, f"over {max_pages} pages")
            pages = _page_texts(reader, where, max_chars)
            title = reader.metadata.title if reader.metadata is not None else None
        except (UnreadableDocument, DocumentTooLarge):
            raise
        except Exception as exc:  # pypdf raises many types for a damaged file
            raise UnreadableDocument(where, f"pypdf cannot read it ({type(exc).__name__})") from exc
    blocks = []
    for number, text in enumerate(pages, start=1):
        paragraphs = tuple(" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text) if p.strip())
        if paragraphs:
            blocks.append(Block((), paragraphs, page=number))
    return (title.strip() or None) if isinstance(title, str) else None, blocks


def _page_texts(reader: PdfReader, where: str, max_chars: int) -> list[str]:
    texts: list[str] = []
    total = 0
    for page in reader.pages:
        text = clean_text(page.extract_text() or "")
        total += len(text)
        if total > max_chars:
            raise DocumentTooLarge(where, f"over {max_chars} characters of text")
        texts.append(text)
    return texts
