"""Redaction: the detectors on a labelled corpus, and how fast `detect` reads text.

The corpus is `agentkit.privacy.corpus` (seeded: generated positives of every kind,
public-format negatives, each in a sentence, a log line, JSON or code). Throughput is
`detect` over every kind on about 1 MB of mixed text: the corpus's sentences between
paragraphs of plain prose, best of three.

    python -m tools.bench.redaction [--quick]
"""

from __future__ import annotations

import time
from typing import Any

from agentkit.privacy import corpus
from agentkit.privacy.detectors import detect
from tools.bench.common import machine, section_main

PROSE = (
    "The quarterly review covered the migration plan, the open incidents and the budget "
    "for next year; the team agreed to revisit the schedule after the holidays.\n"
)


def _mixed_text(size: int, examples: list[corpus.Example]) -> str:
    parts, length, i = [], 0, 0
    while length < size:
        part = PROSE * 3 + examples[i % len(examples)].text + "\n"
        parts.append(part)
        length += len(part)
        i += 1
    return "".join(parts)


def measure(quick: bool = False) -> dict[str, Any]:
    """The per-detector table and detect's throughput, for the report."""
    examples = corpus.build(per_kind=100 if quick else 200, negatives=750 if quick else 1500)
    table = corpus.measure(examples)
    text = _mixed_text(2**20, examples)
    best, found = float("inf"), 0
    for _ in range(1 if quick else 3):
        started = time.perf_counter()
        found = len(detect(text))
        best = min(best, time.perf_counter() - started)
    megabytes = len(text.encode()) / 2**20
    return {
        "quick": quick,
        "machine": machine(),
        "examples": len(examples),
        "detectors": table,
        "throughput": {
            "mb": round(megabytes, 2),
            "seconds": round(best, 3),
            "mb_per_s": round(megabytes / best, 2),
            "findings": found,
        },
    }


def section(data: dict[str, Any]) -> list[str]:
    """The Markdown lines of `measure`'s result."""
    lines = [
        "## 2g. Redaction: detectors on a labelled corpus",
        "",
        f"{data['examples']} generated examples (planted values of every kind and "
        "public-format lookalikes without any); a planted value counts as found when a "
        "finding of its kind covers it.",
        "",
        "| detector | recall | precision | tp | fp | fn |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, row in data["detectors"].items():
        lines.append(
            f"| {kind} | {row['recall']} | {row['precision']} | {row['tp']} | {row['fp']} | "
            f"{row['fn']} |"
        )
    t = data["throughput"]
    lines += [
        "",
        f"`detect` over every kind: {t['mb_per_s']} MB/s on {t['mb']} MB of mixed text "
        f"({t['findings']} findings, {t['seconds']} s).",
        "",
    ]
    return lines


def main() -> None:
    section_main(__doc__, "a smaller corpus, one timing", measure, section)


if __name__ == "__main__":
    main()
