"""A run seeded with earlier calls (`EarlierCalls.seed`) decides exactly as a run given the
same steps plainly: the same history, the same outputs in its log, the same call ids
known; and a client's run counts only its own calls against the run's loop guards."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import Principal, RunResult, Tool
from agentkit.decision import Decision, ProposedCall
from agentkit.errors import ModelBehaviorError
from agentkit.model.types import FunctionCall
from agentkit.pipeline import authorise as authorise_module
from agentkit.pipeline.authorise import EarlierCalls, RecentCalls, authorise, history_for
from agentkit.pipeline.turn import check_call_ids, step_ids
from agentkit.pipeline.validate import ValidCall
from agentkit.run_limits import RunLimits
from agentkit.state import Step


def look(ticket: int) -> str:
    return f"ticket {ticket}"


TOOLS = {"look": Tool(look, side_effect="read", untrusted_output=True)}
STATUSES = ["ok", "failed", "timed_out", "denied", "declined", "invalid", "unknown_tool"]
ACTIONS = ["allow", "deny", "confirm"]

steps_made = st.lists(
    st.tuples(
        st.sampled_from(STATUSES),
        st.sampled_from(ACTIONS),
        st.booleans(),
        st.integers(0, 9),
        st.booleans(),
    ),
    max_size=12,
)


def _steps(made: list[tuple[str, str, bool, int, bool]]) -> list[Step]:
    steps = []
    for n, (status, action, untrusted, ticket, decided) in enumerate(made):
        steps.append(
            Step(
                call_id=f"c{n}",
                tool="look",
                turn=0,
                raw_arguments=f'{{"ticket": {ticket}}}',
                arguments={"ticket": ticket},
                status=status,  # type: ignore[arg-type]
                decision=Decision(action=action, reason="r", rule="x") if decided else None,  # type: ignore[arg-type]
                output=f"ticket {ticket}" if status == "ok" else "error",
                untrusted=untrusted,
                started_at=float(n),
                approver="lee" if action == "confirm" and status == "ok" else None,
            )
        )
    return steps


def _run(run_id: str = "r") -> RunResult:
    return RunResult(run_id=run_id, agent="a", model="none", principal=Principal(), called_by="mcp")


def _pending(run: RunResult) -> Step:
    step = Step(call_id="new", tool="look", turn=0, raw_arguments='{"ticket": 1}',
                arguments={"ticket": 1})  # fmt: skip
    run.steps.append(step)
    return step


@settings(max_examples=120, deadline=None)
@given(steps_made, steps_made)
def test_a_seeded_run_has_the_history_of_the_same_steps_given_plainly(
    first: list[tuple[str, str, bool, int, bool]], second: list[tuple[str, str, bool, int, bool]]
) -> None:
    earlier = EarlierCalls(TOOLS)
    made = _steps(first + second)
    for step in made[: len(first)]:
        earlier.add(step)
    seeded_once = _run("s1")
    earlier.seed(seeded_once)  # a run seeded before the later steps were added
    for step in made[len(first) :]:
        earlier.add(step)
    seeded, plain = _run("s"), _run("p")
    earlier.seed(seeded)
    plain.steps = list(made)
    assert len(earlier) == len(made)
    assert [s.call_id for s in seeded_once.steps] == [s.call_id for s in made[: len(first)]]
    for run in (seeded, plain):
        _pending(run)
    recent = RecentCalls()
    got = history_for(seeded, TOOLS, now=99.0, recent=recent)
    want = history_for(plain, TOOLS, now=99.0, recent=recent)
    assert got.calls == want.calls
    assert got.outputs is not None
    assert want.outputs is not None
    assert got.outputs.since(0) == want.outputs.since(0)
    assert step_ids(seeded) == step_ids(plain) == {s.call_id for s in seeded.steps}
    if made:  # a call decided again (on resume) leaves itself out the same way
        again = made[0].call_id
        got = history_for(seeded, TOOLS, now=99.0, recent=recent, leaving_out=again)
        want = history_for(plain, TOOLS, now=99.0, recent=recent, leaving_out=again)
        assert got.calls == want.calls


def test_a_seeded_run_builds_nothing_again_for_its_earlier_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    earlier = EarlierCalls(TOOLS)
    for step in _steps([("ok", "allow", n % 2 == 0, n, True) for n in range(8)]):
        earlier.add(step)
    built: list[str] = []
    real = authorise_module.past_call

    def counted(step: Step, tools: Any, at: float) -> Any:
        built.append(step.call_id)
        return real(step, tools, at)

    monkeypatch.setattr(authorise_module, "past_call", counted)
    run = _run()
    earlier.seed(run)
    kept = run.memo()["step_ids"]
    assert (kept.count, kept.last) == (8, run.steps[-1])
    _pending(run)
    history = history_for(run, TOOLS, now=99.0, recent=RecentCalls())
    assert built == ["new"]  # only the step still to decide is read
    assert len(history.calls) == 8
    check_call_ids(run, [FunctionCall(call_id="next", name="look", arguments="{}")])
    assert run.memo()["step_ids"] is kept
    assert (kept.count, kept.last) == (9, run.steps[-1])


def test_the_known_call_ids_follow_steps_changed_in_place() -> None:
    run = _run()
    made = _steps([("ok", "allow", False, n, True) for n in range(5)])
    run.steps.extend(made[:4])
    known = step_ids(run)
    assert known == {"c0", "c1", "c2", "c3"}
    assert step_ids(run) is known  # nothing changed: nothing read again
    run.steps.append(made[4])
    assert step_ids(run) is known  # one more step: taken in, not read again
    assert known == {"c0", "c1", "c2", "c3", "c4"}
    run.steps.pop()
    run.steps.pop()
    assert step_ids(run) == {"c0", "c1", "c2"}
    other = _steps([("ok", "allow", False, 0, True)])[0].model_copy(update={"call_id": "z"})
    run.steps[2] = other  # same length, another last step
    assert step_ids(run) == {"c0", "c1", "z"}
    run.steps[:] = []
    assert step_ids(run) == set()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3)), max_size=15))
def test_the_known_call_ids_follow_every_change_of_the_steps(
    changes: list[tuple[bool, int]],
) -> None:
    run = _run()
    made = 0
    for replace, count in changes:
        fresh = [Step(call_id=f"c{made + k}", tool="look", turn=0, raw_arguments="{}")
                 for k in range(count)]  # fmt: skip
        made += count
        if replace:
            run.steps = fresh  # another list: read again
        else:
            run.steps.extend(fresh)
        assert step_ids(run) == {s.call_id for s in run.steps}
        if run.steps:
            with pytest.raises(ModelBehaviorError):
                check_call_ids(run, [FunctionCall(call_id=run.steps[0].call_id, name="look",
                                                  arguments="{}")])  # fmt: skip
        check_call_ids(run, [FunctionCall(call_id="brand-new", name="look", arguments="{}")])


def test_only_settled_steps_join_and_only_a_run_without_steps_is_seeded() -> None:
    earlier = EarlierCalls(TOOLS)
    waiting = Step(call_id="w", tool="look", turn=0, raw_arguments="{}", status="awaiting_approval")
    with pytest.raises(ValueError, match="not settled"):
        earlier.add(waiting)
    run = _run()
    run.steps.append(waiting)
    with pytest.raises(ValueError, match="has steps"):
        earlier.seed(run)


class _AllowAll:
    def decide(self, principal: Principal, call: ProposedCall, history: object) -> Decision:
        return Decision(action="allow", reason="ok", rule="allow")


@pytest.mark.parametrize(("called_by", "limited"), [("mcp", False), (None, True)])
def test_a_clients_run_counts_only_its_own_calls_against_its_loop_guard(
    called_by: str | None, limited: bool
) -> None:
    run = _run()
    run.called_by = called_by
    run.steps = _steps([("ok", "allow", False, n % 9, True) for n in range(5)])
    _pending(run)
    history = history_for(run, TOOLS, now=9.0, recent=RecentCalls())
    call = ValidCall.again(TOOLS["look"], {"ticket": 1})
    decision = authorise(_AllowAll(), RunLimits(max_tool_calls=5), run, "new", call, history)  # type: ignore[arg-type]
    assert (decision.rule == "run_limits.max_tool_calls") is limited
