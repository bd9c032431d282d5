"""An evaluation of the ops copilot: the dataset (ops_copilot.yaml), its fixtures and judge,
and a deliberately broken version of the agent to compare against (broken_agent.py).

    agentkit eval examples/evals/ops_copilot.yaml --agent examples.ops_copilot.agent:OpsCopilot
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentkit.state import RunResult
from examples.ops_copilot.tickets import TICKETS, create_database


def fresh_tickets(folder: Path) -> dict[str, Any]:
    """The dataset's fixtures: each run gets its own ticket database (a closure in one run
    is not seen by the next)."""
    return {"db_path": create_database(folder / "tickets.db")}


def split_adds_up(answer: str | None, run: RunResult) -> tuple[bool, str]:
    """The judge of the by-service answer: its counts are the open tickets', service by service."""
    expected: dict[str, int] = {}
    for _id, status, _priority, service, _title, _age in TICKETS:
        if status == "open":
            expected[service] = expected.get(service, 0) + 1
    try:
        given = json.loads(answer or "")
    except ValueError:
        return False, "the answer is not JSON"
    if given != expected:
        return False, f"expected {json.dumps(expected, sort_keys=True)}, got {answer}"
    return True, "every service's count matches the database"
