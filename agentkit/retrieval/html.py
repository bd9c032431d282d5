"""HTML into blocks, by h1-h6, with the standard library's parser.

Script, style and other non-text elements are dropped with their content; block elements
(p, li, div, tr, ...) end paragraphs; character references are decoded. The `<title>`
(else the first h1) is the title.
"""

from __future__ import annotations

from html.parser import HTMLParser

from agentkit.retrieval.chunking import Block

_DROPPED = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas"}
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = frozenset(
    {
        "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "br", "hr", "tr", "td", "th",
        "table", "section", "article", "aside", "header", "footer", "nav", "main",
        "blockquote", "pre", "figure", "figcaption", "form", "fieldset", "details",
        "summary", "address", "body", "caption",
    }
)  # fmt: skip


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.dropped = 0
        self.in_title = False
        self.title_parts: list[str] = []
        self.heading: tuple[int, list[str]] | None = None
        self.path: list[tuple[int, str]] = []
        self.headed = False
        self.pieces: list[str] = []
        self.paragraphs: list[str] = []
        self.blocks: list[Block] = []
        self.first_h1: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.dropped += 1
        elif tag == "title":
            self.in_title = True
        elif tag in _HEADINGS:
            self.end_paragraph()
            self.heading = (_HEADINGS[tag], [])
        elif tag in _BLOCKS:
            self.end_paragraph()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropped = max(0, self.dropped - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in _HEADINGS and self.heading is not None:
            self.end_heading()
        elif tag in _BLOCKS:
            self.end_paragraph()

    def handle_data(self, data: str) -> None:
        if self.dropped:
            return
        if self.in_title:
            self.title_parts.append(data)
        elif self.heading is not None:
            self.heading[1].append(data)
        else:
            self.pieces.append(data)

    def end_paragraph(self) -> None:
        text = " ".join("".join(self.pieces).split())
        if text:
            self.paragraphs.append(text)
        self.pieces = []

    def end_heading(self) -> None:
        assert self.heading is not None
        level, parts = self.heading
        self.heading = None
        text = " ".join("".join(parts).split())
        self.end_block()
        while self.path and self.path[-1][0] >= level:
            self.path.pop()
        if text:
            self.path.append((level, text))
            self.paragraphs.append(text)
            self.headed = True
            if level == 1 and self.first_h1 is None:
                self.first_h1 = text

    def end_block(self) -> None:
        self.end_paragraph()
        if self.paragraphs:
            section = tuple(t for _, t in self.path)
            self.blocks.append(Block(section, tuple(self.paragraphs), headed=self.headed))
        self.paragraphs = []
        self.headed = False


def parse_html(text: str) -> tuple[str | None, list[Block]]:
    """The page's title and its blocks, one per heading."""
    parser = _Text()
    parser.feed(text)
    parser.close()
    if parser.heading is not None:  # a heading left open at the end
        parser.end_heading()
    parser.end_block()
    title = " ".join("".join(parser.title_parts).split()) or parser.first_h1
    return title, parser.blocks
