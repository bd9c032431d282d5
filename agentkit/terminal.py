"""Text for a person's terminal: control and formatting characters shown, never obeyed.

Model answers, tool outputs, arguments and error messages can carry ESC and OSC sequences
(cursor movement that hides a line, OSC 52 writing the clipboard), C1 controls, and bidi
or zero-width characters that reorder or hide text. Everything agentkit prints for a
person passes through `printable`, which spells such characters as escapes instead.
"""

from __future__ import annotations

import io
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_KEPT = frozenset("\n\t")
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def printable(text: str, *, one_line: bool = False) -> str:
    """`text` with every control, format, private-use, unassigned or line-separator
    character (newline and tab aside, unless `one_line`) replaced by its escape, such as
    ``\\x1b`` or ``\\u202e``. A name in a message is printed `one_line`.

    Example:
        >>> printable("ok\\x1b[2Ahidden\\u202e")
        'ok\\\\x1b[2Ahidden\\\\u202e'
    """
    if text.isprintable():
        return text
    kept = frozenset() if one_line else _KEPT
    return "".join(_shown(ch, kept) for ch in text)


def _shown(ch: str, kept: frozenset[str] = _KEPT) -> str:
    if ch in kept or unicodedata.category(ch) not in _ESCAPED_CATEGORIES:
        return ch
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


class PrintableStream(io.TextIOBase):
    """A text stream that passes everything written to it through `printable`.

    `target` is the stream underneath, for a writer that neutralised its own content and
    adds styles of its own (the transcript's colours).
    """

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only here, as on the target
        return getattr(self.target, "encoding", None) or "utf-8"


@contextmanager
def printable_output() -> Iterator[None]:
    """Within the block, `sys.stdout` and `sys.stderr` show control characters as escapes."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = PrintableStream(saved[0]), PrintableStream(saved[1])
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved
