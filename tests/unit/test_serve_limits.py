"""Per-user limits of the service: never more runs at once, a minute or a day's cost than
allowed, whatever the order of starts, ends and the passing of time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit.decision import Principal
from agentkit.serve.user_limits import LimitRefused, UserCounters, UserLimits

USERS = [
    Principal(user_id="ana"),
    Principal(user_id="ana", workspace="w2"),
    Principal(user_id="bo"),
]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["start", "end", "wait"]),
        st.integers(0, len(USERS) - 1),
        st.floats(0, 40),
        st.floats(0, 0.5),
    ),
    max_size=60,
)


@given(STEPS, st.integers(1, 3), st.integers(1, 4), st.floats(0.1, 2.0))
def test_limits_hold_over_any_sequence(
    steps: list[tuple[str, int, float, float]], concurrent: int, per_minute: int, budget: float
) -> None:
    now = [0.0]
    counters = UserCounters(
        UserLimits(concurrent_runs=concurrent, runs_per_minute=per_minute, cost_usd_per_day=budget),
        clock=lambda: now[0],
    )
    running = {i: 0 for i in range(len(USERS))}
    started: dict[int, list[float]] = {i: [] for i in range(len(USERS))}
    spent: dict[int, float] = {i: 0.0 for i in range(len(USERS))}
    for action, user, seconds, cost in steps:
        who = USERS[user]
        if action == "wait":
            now[0] += seconds
        elif action == "start":
            try:
                counters.admit(who)
            except LimitRefused as refused:
                retry_after = refused.retry_after
            else:
                retry_after = 0
            if retry_after:
                assert retry_after >= 1
                continue
            running[user] += 1
            started[user].append(now[0])
            assert running[user] <= concurrent
            assert sum(1 for t in started[user] if t > now[0] - 60) <= per_minute
            assert spent[user] < budget  # a run starts only while the day's budget lasts
        elif running[user]:
            counters.finished(who, cost)
            running[user] -= 1
            spent[user] += cost


def test_users_are_counted_apart() -> None:
    counters = UserCounters(UserLimits(concurrent_runs=1))
    counters.admit(USERS[0])
    with pytest.raises(LimitRefused, match="at once"):
        counters.admit(USERS[0])
    counters.admit(USERS[1])  # the same name in another workspace is another person
    counters.admit(USERS[2])
    counters.finished(USERS[0], 0.0)
    counters.admit(USERS[0])


@given(
    st.integers(0, 4),
    st.integers(0, 4),
    st.floats(0, 3),
    st.integers(1, 4),
    st.integers(1, 4),
    st.floats(0.5, 3),
)
def test_what_other_workers_have_counts_against_the_same_limits(
    running: int, started: int, cost: float, at_once: int, a_minute: int, a_day: float
) -> None:
    from agentkit.serve.user_limits import Elsewhere

    ana = USERS[0]
    limits = UserLimits(concurrent_runs=at_once, runs_per_minute=a_minute, cost_usd_per_day=a_day)
    counters = UserCounters(limits, clock=lambda: 1_000.0)
    counters.elsewhere = {(ana.user_id, ana.workspace): Elsewhere(running, started, cost)}
    admitted = 0
    for _ in range(10):
        try:
            counters.admit(ana)
        except LimitRefused:
            break
        admitted += 1
    room = 0 if cost >= a_day else min(at_once - running, a_minute - started)
    assert admitted == max(0, room)
    other = USERS[2]  # another user is not held back by ana's usage
    counters.admit(other)
