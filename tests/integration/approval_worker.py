"""A separate process for the cross-process approval test: pause a run, or resume one.

    python -m tests.integration.approval_worker pause BASE_URL STORE MARKER
    python -m tests.integration.approval_worker resume BASE_URL STORE MARKER RUN_ID
    python -m tests.integration.approval_worker replay BASE_URL STORE MARKER RUN_ID
    python -m tests.integration.approval_worker unwired BASE_URL STORE MARKER RUN_ID
    python -m tests.integration.approval_worker bare BASE_URL STORE MARKER RUN_ID

`pause` also keeps a copy of the paused state beside the store; `replay` resumes that old
copy with the approvals recorded for it, as an attacker holding the old state would.
`unwired` does the same with an agent given no ledger (the README's resume without
``approvals=store``); `bare` resumes the copy with ``{approval_id: True}`` and no store.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from agentkit import Agent, ApprovalStore, RunResult, tool
from agentkit.errors import ApprovalRefused, ConfigError
from agentkit.model import XAIClient


class Ops(Agent):
    def __init__(self, marker: Path, **kwargs: object) -> None:
        self.marker = marker
        super().__init__(**kwargs)  # type: ignore[arg-type]

    @tool(destructive=True)
    async def drop_cache(self, name: str) -> str:
        """Drop a cache (leaves a marker file so the test sees that it ran)."""
        with self.marker.open("a") as out:
            out.write(name + "\n")
        return f"dropped {name}"


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _read(path: Path) -> str:
    return path.read_text()


async def main(argv: list[str]) -> int:
    action, base_url, store_path, marker = argv[:4]
    store = ApprovalStore(store_path)
    client = XAIClient(api_key="test-key-123456", base_url=base_url)
    wired = action not in ("unwired", "bare")
    agent = Ops(Path(marker), client=client, approvals=store if wired else None)
    try:
        if action == "pause":
            result = await agent.run("drop the sessions cache")
            store.save(result)
            _write(Path(store_path + ".paused.json"), result.to_json())
        else:
            if action == "resume":
                run = store.load(argv[4])
            else:
                run = RunResult.from_json(_read(Path(store_path + ".paused.json")))
            decisions = store.decisions(run.run_id)
            try:
                if action == "bare":
                    await agent.resume(run, {d.approval_id: d.approved for d in decisions})
                    return 0
                result = await agent.resume(run, decisions)
            except ApprovalRefused as exc:  # a stale state (StaleRunState) is one too
                print(json.dumps({"refused": str(exc)}))
                return 3
            except ConfigError as exc:
                print(json.dumps({"config": str(exc)}))
                return 4
            store.save(result)
    finally:
        await client.aclose()
    print(
        json.dumps(
            {
                "run_id": result.run_id,
                "status": result.status,
                "pending": [p.approval_id for p in result.pending],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
