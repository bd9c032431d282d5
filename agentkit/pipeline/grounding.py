"""Grounded answers: the model cites the sources of its claims, and every citation is
checked against what the run actually retrieved.

With ``RunConfig(grounded=True)`` the model is told to cite each claim as
``[chunk:<id>]`` (a chunk a retrieval tool returned) or ``[file:<id>]`` (a file a
server-side ``file_search`` found). When the run answers, each citation is looked up
among the citations of the run's steps: one the run never saw - made up, or carried in
by an injected instruction - is flagged in `Grounding.unsupported`.
"""

from __future__ import annotations

import re

from agentkit.state import Grounding, RunResult

INSTRUCTIONS = (
    "Cite the source of every claim you take from retrieved documents right after it, as "
    "[chunk:<id>] for a chunk a search tool returned or [file:<id>] for a file a file search "
    "found, using only ids that appeared in this conversation's search results. If the "
    "results do not answer the question, say so instead of answering from memory."
)
_CITATION = re.compile(r"\[(chunk|file):([^\]\s]{1,200})\]")


def grounded_instructions(instructions: str | None) -> str:
    """The agent's instructions with the citation rule added."""
    return f"{instructions}\n\n{INSTRUCTIONS}" if instructions else INSTRUCTIONS


def retrieved(run: RunResult) -> set[str]:
    """Every ``chunk:`` and ``file:`` citation the run's steps carried."""
    return {c for step in run.steps for c in step.citations if c.startswith(("chunk:", "file:"))}


def check_grounding(run: RunResult, answer: str) -> Grounding:
    """Which of the answer's citations the run retrieved, and which it never saw."""
    cited = list(dict.fromkeys(f"{kind}:{ident}" for kind, ident in _CITATION.findall(answer)))
    seen = retrieved(run)
    return Grounding(
        cited=cited,
        unsupported=[c for c in cited if c not in seen],
        retrieved=sorted(seen),
    )
