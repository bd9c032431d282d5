"""Without a policy every call is allowed, except that a destructive one needs a person."""

from __future__ import annotations

import pytest

from agentkit.decision import AllowAll, Decision, SideEffect
from agentkit.testing.decisions import decide, proposed_call


@pytest.mark.parametrize("side_effect", ["read", "write", "external_send", "financial"])
def test_allow_all_allows_every_call_that_is_not_destructive(side_effect: SideEffect) -> None:
    decision = decide(AllowAll(), proposed_call("send", side_effect))
    assert decision == Decision(action="allow", reason="no policy configured", rule="no-policy")


def test_allow_all_asks_a_person_to_confirm_a_destructive_call() -> None:
    decision = decide(AllowAll(), proposed_call("drop_table", "destructive"))
    assert decision == Decision(
        action="confirm",
        reason="drop_table is destructive: a person must confirm it",
        rule="destructive",
    )
