"""The floor: calls that destroy, change security settings or control a device wait for a
person whatever the authoriser says, and the runner applies it to every authoriser."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, Principal, Tool
from agentkit.decision import ALWAYS_CONFIRMED, AllowAll, Decision, confirmation_floor
from agentkit.testing import Turn, scripted_client
from agentkit.testing.decisions import decide
from agentkit.testing.decisions import proposed_call as call


@pytest.mark.parametrize("side_effect", ALWAYS_CONFIRMED)
def test_allow_all_confirms_every_floored_class(side_effect: Any) -> None:
    decision = decide(AllowAll(), call("t", side_effect))
    assert (decision.action, decision.rule) == ("confirm", side_effect)


def test_the_floor_names_what_the_call_does() -> None:
    allowed = Decision(action="allow", reason="ok", rule="r")
    assert confirmation_floor(allowed, "unlock", ["device_control"]).reason == (
        "unlock controls a device: a person must confirm it"
    )
    assert confirmation_floor(allowed, "x", ["write", "destructive", "security_settings"]).rule == (
        "destructive"
    )
    assert confirmation_floor(allowed, "x", ["write", "financial"]) is allowed
    denied = Decision(action="deny", reason="no", rule="r")
    assert confirmation_floor(denied, "x", ["destructive"]) is denied


def disable_2fa() -> str:
    """Turn two-factor authentication off."""
    return "2FA is off"


def test_the_runner_floors_an_authoriser_that_allows_a_security_change() -> None:
    class Lenient:
        def decide(self, principal: Any, proposed: Any, history: Any) -> Any:
            from agentkit.decision import Decision

            return Decision(action="allow", reason="fine", rule="lenient")

    agent = Agent(
        client=scripted_client([Turn.call("disable_2fa", {}), Turn.text("done")]),
        tools=[Tool(disable_2fa, side_effect="security_settings")],
        policy=Lenient(),
        principal=Principal(user_id="u"),
    )
    step = agent.run_sync("turn 2fa off").steps[0]
    assert step.status == "awaiting_approval"
    assert step.decision is not None
    assert step.decision.rule == "security_settings"


def test_every_floored_class_is_documented_and_in_the_floor() -> None:
    assert set(ALWAYS_CONFIRMED) == {"destructive", "security_settings", "device_control"}
