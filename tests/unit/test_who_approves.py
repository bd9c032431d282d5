"""Who may decide a paused call: the policy's approvers rules, enforced the same way by the
runner, the approvals store and the CLI (`agentkit.who_approves.check_signers`)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit import Agent, ApprovalStore, Principal, tool
from agentkit.errors import ApprovalRefused, PolicyLoadError, RunStateTampered
from agentkit.policy import Policy
from agentkit.state import RunResult
from agentkit.testing import Script, Turn, scripted_client
from agentkit.who_approves import Approvers, Signer, check_signers, default_approvers

POLICY = """
version: 1
roles:
  clerk: {}
  treasurer: {}
  cfo: {includes: [treasurer]}
tools:
  pay: {side_effect: financial, action: confirm, roles: [clerk]}
  note: {side_effect: write, action: confirm, roles: [clerk]}
approvers:
  - id: big-payments
    tools: [pay]
    when: {amount: {minimum: 1000}}
    roles: [treasurer]
    required: 2
  - id: small-payments
    tools: [pay]
    roles: [treasurer]
    expires: 3600
"""
CLERK = Principal(user_id="ana", roles=("clerk",))
PAID: list[int] = []


class Payments(Agent):
    @tool(side_effect="financial")
    async def pay(self, amount: int) -> str:
        """Pay an amount."""
        PAID.append(amount)
        return f"paid {amount}"

    @tool(side_effect="write")
    async def note(self, text: str) -> str:
        """Write a note."""
        return "noted"


def paused(tmp_path: Path, amount: int, tool_name: str = "pay") -> tuple[Agent, RunResult]:
    PAID.clear()
    (tmp_path / "p.yaml").write_text(POLICY)
    arguments = {"amount": amount} if tool_name == "pay" else {"text": "x"}
    script = Script([Turn.call(tool_name, arguments), Turn.text("done")])
    store = ApprovalStore(tmp_path / "approvals.db")
    agent = Payments(
        client=scripted_client(script), policy=tmp_path / "p.yaml", audit=None, approvals=store
    )
    run = agent.run_sync("pay", principal=CLERK)
    assert run.status == "awaiting_approval"
    store.save(run)
    return agent, run


def test_the_policy_stamps_who_may_decide_into_the_paused_call(tmp_path: Path) -> None:
    _, big = paused(tmp_path, 5000)
    need = big.pending[0].approvers
    assert need.rule == "approvers.big-payments"
    assert need.required == 2
    assert set(need.roles or ()) == {"treasurer", "cfo"}  # cfo includes treasurer
    assert need.self_approval is False  # financial: not one's own
    _, small = paused(tmp_path, 10)
    assert small.pending[0].approvers.rule == "approvers.small-payments"
    assert small.pending[0].approvers.expires_after == 3600
    _, note = paused(tmp_path, 0, "note")
    assert note.pending[0].approvers == Approvers(self_approval=True)  # write: the defaults


def test_two_person_rule_through_the_store(tmp_path: Path) -> None:
    agent, run = paused(tmp_path, 5000)
    store = ApprovalStore(tmp_path / "approvals.db")
    approval = run.pending[0].approval_id
    with pytest.raises(ApprovalRefused, match="needs one of the roles"):
        store.decide(approval, approved=True, approver="bob", roles=["clerk"])
    with pytest.raises(ApprovalRefused, match="own call"):
        store.decide(approval, approved=True, approver="ana", roles=["treasurer"])
    first = store.decide(approval, approved=True, approver="tom", roles=["treasurer"])
    assert first.verdict == "pending"  # one of two
    with pytest.raises(ApprovalRefused, match="twice"):
        store.decide(approval, approved=True, approver="tom", roles=["treasurer"])
    waiting = agent.resume_sync(
        store.load(run.run_id), store.decisions(run.run_id), principal=CLERK
    )
    assert waiting.status == "awaiting_approval"  # one signature decides nothing yet
    assert PAID == []
    second = store.decide(approval, approved=True, approver="cy", roles=["cfo"])
    assert second.verdict == "approved"
    assert [s.user_id for s in second.signers] == ["tom", "cy"]
    done = agent.resume_sync(store.load(run.run_id), store.decisions(run.run_id), principal=CLERK)
    assert done.status == "completed"
    assert PAID == [5000]


def test_one_permitted_denial_decides(tmp_path: Path) -> None:
    agent, run = paused(tmp_path, 5000)
    store = ApprovalStore(tmp_path / "approvals.db")
    approval = run.pending[0].approval_id
    store.decide(approval, approved=True, approver="tom", roles=["treasurer"])
    denied = store.decide(approval, approved=False, approver="cy", roles=["cfo"])
    assert denied.verdict == "denied"
    done = agent.resume_sync(store.load(run.run_id), store.decisions(run.run_id), principal=CLERK)
    assert done.steps[0].status == "declined"
    assert PAID == []


def test_decisions_built_by_hand_meet_the_same_rules(tmp_path: Path) -> None:
    from agentkit.pipeline.confirm import ApprovalDecision

    agent, run = paused(tmp_path, 10)
    pending = run.pending[0]
    alone = ApprovalDecision.approve(pending, approver="tom")  # no roles vouched for
    with pytest.raises(ApprovalRefused, match="roles"):
        agent.resume_sync(run, [alone], principal=CLERK)
    assert run.pending == [pending]  # nothing applied
    vouched = ApprovalDecision(
        **{**_fields(alone), "signers": (Signer(user_id="tom", roles=("treasurer",)),)}
    )
    assert agent.resume_sync(run, [vouched], principal=CLERK).status == "completed"


def test_the_runner_counts_the_signers_of_a_two_person_rule(tmp_path: Path) -> None:
    from agentkit.pipeline.confirm import ApprovalDecision

    agent, run = paused(tmp_path, 5000)
    pending = run.pending[0]
    tom = Signer(user_id="tom", roles=("treasurer",))
    one = ApprovalDecision(**{**_fields(ApprovalDecision.approve(pending, approver="tom")),
                              "signers": (tom,)})  # fmt: skip
    with pytest.raises(ApprovalRefused, match="needs 2 distinct approvers"):
        agent.resume_sync(run, [one], principal=CLERK)
    assert PAID == []


def test_an_edited_requirement_is_refused(tmp_path: Path) -> None:
    _, run = paused(tmp_path, 5000)
    store_path = tmp_path / "approvals.db"
    with sqlite3.connect(store_path) as db:
        state = json.loads(db.execute("SELECT state FROM runs").fetchone()[0])
        state["pending"][0]["approvers"]["required"] = 1
        db.execute("UPDATE runs SET state = ?", (json.dumps(state),))
    with pytest.raises(RunStateTampered):
        ApprovalStore(store_path).decide(
            run.pending[0].approval_id, approved=True, approver="tom", roles=["treasurer"]
        )


def test_an_unknown_approver_role_is_a_load_error() -> None:
    bad = POLICY.replace("roles: [treasurer]\n    required", "roles: [treasurr]\n    required")
    with pytest.raises(PolicyLoadError, match="treasurr"):
        Policy.from_yaml(bad)


def test_an_expired_request_cannot_be_approved() -> None:
    need = Approvers(expires_after=60)
    with pytest.raises(ApprovalRefused, match="expired"):
        check_signers(need, requester="a", approved=True, signers=[Signer(user_id="b")],
                      requested_at=0.0, now=61.0)  # fmt: skip
    assert check_signers(need, requester="a", approved=True, signers=[Signer(user_id="b")],
                         requested_at=0.0, now=59.0) == "approved"  # fmt: skip


NAMES = st.sampled_from(["ana", "bob", "cy", "dee"])
ROLES = st.lists(st.sampled_from(["treasurer", "clerk", "cfo"]), max_size=2).map(tuple)


@given(
    st.builds(
        Approvers,
        roles=st.none() | st.lists(st.sampled_from(["treasurer", "cfo"]), min_size=1).map(tuple),
        self_approval=st.booleans(),
        required=st.integers(1, 3),
    ),
    NAMES,
    st.booleans(),
    st.lists(st.builds(Signer, user_id=NAMES, roles=ROLES), min_size=1, max_size=4),
)
def test_an_approval_never_counts_someone_it_should_not(
    need: Approvers, requester: str, approved: bool, signers: list[Signer]
) -> None:
    try:
        outcome = check_signers(
            need, requester=requester, approved=approved, signers=signers,
            requested_at=0.0, now=0.0,
        )  # fmt: skip
    except ApprovalRefused:
        return
    ids = [s.user_id for s in signers]
    assert len(set(ids)) == len(ids)  # nobody counted twice
    for signer in signers:
        assert need.roles is None or set(signer.roles) & set(need.roles)
        assert need.self_approval or not approved or signer.user_id != requester
    if outcome == "approved":
        assert approved
        assert len(ids) >= need.required
    assert outcome == ("denied" if not approved else "approved" if len(ids) >= need.required
                       else "waiting")  # fmt: skip


def test_the_defaults_by_class() -> None:
    for guarded in ("destructive", "financial", "external_send"):
        assert default_approvers([guarded, "read"]).self_approval is False
    assert default_approvers(["write"]).self_approval is True


def _fields(decision: object) -> dict[str, object]:
    from dataclasses import fields

    return {f.name: getattr(decision, f.name) for f in fields(decision)}  # type: ignore[arg-type]


def test_an_inline_approver_follows_the_rules(tmp_path: Path) -> None:
    from agentkit import CallbackApprover

    (tmp_path / "p.yaml").write_text(POLICY)
    script = Script([Turn.call("pay", {"amount": 10}), Turn.text("done")])
    yes = CallbackApprover(lambda request: True, name="ops-bot")  # no treasurer role
    agent = Payments(client=scripted_client(script), policy=tmp_path / "p.yaml", audit=None,
                     approver=yes)  # fmt: skip
    PAID.clear()
    done = asyncio.run(agent.run("pay", principal=CLERK))
    assert done.steps[0].status == "declined"
    assert PAID == []
    treasurer = CallbackApprover(lambda request: True, name="tom", roles=["treasurer"])
    agent = Payments(client=scripted_client(script), policy=tmp_path / "p.yaml", audit=None,
                     approver=treasurer)  # fmt: skip
    assert asyncio.run(agent.run("pay", principal=CLERK)).steps[0].status == "ok"
    assert PAID == [10]


def test_the_refusals_say_what_is_missing() -> None:
    need = Approvers(rule="approvers.pay", roles=("treasurer", "cfo"), self_approval=False)

    def check(signers: list[Signer], requester: str = "ana") -> object:
        return check_signers(need, requester=requester, approved=True, signers=signers,
                             requested_at=0.0, now=0.0)  # fmt: skip

    with pytest.raises(ApprovalRefused, match=r"^a decision needs the person who made it$"):
        check([])
    with pytest.raises(
        ApprovalRefused, match=r"one of the roles cfo, treasurer \(approvers.pay\)$"
    ):
        check([Signer(user_id="bob", roles=("clerk",))])
    with pytest.raises(ApprovalRefused, match=r"\(approvers.pay\): another person must$"):
        check([Signer(user_id="ana", roles=("cfo",))])


def test_a_request_is_approvable_up_to_its_expiry_exactly() -> None:
    need = Approvers(expires_after=60)
    at_expiry = check_signers(need, requester="a", approved=True, signers=[Signer(user_id="b")],
                              requested_at=10.0, now=70.0)  # fmt: skip
    assert at_expiry == "approved"


@given(
    roles=st.none() | st.lists(st.sampled_from(["treasurer", "cfo"]), min_size=1).map(tuple),
    signer=st.builds(Signer, user_id=NAMES, roles=ROLES),
    late=st.floats(min_value=0.001, max_value=1e7),
)
def test_past_its_expiry_a_request_is_only_ever_declined(
    roles: tuple[str, ...] | None, signer: Signer, late: float
) -> None:
    need = Approvers(roles=roles, expires_after=60, self_approval=False)
    now = 100.0 + 60 + late
    with pytest.raises(ApprovalRefused, match="expired"):  # by anyone, whatever their roles
        check_signers(need, requester="ana", approved=True, signers=[signer],
                      requested_at=100.0, now=now)  # fmt: skip
    declined = check_signers(need, requester="ana", approved=False, signers=[signer],
                             requested_at=100.0, now=now)  # fmt: skip
    assert declined == "denied"  # declining needs no role then: it only stops the call
