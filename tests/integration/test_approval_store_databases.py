"""The approvals store on SQLite and PostgreSQL alike: a paused run is saved and decided,
a two-person rule needs two distinct people even when they sign at the same moment from
two processes' worth of stores, an approval is used once however many stores race for it,
and a verdict written around the store is refused."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from agentkit import Agent, ApprovalStore, Principal, tool
from agentkit.errors import ApprovalRefused, ConfigError, RunStateTampered
from agentkit.sealing import Sealer
from agentkit.state import RunResult
from agentkit.testing import Script, Turn, scripted_client

POLICY = """
version: 1
roles:
  clerk: {}
  treasurer: {}
tools:
  pay: {side_effect: financial, action: confirm, roles: [clerk]}
approvers:
  - {id: two, tools: [pay], roles: [treasurer], required: 2}
"""
CLERK = Principal(user_id="ana", roles=("clerk",))
KEY = Sealer(bytes(range(32)))
PAID: list[int] = []


class Payments(Agent):
    @tool(side_effect="financial")
    async def pay(self, amount: int) -> str:
        """Pay an amount."""
        PAID.append(amount)
        return f"paid {amount}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "approvals.db")
    return str(request.getfixturevalue("new_pg_database")("approvals"))


def paused(tmp_path: Path, store: ApprovalStore) -> tuple[Agent, RunResult]:
    (tmp_path / "p.yaml").write_text(POLICY)
    script = Script([Turn.call("pay", {"amount": 70}), Turn.text("done")])
    agent = Payments(
        client=scripted_client(script),
        policy=tmp_path / "p.yaml",
        audit=None,
        approvals=store,
        sealer=KEY,
    )
    run = agent.run_sync("pay", principal=CLERK)
    assert run.status == "awaiting_approval"
    store.save(run)
    return agent, run


def test_a_paused_run_is_decided_by_two_people_and_resumed(location: str, tmp_path: Path) -> None:
    store = ApprovalStore(location, sealer=KEY)
    agent, run = paused(tmp_path, store)
    [approval] = store.approvals("pending")
    assert approval.pending.run_id == run.run_id
    assert store.load(run.run_id).pending == run.pending
    approval_id = approval.pending.approval_id
    with pytest.raises(ApprovalRefused):
        store.decide(approval_id, approved=True, approver="ana", roles=("treasurer",))  # own
    first = store.decide(approval_id, approved=True, approver="lee", roles=("treasurer",))
    assert first.verdict == "pending"
    with pytest.raises(ApprovalRefused):
        store.decide(approval_id, approved=True, approver="lee", roles=("treasurer",))  # twice
    second = ApprovalStore(location, sealer=KEY).decide(  # another process's store
        approval_id, approved=True, approver="kim", roles=("treasurer",)
    )
    assert second.verdict == "approved"
    assert [s.user_id for s in second.signers] == ["lee", "kim"]
    PAID.clear()
    done = asyncio.run(agent.resume(store.load(run.run_id), store.decisions(run.run_id)))
    assert done.status == "completed"
    assert PAID == [70]
    again = ApprovalStore(location, sealer=KEY)
    with pytest.raises(ApprovalRefused):  # the approval was used: no second payment
        asyncio.run(agent.resume(again.load(run.run_id), again.decisions(run.run_id)))
    assert PAID == [70]


def test_two_signatures_at_the_same_moment_both_count(location: str, tmp_path: Path) -> None:
    store = ApprovalStore(location, sealer=KEY)
    _, run = paused(tmp_path, store)
    approval_id = run.pending[0].approval_id
    barrier = threading.Barrier(2)
    results: list[str] = []

    def sign(who: str) -> None:
        own = ApprovalStore(location, sealer=KEY)
        barrier.wait()
        results.append(own.decide(approval_id, approved=True, approver=who,
                                  roles=("treasurer",)).verdict)  # fmt: skip

    threads = [threading.Thread(target=sign, args=(who,)) for who in ("lee", "kim")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert "approved" in results  # the second signer saw the first's signature
    [decided] = [a for a in store.approvals(None) if a.pending.approval_id == approval_id]
    assert decided.verdict == "approved"
    assert sorted(s.user_id for s in decided.signers) == ["kim", "lee"]


def test_an_approval_is_consumed_once_across_stores(location: str) -> None:
    stores = [ApprovalStore(location, sealer=KEY) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    won: list[bool] = []

    def take(store: ApprovalStore) -> None:
        barrier.wait()
        won.append(store.consume("apr_once"))

    threads = [threading.Thread(target=take, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(won) == [False] * 5 + [True]
    assert stores[0].was_used("apr_once")
    assert not stores[0].was_used("apr_other")


def test_a_verdict_written_around_the_store_is_refused(location: str, tmp_path: Path) -> None:
    store = ApprovalStore(location, sealer=KEY)
    _, run = paused(tmp_path, store)
    approval_id = run.pending[0].approval_id
    with store._connect() as db:  # what someone with the database's password could do
        db.execute("UPDATE approvals SET verdict = 'approved', approver = 'mallory'"
                   " WHERE approval_id = ?", (approval_id,))  # fmt: skip
    with pytest.raises(RunStateTampered):
        store.decisions(run.run_id)


def test_a_postgresql_store_has_no_file_for_the_cli(location: str) -> None:
    store = ApprovalStore(location, sealer=KEY)
    if "://" in location:
        with pytest.raises(ConfigError, match="PostgreSQL"):
            _ = store.path
    else:
        assert str(store.path) == location
