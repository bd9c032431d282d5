"""`agentkit mcp serve` under a real MCP client from the SDK, over stdio and over HTTP.

The served agent's tools write down every call that runs. The client gets the policy's
answers exactly: allowed calls run, denied ones never run, a destructive one waits for an
approval that a person with the rule's role decides with `agentkit approvals`, then runs
once when the client calls again; the principal is the transport's (an API token over
HTTP, the launching user over stdio), and the audit log verifies afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from agentkit.serve.tokens import TokenStore

HERE = Path(__file__).parent
TARGET = "mcp_guarded_desk:Desk"
SEAL_KEY = "5e" * 32


@pytest.fixture
def desk(tmp_path: Path) -> dict[str, Path]:
    return {
        "counts": tmp_path / "counts",
        "store": tmp_path / "approvals.db",
        "audit": tmp_path / "audit.jsonl",
        "decisions": tmp_path / "decisions.jsonl",  # a JSONL log has one writer
        "tokens": tmp_path / "tokens.db",
    }


def _env(paths: dict[str, Path]) -> dict[str, str]:
    return {
        "DESK_COUNTS": str(paths["counts"]),
        "AGENTKIT_SEAL_KEY": SEAL_KEY,
        "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path]),
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
    }


def _serve_args(paths: dict[str, Path], *extra: str) -> list[str]:
    return ["-m", "agentkit", "mcp", "serve", TARGET, "--store", str(paths["store"]),
            "--audit", str(paths["audit"]), *extra]  # fmt: skip


def _ran(paths: dict[str, Path]) -> list[str]:
    counts = paths["counts"]
    return counts.read_text().split() if counts.exists() else []


def _agentkit(paths: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentkit", *args], env=_env(paths),
                          cwd=HERE, capture_output=True, text=True, timeout=60)  # fmt: skip


def _decide(paths: dict[str, Path], verb: str, approval_id: str, who: str, *roles: str) -> Any:
    role_args = [arg for role in roles for arg in ("--approver-role", role)]
    return _agentkit(paths, "approvals", "--store", str(paths["store"]), verb, approval_id,
                     "--as", who, *role_args, "--audit", str(paths["decisions"]))  # fmt: skip


@asynccontextmanager
async def _stdio_client(paths: dict[str, Path], *who: str) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=sys.executable, args=_serve_args(paths, *who),
                                   env=_env(paths), cwd=str(HERE))  # fmt: skip
    async with Client(params, read_timeout_seconds=60) as client:
        yield client


@contextmanager
def _http_server(paths: dict[str, Path], loopback: Any) -> Iterator[str]:
    port = loopback.free_port()
    args = _serve_args(paths, "--transport", "http", "--port", str(port),
                       "--tokens", str(paths["tokens"]))  # fmt: skip
    process = subprocess.Popen([sys.executable, *args], env=_env(paths), cwd=HERE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        loopback.wait(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


@asynccontextmanager
async def _http_client(url: str, token: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


def _said(result: Any) -> tuple[bool, str, dict[str, Any]]:
    return bool(result.is_error), result.content[0].text, dict(result.structured_content or {})


async def _the_policy_holds(client: Client, paths: dict[str, Path]) -> None:
    """The same conversation over either transport, for ana (ops)."""
    listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == {"lookup", "close_ticket", "wipe", "notify"}
    assert listed["lookup"].annotations.read_only_hint is True
    assert listed["close_ticket"].annotations.destructive_hint is True
    assert listed["lookup"].input_schema["properties"]["ticket"]["type"] == "integer"

    error, text, detail = _said(await client.call_tool("lookup", {"ticket": 7}))
    assert not error
    assert "disk full" in text
    assert detail["untrusted"] is True
    assert "<untrusted-data" in text  # labelled for the model on the other side

    error, text, detail = _said(await client.call_tool("wipe", {}))
    assert error
    assert detail["status"] == "denied"
    assert "Denied by policy (tools.wipe)" in text

    # provenance: nothing shows the client's address came from a person
    error, _, detail = _said(await client.call_tool("notify", {"to": "a@b.example", "body": "x"}))
    assert error
    assert detail["status"] == "denied"

    error, _, detail = _said(await client.call_tool("lookup", {"ticket": "seven"}))
    assert error
    assert detail["status"] == "invalid"
    assert _ran(paths) == ["lookup"]

    error, text, detail = _said(await client.call_tool("close_ticket", {"ticket": 7}))
    assert error
    assert detail["status"] == "awaiting_approval"
    approval = detail["approval_id"]
    assert approval in text
    again = _said(await client.call_tool("close_ticket", {"ticket": 7}))
    assert again[2]["approval_id"] == approval  # the same request, not a second one
    assert _ran(paths) == ["lookup"]

    resumed = _agentkit(paths, "resume", detail["run_id"], "--store", str(paths["store"]))
    assert resumed.returncode != 0
    assert "the same call again" in resumed.stderr  # the client's call resumes it, nothing else
    refused = _decide(paths, "approve", approval, "ana", "ops")
    assert refused.returncode != 0  # not a lead, and not for one's own destructive call
    assert _decide(paths, "approve", approval, "lee", "lead").returncode == 0

    other = _said(await client.call_tool("close_ticket", {"ticket": 8}))
    assert other[2]["status"] == "awaiting_approval"
    assert other[2]["approval_id"] != approval
    error, text, detail = _said(await client.call_tool("close_ticket", {"ticket": 7}))
    assert not error
    assert text == "closed 7"
    assert detail["run_id"] == again[2]["run_id"]
    assert _ran(paths) == ["lookup", "close_ticket"]  # once, with the approved arguments

    error, _, detail = _said(await client.call_tool("close_ticket", {"ticket": 7}))
    assert error
    assert detail["approval_id"] not in (approval, other[2]["approval_id"])
    assert _decide(paths, "deny", detail["approval_id"], "lee", "lead").returncode == 0
    error, _, declined = _said(await client.call_tool("close_ticket", {"ticket": 7}))
    assert error
    assert declined["status"] == "declined"
    assert _ran(paths) == ["lookup", "close_ticket"]


def _audit_holds(paths: dict[str, Path], user: str) -> list[dict[str, Any]]:
    for log in (paths["audit"], paths["decisions"]):
        verified = _agentkit(paths, "audit", "verify", str(log))
        assert verified.returncode == 0, verified.stdout + verified.stderr
    records = [json.loads(line) for line in paths["audit"].read_text().splitlines()]
    started = [r["fields"] for r in records if r["event"] == "run.started"]
    assert started
    assert all(r["called_by"] == "mcp" and r["model"] == "none" for r in started)
    assert all(r["principal"] == user for r in started)
    return records


async def test_stdio_client_gets_the_policy_and_the_audit_verifies(
    desk: dict[str, Path],
) -> None:
    async with _stdio_client(desk, "--user", "ana", "--role", "ops") as client:
        await _the_policy_holds(client, desk)
    kinds = [r["event"] for r in _audit_holds(desk, "ana")]
    assert "call.executed" in kinds
    assert "model.request" not in kinds
    decided = [json.loads(line) for line in desk["decisions"].read_text().splitlines()]
    signed = [r["fields"] for r in decided if r["event"] == "approval.recorded"]
    assert [(r["approver"], r["approved"]) for r in signed] == [("lee", True), ("lee", False)]


async def test_http_client_is_the_principal_of_its_token(
    desk: dict[str, Path], loopback: Any
) -> None:
    tokens = TokenStore(desk["tokens"])
    ana = tokens.create("ana", ("ops",), None)
    vic = tokens.create("vic", ("viewer",), None)
    with _http_server(desk, loopback) as url:
        async with _http_client(url, ana) as client:
            await _the_policy_holds(client, desk)
        async with _http_client(url, vic) as client:
            error, _, detail = _said(await client.call_tool("close_ticket", {"ticket": 9}))
            assert error
            assert detail["status"] == "denied"
            assert not _said(await client.call_tool("lookup", {"ticket": 9}))[0]
        with pytest.raises(Exception):  # noqa: B017 - no token: refused before MCP
            async with _http_client(url, "not-a-token") as client:
                await client.list_tools()
        answer = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                             headers={"accept": "application/json, text/event-stream"})  # fmt: skip
        assert answer.status_code == 401
    assert _ran(desk) == ["lookup", "close_ticket", "lookup"]
    records = [json.loads(line) for line in desk["audit"].read_text().splitlines()]
    users = {r["fields"]["principal"] for r in records if r["event"] == "run.started"}
    assert users == {"ana", "vic"}
    assert _agentkit(desk, "audit", "verify", str(desk["audit"])).returncode == 0
