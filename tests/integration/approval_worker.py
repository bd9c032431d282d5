"""A separate process for the cross-process approval test: pause a run, or resume one.

    python -m tests.integration.approval_worker pause BASE_URL STORE MARKER
    python -m tests.integration.approval_worker resume BASE_URL STORE MARKER RUN_ID
    python -m tests.integration.approval_worker replay BASE_URL STORE MARKER RUN_ID

`pause` also keeps a copy of the paused state beside the store; `replay` resumes that old
copy with the approvals recorded for it, as an attacker holding the old state would.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from agentkit import Agent, ApprovalStore, RunResult, tool
from agentkit.errors import ApprovalRefused
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
    agent = Ops(Path(marker), client=client, approvals=store)
    try:
        if action == "pause":
            result = await agent.run("drop the sessions cache")
            store.save(result)
            _write(Path(store_path + ".paused.json"), result.to_json())
        else:
            if action == "replay":
                run = RunResult.from_json(_read(Path(store_path + ".paused.json")))
            else:
                run = store.load(argv[4])
            try:
                result = await agent.resume(run, store.decisions(run.run_id))
            except ApprovalRefused as exc:
                print(json.dumps({"refused": str(exc)}))
                return 3
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
