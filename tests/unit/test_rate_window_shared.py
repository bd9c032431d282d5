"""Per-minute limits count every call of a principal, whatever agent or process made it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from agentkit import Agent, Principal, tool
from agentkit.pipeline.authorise import RecentCalls
from agentkit.policy import Policy
from agentkit.rate_store import SqliteRateWindow
from agentkit.testing import Turn, scripted_client

POLICY = "version: 1\ntools:\n  ping: {action: allow, rate_limit: {per_minute: 1}}\n"


class Pinger(Agent):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pinged = 0

    @tool
    async def ping(self) -> str:
        """Ping."""
        self.pinged += 1
        return "pong"


def pinger(user: str, **kwargs: Any) -> Pinger:
    return Pinger(
        client=scripted_client([Turn.call("ping", {}), Turn.text("done")]),
        policy=Policy.from_yaml(POLICY),
        principal=Principal(user_id=user),
        **kwargs,
    )


def test_fresh_agents_of_one_process_share_the_minute() -> None:
    agents = [pinger("seven-agents") for _ in range(7)]
    for agent in agents:
        agent.run_sync("ping")
    assert [a.pinged for a in agents] == [1, 0, 0, 0, 0, 0, 0]


def test_another_principal_has_a_minute_of_its_own() -> None:
    first, second = pinger("ana-minute"), pinger("bob-minute")
    first.run_sync("ping")
    second.run_sync("ping")
    assert (first.pinged, second.pinged) == (1, 1)


def test_a_window_shared_through_sqlite_counts_calls_of_other_processes(tmp_path: Path) -> None:
    store = tmp_path / "rate.db"
    script = textwrap.dedent(
        f"""
        import time
        from agentkit.rate_store import SqliteRateWindow
        SqliteRateWindow({str(store)!r}).add("u", "ping", time.time())
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=Path.cwd(), check=True)
    agent = pinger("u", rate_window=SqliteRateWindow(store))
    agent.run_sync("ping")
    assert agent.pinged == 0, "the other process's call this minute counts"
    later = time.time() + 61
    assert SqliteRateWindow(store).snapshot("u", later) == {}


def test_a_private_window_can_still_be_given() -> None:
    agent = pinger("seven-agents", rate_window=RecentCalls())
    agent.run_sync("ping")
    assert agent.pinged == 1
