"""Chunks by structure within a token budget: what one search hit holds.

A parser gives `Block`s (the text under one heading path, or on one PDF page) made of
paragraphs. Paragraphs are packed into chunks of about the kind's target size:

- a paragraph over the maximum less the minimum is cut at sentence ends, a sentence over
  that at spaces, and only a word over it (a long token, a blob) mid-word; so no chunk is
  cut mid-sentence unless one sentence alone is that long (and a chunk under the minimum
  can always take the next piece);
- a chunk under the minimum at the end of its block is merged with the next block (small
  sections join the next one; the chunk's section is the heading path they share, or the
  subsection's when all before it were headings), except
  across PDF pages, which stay apart so that each chunk has one page to cite;
- no chunk is over the kind's maximum.

Tokens are estimated, not counted: the larger of characters / 4 and words x 4 / 3, which
is close to what BPE tokenizers give for English prose and code and errs high for short
words. It undercounts scripts written without spaces (Chinese, Japanese).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from agentkit.retrieval.documents import Kind


@dataclass(frozen=True, slots=True)
class Budget:
    """Chunk sizes for one kind of document, in estimated tokens."""

    target: int
    """Chunks grow up to this."""
    maximum: int
    """No chunk is larger."""
    minimum: int
    """A chunk smaller than this is merged with what follows when it fits."""


BUDGETS: dict[Kind, Budget] = {
    "markdown": Budget(target=600, maximum=900, minimum=150),
    "html": Budget(target=600, maximum=900, minimum=150),
    "pdf": Budget(target=800, maximum=1200, minimum=200),
    "text": Budget(target=400, maximum=600, minimum=100),
}
"""Prose pages (PDF) hold longer runs of one topic than sectioned Markdown and HTML;
plain text has no headings to keep a long chunk on one topic, so its chunks are shortest."""

# a full stop, or an ideographic full stop and the full-width ! and ? (no space after them)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[\u3002\uff01\uff1f])")


def estimate_tokens(text: str) -> int:
    """The token estimate of `text` (see the module docstring)."""
    return _estimate(len(text), len(text.split()))


def _estimate(chars: int, words: int) -> int:
    return max(math.ceil(chars / 4), math.ceil(words * 4 / 3))


@dataclass(frozen=True, slots=True)
class Block:
    """Paragraphs under one heading path (``("Guide", "Install")``) and on one PDF page."""

    section: tuple[str, ...]
    paragraphs: tuple[str, ...]
    page: int | None = None
    headed: bool = False
    """The first paragraph is the block's heading line."""


@dataclass(frozen=True, slots=True)
class TextChunk:
    """One chunk of a document, in reading order."""

    ordinal: int
    section: tuple[str, ...]
    page: int | None
    text: str
    tokens: int


class _Draft:
    """The chunk being filled."""

    __slots__ = ("body", "chars", "page", "parts", "section", "words")

    def __init__(self, block: Block, unit: str, heading: bool) -> None:
        self.section = block.section
        self.page = block.page
        self.parts = [unit]
        self.chars = len(unit)
        self.words = len(unit.split())
        self.body = not heading
        """Holds more than heading lines."""

    @property
    def tokens(self) -> int:
        return _estimate(self.chars, self.words)

    def joined(self, sep: str, unit: str) -> int:
        """The estimate with `unit` added (high when `sep` is empty: words may merge)."""
        return _estimate(self.chars + len(sep) + len(unit), self.words + len(unit.split()))

    def add(self, sep: str, unit: str, section: tuple[str, ...], heading: bool) -> None:
        if section != self.section:
            # "## Leave" then "### Parental leave" at once is about parental leave
            below = not self.body and section[: len(self.section)] == self.section
            self.section = section if below else _shared(self.section, section)
        self.body = self.body or not heading
        self.parts += [sep, unit]
        self.chars += len(sep) + len(unit)
        self.words += len(unit.split())

    def text(self) -> str:
        return "".join(self.parts)


def chunk_blocks(blocks: Sequence[Block], budget: Budget, *, merge_blocks: bool) -> list[TextChunk]:
    """The chunks of a document's blocks; `merge_blocks` False keeps blocks apart (PDF pages)."""
    drafts: list[_Draft] = []
    current: _Draft | None = None
    for block in blocks:
        boundary = True
        for unit, sep, heading in _units(block, budget.maximum - budget.minimum):
            if current is None:
                current = _Draft(block, unit, heading)
            elif boundary and (not merge_blocks or current.tokens >= budget.minimum):
                drafts.append(current)
                current = _Draft(block, unit, heading)
            elif _fits(current, sep, unit, budget):
                current.add(sep, unit, block.section, heading)
            else:
                drafts.append(current)
                current = _Draft(block, unit, heading)
            boundary = False
    if current is not None:
        drafts.append(current)
    return _numbered(_merge_tails(drafts, budget))


def _fits(current: _Draft, sep: str, unit: str, budget: Budget) -> bool:
    tokens = current.joined(sep, unit)
    return tokens <= budget.target or (current.tokens < budget.minimum and tokens <= budget.maximum)


def _merge_tails(drafts: list[_Draft], budget: Budget) -> list[_Draft]:
    """A small chunk that ends its block joins the chunk before it, in the same block."""
    kept: list[_Draft] = []
    for draft in drafts:
        before = kept[-1] if kept else None
        if (
            before is not None
            and draft.tokens < budget.minimum
            and (before.section, before.page) == (draft.section, draft.page)
            and before.joined("\n\n", draft.text()) <= budget.maximum
        ):
            before.add("\n\n", draft.text(), draft.section, not draft.body)
        else:
            kept.append(draft)
    return kept


def _shared(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _numbered(drafts: list[_Draft]) -> list[TextChunk]:
    chunks = []
    for ordinal, draft in enumerate(drafts):
        text = draft.text()
        chunks.append(TextChunk(ordinal, draft.section, draft.page, text, estimate_tokens(text)))
    return chunks


def _units(block: Block, most: int) -> Iterator[tuple[str, str, bool]]:
    """Pieces of at most `most` tokens, each with the separator that goes before it and
    whether it is the block's heading line."""
    for number, paragraph in enumerate(block.paragraphs):
        heading = block.headed and number == 0
        for n, piece in enumerate(_split(paragraph, most)):
            yield piece, "\n\n" if n == 0 else " ", heading


def _split(paragraph: str, maximum: int) -> list[str]:
    if estimate_tokens(paragraph) <= maximum:
        return [paragraph]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        if not sentence.strip():
            continue
        if estimate_tokens(sentence) <= maximum:
            pieces.append(sentence)
        else:
            pieces.extend(_split_words(sentence, maximum))
    return pieces


def _split_words(sentence: str, maximum: int) -> list[str]:
    """Groups of whole words within `maximum`; a word alone over it is cut in slices."""
    groups: list[str] = []
    words: list[str] = []
    chars = 0
    for word in sentence.split():
        if estimate_tokens(word) > maximum:
            if words:
                groups.append(" ".join(words))
                words, chars = [], 0
            step = maximum * 4
            groups.extend(word[i : i + step] for i in range(0, len(word), step))
            continue
        if words and _estimate(chars + 1 + len(word), len(words) + 1) > maximum:
            groups.append(" ".join(words))
            words, chars = [], 0
        chars += len(word) + (1 if words else 0)
        words.append(word)
    if words:
        groups.append(" ".join(words))
    return groups
