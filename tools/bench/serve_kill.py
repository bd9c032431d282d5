"""Workers on PostgreSQL, one killed mid-run: every run ends, no event lost or sent twice.

Two `agentkit serve` processes share a throwaway PostgreSQL server (initialised here on
loopback) and one approvals store. Runs of several users start on the first worker, each
with an SSE subscriber; the first worker is killed (SIGKILL) while they are in every
phase. Subscribers reconnect to the second worker with ``Last-Event-ID``; runs left
interrupted (a write was running) are continued by their owner. Counted: runs ended,
how, events missing or seen twice, how long after the kill the taken-over runs went on
(against the lease, the floor), and whether each worker's audit chain verifies.

    python -m tools.bench.serve_kill [--users 5 --runs-each 8]
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tools.bench.common import REPO

LEASE = 2.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on loopback; yields a database URL."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        raise RuntimeError("PostgreSQL is not installed: run tools/ci/install-postgres.sh")
    initdb, pg_ctl = f"{bins[-1]}/initdb", f"{bins[-1]}/pg_ctl"
    root = Path(tempfile.mkdtemp(prefix="agentkit-bench-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        pwd.getpwnam("postgres")
        shutil.chown(root, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = root / "data"
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "-A", "trust",
                    "--no-sync"], check=True, capture_output=True)  # fmt: skip
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"),
                    "-w", "start"], check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def _worker(
    folder: Path, runs_url: str, log: Path, seal_key: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [
        sys.executable, "-m", "agentkit", "serve", "tools.bench.kill_agent:Slow", "--offline",
        "--port", str(port), "--store", str(folder / "approvals.db"),
        "--tokens", str(folder / "tokens.db"), "--runs", runs_url, "--lease", str(LEASE),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "XAI_API_KEY"}
    env["AGENTKIT_AUDIT_DIR"] = str(folder / "audit")
    env["AGENTKIT_SEAL_KEY"] = seal_key  # one deployment: both workers check its seals
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=out)
    return process, f"http://127.0.0.1:{port}"


def _healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    import httpx2

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("a worker exited at start")
        try:
            if httpx2.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("a worker did not start within 60 s")


async def _read(http: Any, url: str, auth: dict[str, str], after: int,
                seen: list[dict[str, Any]], stamps: list[float]) -> str | None:  # fmt: skip
    import httpx2

    headers = {**auth, "Last-Event-ID": str(after)} if after else auth
    try:
        async with http.stream("GET", url, headers=headers, timeout=120) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    seen.append(event)
                    stamps.append(time.monotonic())
                    if event["type"] in ("run.result", "run.interrupted"):
                        return str(event["type"])
    except httpx2.HTTPError:
        return None
    return None


async def _scenario(doomed: str, survivor: str, victim: Any, tokens: list[str],
                    each: int) -> dict[str, Any]:  # fmt: skip
    import httpx2

    async with httpx2.AsyncClient(timeout=60) as http:
        runs: list[tuple[str, dict[str, str]]] = []
        seen: dict[str, list[dict[str, Any]]] = {}
        stamps: dict[str, list[float]] = {}
        readers = []
        total = len(tokens) * each
        for i in range(total):
            headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
            made = (await http.post(doomed + "/v1/runs", json={"prompt": "go"},
                                    headers=headers)).json()  # fmt: skip
            run_id = made["run_id"]
            runs.append((run_id, headers))
            seen[run_id], stamps[run_id] = [], []
            readers.append(asyncio.create_task(
                _read(http, doomed + made["events"], headers, 0, seen[run_id], stamps[run_id])
            ))  # fmt: skip
            await asyncio.sleep(1.2 / total)  # spread over 1.2 s: every phase at the kill
        victim.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        ends = await asyncio.gather(*readers)
        resumed_after: list[float] = []
        by_owner = 0

        async def finish(run_id: str, headers: dict[str, str], ended: str | None) -> None:
            nonlocal by_owner
            if ended is None:  # cut off: go on at the other worker, from what was seen
                after = seen[run_id][-1]["seq"] if seen[run_id] else 0
                mark = len(stamps[run_id])
                url = f"{survivor}/v1/runs/{run_id}/events"
                ended = await _read(http, url, headers, after, seen[run_id], stamps[run_id])
                if len(stamps[run_id]) > mark:
                    resumed_after.append(stamps[run_id][mark] - killed)
            if ended == "run.interrupted":
                by_owner += 1
                url = f"{survivor}/v1/runs/{run_id}/continue"
                again = await http.post(url, json={"effects_checked": True}, headers=headers)
                for _ in range(60):  # the owner's other runs may fill their limit: wait
                    if again.status_code != 429:
                        break
                    await asyncio.sleep(float(again.headers.get("retry-after", "1")))
                    again = await http.post(url, json={"effects_checked": True}, headers=headers)
                if again.status_code != 202:
                    raise RuntimeError(f"continuing {run_id}: {again.status_code} {again.text}")
                after = seen[run_id][-1]["seq"]
                await _read(http, survivor + again.json()["events"], headers, after,
                            seen[run_id], stamps[run_id])  # fmt: skip

        await asyncio.gather(*(finish(r, h, e) for (r, h), e in zip(runs, ends, strict=True)))
        statuses, missing, twice = {}, 0, 0
        for run_id, headers in runs:
            got = (await http.get(f"{survivor}/v1/runs/{run_id}", headers=headers)).json()
            statuses[run_id] = got["status"]
            seqs = [e["seq"] for e in seen[run_id]]
            twice += len(seqs) - len(set(seqs))
            missing += len(set(range(1, got["events"] + 1)) - set(seqs))
        taken_over = sum(
            1 for events in seen.values()
            if any(e["type"] == "run.resumed" and e["data"].get("reason") == "continued"
                   for e in events)
        )  # fmt: skip
        return {
            "runs": total,
            "completed": sum(1 for s in statuses.values() if s == "completed"),
            "continued_by_worker": taken_over - by_owner if taken_over >= by_owner else 0,
            "continued_by_owner": by_owner,
            "events_missing": missing,
            "events_twice": twice,
            "takeover_s": sorted(resumed_after),
        }


def measure(users: int = 5, each: int = 8) -> dict[str, Any]:
    """The scenario once; the result as a dict for the report."""
    from agentkit.serve import TokenStore

    with tempfile.TemporaryDirectory() as tmp, postgres() as url:
        folder = Path(tmp)
        store = TokenStore(folder / "tokens.db")
        tokens = [store.create(f"user{i}", ("operator",)) for i in range(users)]
        key = os.urandom(32).hex()
        workers = [_worker(folder, url, folder / f"worker{i}.log", key) for i in range(2)]
        try:
            for process, base in workers:
                _healthy(base, process)
            (victim, doomed), (_, survivor) = workers
            result = asyncio.run(_scenario(doomed, survivor, victim, tokens, each))
        finally:
            for process, _ in workers:
                if process.poll() is None:
                    process.terminate()
                    process.wait(10)
        chains = sorted((folder / "audit").glob("*.jsonl"))
        verified = [
            subprocess.run([sys.executable, "-m", "agentkit", "audit", "verify", str(c)],
                           capture_output=True, check=False).returncode == 0
            for c in chains
        ]  # fmt: skip
    takeover = result.pop("takeover_s")
    result.update(
        lease_s=LEASE,
        takeover_p50_s=takeover[len(takeover) // 2] if takeover else None,
        takeover_max_s=takeover[-1] if takeover else None,
        chains=len(chains),
        chains_verified=sum(verified),
    )
    return result


def section(data: dict[str, Any]) -> list[str]:
    """The Markdown lines of `measure`'s result."""
    ended = data["completed"] == data["runs"] and not data["events_missing"]
    takeover = data["takeover_p50_s"]
    ratio = f"{takeover / data['lease_s']:.2f} x the lease" if takeover else "n/a"
    return [
        f"## 2d. Two workers on PostgreSQL, one killed (SIGKILL) with {data['runs']} runs "
        "in flight",
        "",
        "| runs | completed | taken over by the other worker | continued by their owner "
        "(a write was running) | events missing | events twice | audit chains verified |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {data['runs']} | {data['completed']} | {data['continued_by_worker']} | "
        f"{data['continued_by_owner']} | {data['events_missing']} | {data['events_twice']} | "
        f"{data['chains_verified']} of {data['chains']} |",
        "",
        f"Every run ended: {'yes' if ended else '**no**'}. Subscribers cut off by the kill "
        f"saw the next event from the other worker {takeover or 0:.2f} s after it (p50; max "
        f"{data['takeover_max_s'] or 0:.2f} s): {ratio} ({data['lease_s']:.0f} s, the floor: "
        "a lease must run out before another worker may take the run).",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--runs-each", type=int, default=8)
    args = parser.parse_args()
    data = measure(args.users, args.runs_each)
    print(json.dumps(data, indent=2))
    print("\n".join(section(data)))


if __name__ == "__main__":
    main()
