"""Markdown and plain text into blocks: Markdown by headings, plain text by paragraphs."""

from __future__ import annotations

import re

from agentkit.retrieval.chunking import Block

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


class _Sections:
    """Collects paragraphs under the heading path in force."""

    def __init__(self) -> None:
        self.path: list[tuple[int, str]] = []
        self.headed = False
        self.blocks: list[Block] = []
        self.paragraphs: list[str] = []
        self.lines: list[str] = []
        self.title: str | None = None

    def end_paragraph(self) -> None:
        text = "\n".join(self.lines).strip("\n")
        if text.strip():
            self.paragraphs.append(text)
        self.lines = []

    def heading(self, level: int, text: str, line: str) -> None:
        self.end_paragraph()
        self.end_block()
        while self.path and self.path[-1][0] >= level:
            self.path.pop()
        if text:
            self.path.append((level, text))
            self.paragraphs.append(line.strip())
            self.headed = True
            if level == 1 and self.title is None:
                self.title = text

    def end_block(self) -> None:
        if self.paragraphs:
            section = tuple(text for _, text in self.path)
            self.blocks.append(Block(section, tuple(self.paragraphs), headed=self.headed))
        self.paragraphs = []
        self.headed = False


def parse_markdown(text: str) -> tuple[str | None, list[Block]]:
    """The first level-1 heading (the title) and the blocks, one per heading.

    A block's section is its heading path; its first paragraph is its heading line, so a
    chunk that starts a section says which. Fenced code is one paragraph and its ``#``
    lines are not headings; YAML front matter is dropped.
    """
    sections = _Sections()
    fence: str | None = None
    for line in _without_front_matter(text).split("\n"):
        opened = _FENCE.match(line)
        if fence is not None:
            sections.lines.append(line)
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
                sections.end_paragraph()
            continue
        if opened:
            sections.end_paragraph()
            fence = opened.group(1)
            sections.lines.append(line)
            continue
        atx = _ATX.match(line)
        if atx:
            sections.heading(len(atx.group(1)), (atx.group(2) or "").strip(), line)
        elif _SETEXT.match(line) and len(sections.lines) == 1 and sections.lines[0].strip():
            title = sections.lines[0].strip()
            sections.lines = []
            sections.heading(1 if line.strip()[0] == "=" else 2, title, title)
        elif not line.strip():
            sections.end_paragraph()
        else:
            sections.lines.append(line)
    sections.end_paragraph()
    sections.end_block()
    return sections.title, sections.blocks


def _without_front_matter(text: str) -> str:
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[end + 5 :]
    return text


def parse_text(text: str) -> list[Block]:
    """Plain text as one block of blank-line paragraphs (single line breaks kept)."""
    paragraphs = tuple(p.strip("\n") for p in _PARAGRAPH_BREAK.split(text) if p.strip())
    return [Block((), paragraphs)] if paragraphs else []
