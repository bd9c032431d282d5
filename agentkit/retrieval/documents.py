"""What the index ingests: `Document`, its kind, its text, and the documents of a folder."""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from agentkit.retrieval.acl import Acl
from agentkit.retrieval.retrieval_errors import (
    BinaryDocument,
    DocumentTooLarge,
    RetrievalError,
    UnsupportedDocument,
)

Kind = Literal["markdown", "html", "text", "pdf"]
KINDS: tuple[Kind, ...] = ("markdown", "html", "text", "pdf")
SUFFIXES: dict[str, Kind] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".text": "text",
    ".pdf": "pdf",
}
"""The file names a folder sync reads; other files in the folder are not documents."""
MAX_DOC_ID_CHARS = 1024
_CONTROL_SHARE = 0.01
"""More control characters than this share of a text means it is not text (random bytes
have about 11%; real text, none but tabs and line breaks)."""
_SNIFF_CHARS = 65536
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# bidirectional overrides and isolates: they make text read differently than it is stored
_BIDI = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A)],
    None,
)


@dataclass(frozen=True, slots=True)
class Document:
    """One document to index: its stable id, its bytes or text, where it came from, its ACL.

    `kind` defaults to what the source's suffix says (``.md``, ``.html``, ``.txt``,
    ``.pdf``); `title` to the document's first heading (its PDF title, its stem). The
    default `acl` grants nobody: give each document one (or `sync(..., acl_for=...)`).
    """

    doc_id: str
    content: bytes | str
    source: str = ""
    """A path or URI, shown with each hit; default the doc_id."""
    kind: Kind | None = None
    title: str | None = None
    acl: Acl = field(default_factory=Acl)
    updated_at: str | None = None
    """ISO 8601; default the time of ingestion (a folder sync uses the file's mtime)."""

    @property
    def where(self) -> str:
        """How errors name this document: its source, else its id."""
        return self.source or self.doc_id

    def data(self) -> bytes:
        return self.content.encode("utf-8") if isinstance(self.content, str) else self.content

    def sha256(self) -> str:
        return hashlib.sha256(self.data()).hexdigest()

    def resolved_kind(self) -> Kind:
        """`kind`, or the kind the source's suffix (then the content) says.

        Raises:
            UnsupportedDocument: neither says a kind the index reads.
        """
        if self.kind is not None:
            if self.kind not in KINDS:
                raise UnsupportedDocument(self.where, f"kind {self.kind!r} is not one of {KINDS}")
            return self.kind
        suffix = Path(self.source or self.doc_id).suffix.lower()
        if suffix in SUFFIXES:
            return SUFFIXES[suffix]
        if self.data()[:5] == b"%PDF-":
            return "pdf"
        raise UnsupportedDocument(
            self.where, f"cannot tell its type from {suffix or 'no suffix'!r}: give kind="
        )


def check_doc_id(doc_id: str) -> None:
    """A doc_id is a non-empty line of visible text (it becomes part of every chunk id)."""
    if not isinstance(doc_id, str) or not doc_id or len(doc_id) > MAX_DOC_ID_CHARS:
        raise RetrievalError(f"a doc_id must be 1 to {MAX_DOC_ID_CHARS} characters: {doc_id!r}")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in doc_id):
        raise RetrievalError(f"a doc_id must not hold control characters: {doc_id!r}")


def decode_text(data: bytes, where: str) -> str:
    """The text of a text document (UTF-8, a BOM's encoding, else Windows-1252), cleaned.

    Raises:
        BinaryDocument: NUL bytes or many control characters: not text.
    """
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return clean_text(_checked(data.decode(encoding), where))
            except UnicodeDecodeError:
                raise BinaryDocument(where, f"not valid {encoding} after its BOM") from None
    if b"\x00" in data:
        raise BinaryDocument(where, "holds NUL bytes: binary, not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return clean_text(_checked(text, where))


def _checked(text: str, where: str) -> str:
    sample = text[:_SNIFF_CHARS]
    control = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f") + sample.count("\x7f")
    if sample and control / len(sample) > _CONTROL_SHARE:
        raise BinaryDocument(where, "mostly control characters: binary, not text")
    return text


def clean_text(text: str) -> str:
    """Text as stored: line breaks normalised; control characters and bidi overrides gone."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_BIDI)
    return _CONTROL.sub("", text)


def folder_paths(folder: Path) -> Iterator[tuple[Path, str]]:
    """The document files of `folder` and its subfolders, each with its doc_id (its path
    relative to the folder), in order.

    Only files with a known suffix are documents; hidden files and folders are skipped, and
    so is a link that leads outside the folder (the corpus is what the folder holds).
    """
    root = folder.resolve()
    if not root.is_dir():
        raise RetrievalError(f"{folder}: not a folder")
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() not in SUFFIXES or not path.is_file():
            continue
        if path.resolve().is_relative_to(root):
            yield path, relative.as_posix()


def read_file(path: Path, doc_id: str, max_bytes: int) -> Document:
    """The document of one file, its mtime as `updated_at`.

    Raises:
        DocumentTooLarge: over `max_bytes`, checked before it is read.
    """
    return Document(
        doc_id=doc_id,
        content=_read(path, max_bytes),
        source=str(path),
        updated_at=_mtime(path),
    )


def _read(path: Path, max_bytes: int) -> bytes:
    if path.stat().st_size > max_bytes:
        raise DocumentTooLarge(str(path), f"over {max_bytes} bytes")
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)  # the file may have grown since stat
    if len(data) > max_bytes:
        raise DocumentTooLarge(str(path), f"over {max_bytes} bytes")
    return data


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(os.stat(path).st_mtime, UTC).isoformat()


def now() -> str:
    return datetime.now(UTC).isoformat()
