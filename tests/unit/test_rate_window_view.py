"""The rate window a decision sees: the same as an eager copy, read only where asked.

A decision's cost must not grow with how many calls the principal made in the last
minute, so the window is read key by key; these tests hold that lazy view to the eager
snapshot it replaces, for both windows, over arbitrary call histories.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.decision import History, Principal
from agentkit.pipeline.rate_window import RATE_WINDOW_SECONDS, RecentCalls, WindowView
from agentkit.policy import Policy
from agentkit.rate_store import SqliteRateWindow
from agentkit.testing.decisions import proposed_call

USERS = st.sampled_from(["ana", "bo"])
KEYS = st.sampled_from(["search", "send", "class:read"])
TIMES = st.floats(min_value=0.0, max_value=200.0, allow_nan=False)
CALLS = st.lists(st.tuples(USERS, KEYS, TIMES), max_size=40)


def eager(calls: list[tuple[str, str, float]], user: str, now: float) -> dict[str, tuple]:
    """What the window held, computed the obvious way from every call ever noted."""
    found: dict[str, list[float]] = {}
    for who, key, at in calls:
        if who == user and now - RATE_WINDOW_SECONDS <= at <= now:
            found.setdefault(key, []).append(at)
    return {key: tuple(times) for key, times in found.items()}


def in_order(calls: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    # a process notes calls as they happen: time only moves forward
    return sorted(calls, key=lambda c: c[2])


@given(CALLS, CALLS, USERS, TIMES)
def test_the_view_is_the_eager_window_and_later_calls_stay_out_of_it(
    before: list[tuple[str, str, float]],
    after: list[tuple[str, str, float]],
    user: str,
    now: float,
) -> None:
    before = [c for c in in_order(before) if c[2] <= now]
    after = [(who, key, min(max(at, now), now + 60)) for who, key, at in in_order(after)]
    window = RecentCalls()
    for who, key, at in before:
        window.add(who, key, at)
    view = window.snapshot(user, now)
    for who, key, at in after:  # same instant or later: never in the view
        window.add(who, key, at)
    expected = eager(before, user, now)
    assert dict(view) == expected
    assert {key: view.get(key, ()) for key in ("search", "send", "nope")} == {
        key: expected.get(key, ()) for key in ("search", "send", "nope")
    }
    assert len(view) == len(expected)


@settings(max_examples=25, deadline=None)
@given(CALLS, CALLS, USERS, TIMES)
def test_the_shared_window_is_the_eager_window_and_later_calls_stay_out_of_it(
    before: list[tuple[str, str, float]],
    after: list[tuple[str, str, float]],
    user: str,
    now: float,
) -> None:
    before = [c for c in in_order(before) if c[2] <= now]
    after = [(who, key, min(max(at, now), now + 60)) for who, key, at in in_order(after)]
    with tempfile.TemporaryDirectory() as folder:
        window = SqliteRateWindow(Path(folder) / "rate.db")
        for who, key, at in before:
            window.add(who, key, at)
        view = window.snapshot(user, now)
        for who, key, at in after:
            window.add(who, key, at)
        assert dict(view) == eager(before, user, now)


def test_a_process_window_keeps_only_the_last_two_minutes_of_a_key_nobody_reads() -> None:
    window = RecentCalls()
    for second in range(10_000):
        window.add("ana", "search", float(second))
    kept = window.snapshot("ana", 10_000.0)["search"]
    assert len(kept) == int(RATE_WINDOW_SECONDS)
    assert len(window._calls["ana"]["search"].times) <= 2 * int(RATE_WINDOW_SECONDS) + 1


class CountingReads(WindowView):
    """A view that notes which keys a decision read."""

    def __init__(self, times: dict[str, tuple[float, ...]]) -> None:
        self.read: list[str] = []

        def read(key: str) -> tuple[float, ...]:
            self.read.append(key)
            return times.get(key, ())

        super().__init__(lambda: iter(times), read)


def test_a_per_minute_limit_reads_only_the_keys_it_counts() -> None:
    policy = Policy.from_yaml(
        "version: 1\ntools:\n  search: {action: allow, rate_limit: {per_minute: 2}}\n"
        "  other: {action: allow}\n"
    )
    busy = {f"tool{n}": (99.0,) * 50 for n in range(200)} | {"search": (99.0, 99.5)}
    view = CountingReads(busy)
    # as the runner builds it: a validated History would copy the whole view
    history = History.model_construct(now=100.0, principal_recent_calls=view)
    decision = policy.decide(Principal(user_id="u1"), proposed_call("search"), history)
    assert decision.action == "deny"
    assert set(view.read) <= {"search", "class:read"}


def test_a_view_reads_each_key_once_and_answers_only_for_keys_it_holds() -> None:
    view = CountingReads({"search": (99.0,)})
    assert view["search"] == view["search"] == (99.0,)
    assert view.read == ["search"]
    assert 3 not in view
    assert "nope" not in view
    with pytest.raises(KeyError) as missing:
        view["nope"]
    assert missing.value.args == ("nope",)
