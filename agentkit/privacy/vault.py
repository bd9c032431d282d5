"""Reversible pseudonyms: what the model sees instead of a secret or a personal value.

A `PseudonymVault` belongs to one run. `redact` replaces each detected value with a
placeholder such as ``⟦EMAIL_1⟧``: the same value always becomes the same placeholder,
two values never share one. The model can then refer to a value without seeing it, and
`restore` puts the real values back into the model's tool arguments before the policy
and the tool see them. Nothing restores placeholders in text going back to the model:
that text is redacted again.

The delimiters are U+27E6 and U+27E7 (mathematical white square brackets): single
characters a model copies verbatim, and which ordinary text, code and JSON do not use.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any, TypeVar, cast

from agentkit.privacy.detectors import Finding, detect

OPEN, CLOSE = "\u27e6", "\u27e7"
PLACEHOLDER = re.compile(f"{OPEN}([A-Z][A-Z0-9_]*)_([1-9][0-9]*){CLOSE}")
"""A placeholder: ``⟦`` the kind upper-cased ``_`` a number from 1 ``⟧``."""

T = TypeVar("T")


def placeholder_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` already holds placeholder-looking text (never redacted again)."""
    return [m.span() for m in PLACEHOLDER.finditer(text)] if OPEN in text else []


def blocked_mark(kind: str) -> str:
    """What a blocked value becomes (``⟦BLOCKED_EMAIL⟧``): no number, so no placeholder."""
    return f"{OPEN}BLOCKED_{kind.upper()}{CLOSE}"


class PseudonymVault:
    """The placeholders of one run and the values behind them."""

    def __init__(self) -> None:
        self._placeholders: dict[str, str] = {}  # value -> placeholder
        self._values: dict[str, str] = {}  # placeholder -> value
        self._kinds: dict[str, str] = {}  # placeholder -> kind
        self._counts: dict[str, int] = {}  # upper-cased kind -> last number used

    def __len__(self) -> int:
        return len(self._values)

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder of `value` (made on first sight, numbered per kind)."""
        known = self._placeholders.get(value)
        if known is not None:
            return known
        label = kind.upper()
        number = self._counts.get(label, 0) + 1
        self._counts[label] = number
        made = f"{OPEN}{label}_{number}{CLOSE}"
        self._placeholders[value] = made
        self._values[made] = value
        self._kinds[made] = kind
        return made

    def redact(self, text: str, kinds: Collection[str] | None = None) -> str:
        """`text` with every finding of `kinds` (all if None) replaced by its placeholder."""
        return self.replace(text, detect(text, kinds))

    def replace(
        self, text: str, findings: Iterable[Finding], blocked: Iterable[Finding] = ()
    ) -> str:
        """`text` with the given findings (from `detect` on it) replaced by placeholders,
        and the `blocked` ones by `blocked_mark` (nothing the vault restores).

        A finding overlapping placeholder-looking text already in `text` is skipped, so
        redacting twice changes nothing.
        """
        existing = placeholder_spans(text)
        marks = {(f.start, f.end): blocked_mark(f.kind) for f in blocked}
        out: list[str] = []
        at = 0
        for finding in sorted([*findings, *blocked], key=lambda f: f.start):
            if finding.start < at or any(
                finding.start < e and s < finding.end for s, e in existing
            ):
                continue
            out.append(text[at : finding.start])
            mark = marks.get((finding.start, finding.end))
            out.append(mark or self.placeholder(finding.kind, finding.text))
            at = finding.end
        out.append(text[at:])
        return "".join(out)

    def restore_text(self, text: str) -> str:
        """`text` with this vault's placeholders replaced by their values; others kept."""
        if OPEN not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self._values.get(m.group(), m.group()), text)

    def restore(self, value: T) -> T:
        """`value` (a tool's arguments: strings inside dicts, lists, tuples) restored."""
        return cast(T, self._restore(value))

    def _restore(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.restore_text(value)
        if isinstance(value, dict):
            return {self._restore(k): self._restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._restore(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._restore(v) for v in value)
        return value

    def to_dict(self) -> dict[str, Any]:
        """The vault as JSON-able data, for a run's sealed state."""
        return {
            "version": 1,
            "entries": [
                [placeholder, self._kinds[placeholder], value]
                for placeholder, value in self._values.items()
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PseudonymVault:
        """The vault `to_dict` made: the same placeholders for the same values."""
        if data.get("version") != 1:
            raise ValueError(f"unknown pseudonym vault version: {data.get('version')!r}")
        vault = cls()
        for placeholder, kind, value in data["entries"]:
            match = PLACEHOLDER.fullmatch(placeholder)
            if match is None:
                raise ValueError(f"not a placeholder: {placeholder!r}")
            label, number = match.group(1), int(match.group(2))
            vault._placeholders[value] = placeholder
            vault._values[placeholder] = value
            vault._kinds[placeholder] = kind
            vault._counts[label] = max(vault._counts.get(label, 0), number)
        return vault
