"""`agentkit serve` over real HTTP on loopback: principals, scoping, SSE, approvals.

uvicorn serves the app in a thread; every request goes over a socket with httpx2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import Agent, ApprovalStore, tool
from agentkit.serve import TokenAuthenticator, TokenStore, create_app
from agentkit.serve.user_limits import UserLimits
from agentkit.testing import Script, Turn, scripted_client

uvicorn = pytest.importorskip("uvicorn")

POLICY = """
version: 1
roles:
  clerk: {}
  treasurer: {}
tools:
  balance: {side_effect: read, action: allow}
  pay: {side_effect: financial, action: confirm}
approvers:
  - {id: payments, tools: [pay], roles: [treasurer]}
"""
SECRET = "xai-" + "S" * 48
PAID: list[int] = []


class Payments(Agent):
    @tool
    async def balance(self, account: str) -> str:
        """An account's balance."""
        return f"{account}: 100 EUR (api key {SECRET})"

    @tool(side_effect="financial")
    async def pay(self, amount: int) -> str:
        """Pay an amount."""
        PAID.append(amount)
        return f"paid {amount}"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, serve_app: Any) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("serve")
    (root / "p.yaml").write_text(POLICY)
    script = Script(
        [
            Turn.calls([("balance", {"account": "ops"}), ("pay", {"amount": 70})]),
            Turn.text("Paid 70 from ops."),
        ]
    )
    agent = Payments(client=scripted_client(script), policy=root / "p.yaml", audit=None)
    tokens = TokenStore(root / "tokens.db")
    app = create_app(
        agent,
        store=ApprovalStore(root / "approvals.db"),
        authenticator=TokenAuthenticator(tokens),
        heartbeat=0.2,
    )
    with serve_app(app) as base:
        people = {
            "ana": tokens.create("ana", ("clerk",), "acme"),
            "lee": tokens.create("lee", ("treasurer",), "acme"),
            "kim": tokens.create("kim", ("clerk",), "acme"),
            "eve": tokens.create("eve", ("treasurer",), "evil"),
        }
        yield {"base": base, "tokens": people, "store": tokens}


def call(service: dict[str, Any], who: str | None, method: str, path: str, **kw: Any) -> Any:
    headers = dict(kw.pop("headers", {}))
    if who is not None:
        headers["Authorization"] = f"Bearer {service['tokens'][who]}"
    return httpx2.request(method, service["base"] + path, headers=headers, timeout=10, **kw)


def events(service: dict[str, Any], who: str, run_id: str, after: int = 0) -> list[dict[str, Any]]:
    headers = {"Last-Event-ID": str(after)} if after else {}
    got = call(service, who, "GET", f"/v1/runs/{run_id}/events", headers=headers)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/event-stream")
    return [
        json.loads(line[len("data: ") :])
        for line in got.text.splitlines()
        if line.startswith("data: ")
    ]


def started(service: dict[str, Any], who: str) -> str:
    made = call(service, who, "POST", "/v1/runs", json={"prompt": "pay 70 from ops"})
    assert made.status_code == 202, made.text
    return str(made.json()["run_id"])


ENDPOINTS = [
    ("POST", "/v1/runs", {"json": {"prompt": "x"}}),
    ("GET", "/v1/runs", {}),
    ("GET", "/v1/runs/r1", {}),
    ("GET", "/v1/runs/r1/events", {}),
    ("POST", "/v1/runs/r1/continue", {"json": {}}),
    ("GET", "/v1/approvals", {}),
    ("GET", "/v1/approvals/apr_x", {}),
    ("POST", "/v1/approvals/apr_x", {"json": {"approved": True}}),
    ("GET", "/v1/openapi.json", {}),
    ("GET", "/docs", {}),
]


@pytest.mark.parametrize(("method", "path", "kw"), ENDPOINTS)
@pytest.mark.parametrize(
    "credential", [None, "Bearer akt_nope", "Basic abc", "Bearer", "bearer akt_"]
)
def test_nothing_answers_without_a_principal(
    service: dict[str, Any], method: str, path: str, kw: dict[str, Any], credential: str | None
) -> None:
    headers = {"Authorization": credential} if credential else {}
    got = call(service, None, method, path, headers=headers, **kw)
    assert got.status_code in (401, 404), got.text
    if got.status_code == 401:
        assert got.json()["error"]["type"] == "Unauthenticated"
    else:
        assert path == "/docs"  # no interactive docs at all


def test_pause_approve_by_another_person_resume(service: dict[str, Any]) -> None:
    run_id = started(service, "ana")
    first = events(service, "ana", run_id)
    assert first[-1]["type"] == "run.result"
    assert first[-1]["data"]["status"] == "awaiting_approval"
    assert [e["seq"] for e in first] == list(range(1, len(first) + 1))
    shown = json.dumps(first)
    assert SECRET not in shown  # redacted like the audit, the state of run.result too
    assert "100 EUR" in shown

    [approval] = call(service, "lee", "GET", "/v1/approvals").json()["approvals"]
    assert approval["arguments"] == {"amount": 70}
    assert approval["approvers"]["roles"] == ["treasurer"]
    apr = approval["approval_id"]
    assert call(service, "kim", "GET", f"/v1/approvals/{apr}").status_code == 404  # a clerk
    assert call(service, "eve", "GET", f"/v1/approvals/{apr}").status_code == 404  # elsewhere
    assert call(service, "eve", "GET", f"/v1/runs/{run_id}").status_code == 404
    assert call(service, "lee", "GET", f"/v1/runs/{run_id}").status_code == 404  # not lee's
    mine = call(service, "ana", "POST", f"/v1/approvals/{apr}", json={"approved": True})
    assert mine.status_code == 403  # ana is no treasurer, and it is her own payment
    assert mine.json()["error"]["type"] == "ApprovalRefused"
    eve = call(service, "eve", "POST", f"/v1/approvals/{apr}", json={"approved": True})
    assert eve.status_code == 404

    decided = call(service, "lee", "POST", f"/v1/approvals/{apr}", json={"approved": True})
    assert decided.status_code == 200, decided.text
    assert decided.json()["run_resumed"] is True
    rest = events(service, "ana", run_id, after=len(first))
    assert rest[0]["seq"] == len(first) + 1  # Last-Event-ID: only what was missed
    assert rest[-1]["data"]["status"] == "completed"
    assert any(e["type"] == "call.executed" and e["tool"] == "pay" for e in rest)
    again = call(service, "lee", "POST", f"/v1/approvals/{apr}", json={"approved": True})
    assert again.status_code in (403, 404)  # decided already: no second use
    state = call(service, "ana", "GET", f"/v1/runs/{run_id}").json()["state"]
    assert state["output"] == "Paid 70 from ops."
    assert SECRET not in json.dumps(state)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(["ana", "lee", "kim", "eve"]), min_size=2, max_size=4))
def test_nobody_reads_another_persons_runs(service: dict[str, Any], owners: list[str]) -> None:
    runs = [(who, started(service, who)) for who in owners]
    for who in {"ana", "lee", "kim", "eve"}:
        listed = {r["run_id"] for r in call(service, who, "GET", "/v1/runs").json()["runs"]}
        for owner, run_id in runs:
            visible = call(service, who, "GET", f"/v1/runs/{run_id}").status_code
            streamed = call(service, who, "GET", f"/v1/runs/{run_id}/events").status_code
            path = f"/v1/runs/{run_id}/continue"
            pushed = call(service, who, "POST", path, json={"effects_checked": True})
            if owner == who:
                assert (visible, streamed) == (200, 200)
                assert pushed.status_code == 409  # it is the owner's, but not interrupted
                assert run_id in listed
            else:
                assert (visible, streamed, pushed.status_code) == (404, 404, 404)
                assert run_id not in listed


def test_an_oversized_body_is_refused(service: dict[str, Any]) -> None:
    big = call(service, "ana", "POST", "/v1/runs", content=b"{" + b" " * 100_000 + b"}",
               headers={"Content-Type": "application/json"})  # fmt: skip
    assert big.status_code == 413
    assert big.json()["error"]["type"] == "BodyTooLarge"


def test_health_says_nothing_else(service: dict[str, Any]) -> None:
    assert httpx2.get(service["base"] + "/healthz").json() == {"status": "ok"}
    assert httpx2.get(service["base"] + "/readyz").json() == {"status": "ready"}


def test_a_revoked_token_is_refused(service: dict[str, Any], tmp_path: Path) -> None:
    store: TokenStore = service["store"]
    token = store.create("tmp", ())
    ok = httpx2.get(service["base"] + "/v1/runs", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert store.revoke(token)
    gone = httpx2.get(service["base"] + "/v1/runs", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401


def test_per_user_limits_refuse_before_any_work(tmp_path: Path, serve_app: Any) -> None:
    (tmp_path / "p.yaml").write_text(POLICY)
    script = Script([Turn.text("hello")])
    agent = Payments(client=scripted_client(script), policy=tmp_path / "p.yaml", audit=None)
    tokens = TokenStore(tmp_path / "tokens.db")
    app = create_app(
        agent,
        store=ApprovalStore(tmp_path / "approvals.db"),
        authenticator=TokenAuthenticator(tokens),
        limits=UserLimits(runs_per_minute=2),
    )
    ana, lee = tokens.create("ana"), tokens.create("lee")
    with serve_app(app) as base:

        def start(token: str) -> Any:
            return httpx2.post(base + "/v1/runs", json={"prompt": "hi"},
                               headers={"Authorization": f"Bearer {token}"})  # fmt: skip

        assert [start(ana).status_code for _ in range(2)] == [202, 202]
        refused = start(ana)
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "LimitExceeded"
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
        assert start(lee).status_code == 202  # per user: lee is not ana
        listed = httpx2.get(base + "/v1/runs", headers={"Authorization": f"Bearer {ana}"})
        assert len(listed.json()["runs"]) == 2  # the refused run never existed


def ag_ui_events(service: dict[str, Any], who: str, run_id: str, after: int = 0) -> list[Any]:
    from ag_ui.core import Event
    from pydantic import TypeAdapter

    headers = {"Last-Event-ID": str(after)} if after else {}
    got = call(service, who, "GET", f"/v1/runs/{run_id}/ag-ui", headers=headers)
    assert got.status_code == 200, got.text
    adapter = TypeAdapter(Event)
    return [
        adapter.validate_json(line[len("data: ") :])  # each one a valid AG-UI event
        for line in got.text.splitlines()
        if line.startswith("data: ")
    ]


def test_the_same_run_over_ag_ui(service: dict[str, Any]) -> None:
    run_id = started(service, "ana")
    seen = events(service, "ana", run_id)
    first = ag_ui_events(service, "ana", run_id)
    kinds = [e.type.value for e in first]
    assert kinds[0] == "RUN_STARTED"
    assert kinds.count("TOOL_CALL_START") == 2
    assert "TOOL_CALL_RESULT" in kinds  # balance ran
    finished = first[-1]
    assert finished.type.value == "RUN_FINISHED"
    [interrupt] = finished.outcome.interrupts
    approval = interrupt.metadata["approval_id"]
    assert interrupt.id == f"int-{interrupt.tool_call_id}"
    assert SECRET not in json.dumps([e.model_dump(mode="json") for e in first])
    assert call(service, "eve", "GET", f"/v1/runs/{run_id}/ag-ui").status_code == 404

    decided = call(service, "lee", "POST", f"/v1/approvals/{approval}", json={"approved": True})
    assert decided.status_code == 200
    rest = ag_ui_events(service, "ana", run_id, after=len(seen))
    assert rest[0].type.value == "RUN_STARTED"  # the run goes on
    assert any(e.type.value == "TEXT_MESSAGE_CONTENT" for e in rest)
    assert rest[-1].type.value == "RUN_FINISHED"
    assert rest[-1].result == "Paid 70 from ops."


def pay_five_app(tmp_path: Path, tokens: TokenStore, runs: Any = None) -> Any:
    """The service of an agent that pays 5 (after a treasurer approves), on `tmp_path`'s
    files: a new one is a new process's."""
    (tmp_path / "p.yaml").write_text(POLICY)
    script = Script([Turn.call("pay", {"amount": 5}), Turn.text("Paid 5.")])
    agent = Payments(client=scripted_client(script), policy=tmp_path / "p.yaml", audit=None)
    store = ApprovalStore(tmp_path / "approvals.db")
    return create_app(agent, store=store, authenticator=TokenAuthenticator(tokens), runs=runs)


def test_a_paused_run_is_decided_and_continued_after_a_restart(
    tmp_path: Path, serve_app: Any
) -> None:
    tokens = TokenStore(tmp_path / "tokens.db")
    ana = tokens.create("ana", ("clerk",), "acme")
    lee = tokens.create("lee", ("treasurer",), "acme")

    def app() -> Any:  # a new process: a new agent, nothing in memory, the same files
        return pay_five_app(tmp_path, tokens)

    with serve_app(app()) as base:
        run = httpx2.post(base + "/v1/runs", json={"prompt": "pay 5"},
                          headers={"Authorization": f"Bearer {ana}"}).json()  # fmt: skip
        httpx2.get(base + run["events"], headers={"Authorization": f"Bearer {ana}"}, timeout=30)
    with serve_app(app()) as base:
        [approval] = httpx2.get(
            base + "/v1/approvals", headers={"Authorization": f"Bearer {lee}"}
        ).json()["approvals"]
        decided = httpx2.post(base + f"/v1/approvals/{approval['approval_id']}",
                              json={"approved": True},
                              headers={"Authorization": f"Bearer {lee}"})  # fmt: skip
        assert decided.json()["run_resumed"] is True
        rest = httpx2.get(base + run["events"], headers={"Authorization": f"Bearer {ana}"},
                          timeout=30)  # fmt: skip
        assert '"status":"completed"' in rest.text
        assert "paid 5" in rest.text
        seqs = [int(line[4:]) for line in rest.text.splitlines() if line.startswith("id: ")]
        assert seqs == list(range(1, len(seqs) + 1))  # the first process's events, then these
        assert '"type":"run.paused"' in rest.text
    with serve_app(app()) as base:  # a third process: the finished run, as it ended
        mine = httpx2.get(base + "/v1/runs", headers={"Authorization": f"Bearer {ana}"}).json()
        assert {"run_id": run["run_id"], "status": "completed"} in mine["runs"]
        got = httpx2.get(base + f"/v1/runs/{run['run_id']}",
                         headers={"Authorization": f"Bearer {ana}"}).json()  # fmt: skip
        assert got["state"]["output"] == "Paid 5."
        theirs = httpx2.get(base + f"/v1/runs/{run['run_id']}",
                            headers={"Authorization": f"Bearer {lee}"})  # fmt: skip
        assert theirs.status_code == 404
        again = httpx2.get(base + run["events"], headers={"Authorization": f"Bearer {ana}"})
        assert again.text.count("id: ") == len(seqs)


def test_a_run_whose_worker_died_as_it_resumed_is_continued_by_its_owner(
    tmp_path: Path, serve_app: Any
) -> None:
    import asyncio
    import time

    from agentkit.serve.run_store import open_run_store

    tokens = TokenStore(tmp_path / "tokens.db")
    ana = tokens.create("ana", ("clerk",), "acme")
    as_ana = {"Authorization": f"Bearer {ana}"}
    PAID.clear()

    def app() -> Any:
        return pay_five_app(tmp_path, tokens, open_run_store(tmp_path / "service.db",
                                                             lease_seconds=0.3))  # fmt: skip

    with serve_app(app()) as base:
        run = httpx2.post(base + "/v1/runs", json={"prompt": "pay 5"}, headers=as_ana).json()
        httpx2.get(base + run["events"], headers=as_ana, timeout=30)
    store = ApprovalStore(tmp_path / "approvals.db")
    [approval] = store.approvals("pending")
    store.decide(approval.pending.approval_id, approved=True, approver="lee", roles=("treasurer",))

    async def a_worker_claims_it_then_dies() -> None:
        dying = open_run_store(tmp_path / "service.db", worker="dead", lease_seconds=0.1)
        owner = store.load(run["run_id"]).principal
        assert await dying.claim(run["run_id"], owner)
        await dying.close()

    asyncio.run(a_worker_claims_it_then_dies())
    with serve_app(app()) as base:
        status, deadline = "running", time.monotonic() + 20
        while status == "running" and time.monotonic() < deadline:
            status = httpx2.get(base + f"/v1/runs/{run['run_id']}", headers=as_ana).json()["status"]
            time.sleep(0.1)
        assert status == "interrupted"  # taken up, but not on its own: it was resuming
        assert PAID == []
        go_on = httpx2.post(base + f"/v1/runs/{run['run_id']}/continue", json={}, headers=as_ana)
        assert go_on.status_code == 202, go_on.text  # no call was running: no check needed
        rest = httpx2.get(base + run["events"], headers=as_ana, timeout=30).text
        assert '"type":"run.interrupted"' in rest
        assert '"status":"completed"' in rest
        assert PAID == [5]  # the approved call ran once
        again = httpx2.post(base + f"/v1/runs/{run['run_id']}/continue", json={}, headers=as_ana)
        assert again.status_code == 409
