"""Two `agentkit serve` processes on one run store (PostgreSQL, or SQLite on one host);
one is killed (SIGKILL) with runs in flight. Every run ends: continued by the other worker
from its last checkpoint, or (when a call that changes something was running) left
interrupted for its owner, who continues it. No event anyone saw is lost or sent twice,
and every audit chain verifies."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

AGENT = '''
import asyncio
from pathlib import Path

from agentkit import Agent, tool
from agentkit.testing import Script, Turn

HERE = Path(__file__).parent


class Slow(Agent):
    """Reads, then writes a note (slowly), then answers."""

    instructions = "Wait, note, answer."
    policy = str(HERE / "policy.yaml")
    offline_script = Script(
        [
            Turn.call("wait", {"seconds": 0.4}),
            Turn.call("note", {"text": "seen"}),
            Turn.text("done"),
        ]
    )

    @tool
    async def wait(self, seconds: float) -> str:
        """Wait a while.

        Args:
            seconds: how long.
        """
        await asyncio.sleep(seconds)
        return "waited"

    @tool(side_effect="write")
    async def note(self, text: str) -> str:
        """Write a note.

        Args:
            text: the note.
        """
        await asyncio.sleep(0.6)
        with open(HERE / "notes.txt", "a") as notes:
            notes.write(text + "\\n")
        return "noted"
'''

POLICY = """
version: 1
description: the kill test's agent may read and write.
default: deny
classes:
  read: {action: allow}
  write: {action: allow}
"""

RUNS = 8  # the default per-user limit of runs at once


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, wheel_env: dict[str, str]
) -> Iterator[Any]:
    """Two workers sharing a PostgreSQL database (runs and approvals), or (on one host)
    SQLite files."""
    from agentkit.serve import TokenStore

    stores = ["--store", "approvals.db", "--runs", str(tmp_path / "service.db")]
    if request.param == "postgresql":
        url = request.getfixturevalue("new_pg_database")("serve")
        stores = ["--store", url]  # the runs go to the same database
    (tmp_path / "slow_agent.py").write_text(AGENT)
    (tmp_path / "policy.yaml").write_text(POLICY)
    token = TokenStore(tmp_path / "tokens.db").create("ana", ("operator",))
    env = {**wheel_env, "AGENTKIT_SEAL_KEY": os.urandom(32).hex(), "PYTHONPATH": str(tmp_path)}
    workers: list[tuple[subprocess.Popen[bytes], str]] = []
    for index in range(2):
        port = _free_port()
        command = [
            sys.executable, "-m", "agentkit", "serve", "slow_agent:Slow", "--offline",
            "--port", str(port), *stores, "--tokens", "tokens.db", "--lease", "1.5",
        ]  # fmt: skip
        log = open(tmp_path / f"worker{index}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log)
        workers.append((process, f"http://127.0.0.1:{port}"))
    for process, base in workers:
        _wait_healthy(process, base, tmp_path)
    try:
        yield {"workers": workers, "token": token, "dir": tmp_path}
    finally:
        for process, _ in workers:
            if process.poll() is None:
                process.terminate()
                process.wait(10)


def _wait_healthy(process: subprocess.Popen[bytes], base: str, folder: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            logs = "".join(p.read_text(errors="replace")[-3000:] for p in folder.glob("*.log"))
            pytest.fail(f"a worker exited at start:\n{logs}")
        try:
            if httpx2.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail("a worker did not answer /healthz within 60 s")


async def _read(
    http: httpx2.AsyncClient,
    url: str,
    after: int,
    seen: list[dict[str, Any]],
    last: tuple[str, ...] = ("run.result", "run.interrupted"),
) -> str | None:
    """Events of one run into `seen` until its last; the last type, or None when cut off."""
    headers = {"Last-Event-ID": str(after)} if after else {}
    try:
        async with http.stream("GET", url, headers=headers, timeout=60) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    seen.append(event)
                    if event["type"] in last:
                        return str(event["type"])
    except httpx2.HTTPError:
        return None
    return None


def test_a_killed_worker_loses_no_run_and_no_event(deployment: dict[str, Any]) -> None:
    (victim, doomed), (_, survivor) = deployment["workers"]
    headers = {"Authorization": f"Bearer {deployment['token']}"}

    async def scenario() -> dict[str, Any]:
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            run_ids, readers = [], []
            seen: dict[str, list[dict[str, Any]]] = {}
            for _ in range(RUNS):  # staggered: at the kill, runs are in every phase
                response = await http.post(doomed + "/v1/runs", json={"prompt": "go"})
                assert response.status_code == 202, response.text
                made = response.json()
                run_ids.append(made["run_id"])
                seen[made["run_id"]] = []
                url = doomed + made["events"]
                readers.append(asyncio.create_task(_read(http, url, 0, seen[made["run_id"]])))
                await asyncio.sleep(0.15)
            victim.send_signal(signal.SIGKILL)
            first = await asyncio.gather(*readers)
            before = {r: list(events) for r, events in seen.items()}
            ends = {}
            for run_id, ended in zip(run_ids, first, strict=True):
                if ended is None:  # cut off: go on at the other worker, from what was seen
                    after = seen[run_id][-1]["seq"] if seen[run_id] else 0
                    url = f"{survivor}/v1/runs/{run_id}/events"
                    ended = await _read(http, url, after, seen[run_id])
                ends[run_id] = ended
            continued = {}
            for run_id, ended in ends.items():
                if ended != "run.interrupted":
                    continue
                url = f"{survivor}/v1/runs/{run_id}/continue"
                refused = await http.post(url, json={})
                assert refused.status_code == 409, refused.text
                assert refused.json()["error"]["type"] == "EffectUnknown"
                again = await http.post(url, json={"effects_checked": True})
                assert again.status_code == 202, again.text
                after = seen[run_id][-1]["seq"]
                continued[run_id] = await _read(http, f"{survivor}{again.json()['events']}",
                                                after, seen[run_id])  # fmt: skip
            stored, kept = {}, {}
            for run_id in run_ids:
                stored[run_id] = (await http.get(f"{survivor}/v1/runs/{run_id}")).json()
                kept[run_id] = []
                url = f"{survivor}/v1/runs/{run_id}/events"
                await _read(http, url, 0, kept[run_id], last=("run.result",))
            return {"before": before, "seen": seen, "ends": ends, "continued": continued,
                    "stored": stored, "kept": kept}  # fmt: skip

    outcome = asyncio.run(scenario())
    for run_id, events in outcome["seen"].items():
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1)), (run_id, seqs)  # none lost, none twice
        assert outcome["stored"][run_id]["status"] == "completed", outcome["stored"][run_id]
        assert outcome["stored"][run_id]["events"] == len(events)
        assert events[-1]["type"] == "run.result"
        # what a subscriber saw from the worker before it died is what the store kept
        assert outcome["kept"][run_id] == events
    taken_over = [r for r, ev in outcome["seen"].items() if _continued(ev)]
    assert taken_over, "the kill hit no run in flight: the test proves nothing"
    for run_id in outcome["continued"]:
        assert outcome["continued"][run_id] == "run.result"
    chains = sorted((deployment["dir"] / ".agentkit" / "audit").glob("*.jsonl"))
    assert len(chains) == 2  # one per worker: each process writes a chain of its own
    for chain in chains:
        verify = subprocess.run(
            [sys.executable, "-m", "agentkit", "audit", "verify", str(chain)],
            capture_output=True, text=True, cwd=deployment["dir"],
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
    print(
        f"\n{RUNS} runs, worker killed: {len(taken_over)} taken over "
        f"({len(outcome['continued'])} needed their owner: a write was running)"
    )


def _continued(events: list[dict[str, Any]]) -> bool:
    return any(
        e["type"] == "run.interrupted"
        or (e["type"] == "run.resumed" and e["data"].get("reason") == "continued")
        for e in events
    )


def test_every_worker_shows_every_run_live(deployment: dict[str, Any]) -> None:
    (_, first), (_, second) = deployment["workers"]
    headers = {"Authorization": f"Bearer {deployment['token']}"}

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            made = (await http.post(first + "/v1/runs", json={"prompt": "go"})).json()
            here: list[dict[str, Any]] = []
            there: list[dict[str, Any]] = []
            await asyncio.gather(  # followed where it runs, and at the other worker
                _read(http, first + made["events"], 0, here),
                _read(http, second + made["events"], 0, there),
            )
            listed = (await http.get(second + "/v1/runs")).json()
            return here, there, {r["run_id"]: r["status"] for r in listed["runs"]} | made

    here, there, listed = asyncio.run(scenario())
    assert here[-1]["type"] == "run.result"
    assert there == here  # the same events, in the same order, through the store
    assert listed[listed["run_id"]] == "completed"


def test_serve_with_several_worker_processes(tmp_path: Path, wheel_env: dict[str, str]) -> None:
    from agentkit.serve import TokenStore

    (tmp_path / "slow_agent.py").write_text(AGENT)
    (tmp_path / "policy.yaml").write_text(POLICY)
    token = TokenStore(tmp_path / "tokens.db").create("ana")
    port = _free_port()
    env = {**wheel_env, "PYTHONPATH": str(tmp_path)}
    command = [sys.executable, "-m", "agentkit", "serve", "slow_agent:Slow", "--offline",
               "--workers", "2", "--port", str(port), "--tokens", "tokens.db"]  # fmt: skip
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log)
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    try:
        _wait_healthy(process, base, tmp_path)
        with httpx2.Client(base_url=base, headers=headers, timeout=30) as http:
            made = [http.post("/v1/runs", json={"prompt": "go"}) for _ in range(4)]
            assert all(m.status_code == 202 for m in made), [m.text for m in made]
            runs = [m.json() for m in made]
            for run in runs:
                assert '"status":"completed"' in http.get(run["events"]).text
            listed = http.get("/v1/runs").json()["runs"]
        assert {r["run_id"] for r in listed} == {r["run_id"] for r in runs}
    finally:
        process.terminate()
        process.wait(20)
    assert process.returncode == 0, (tmp_path / "serve.log").read_text()[-3000:]
