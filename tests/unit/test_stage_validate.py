"""Stage validate: a parsed call for a known tool with schema-valid arguments, or a rejection."""

from __future__ import annotations

from pydantic import BaseModel

from agentkit.pipeline.validate import Rejected, ValidCall, feedback, validate_call
from agentkit.tool import Tool


async def lookup(ticket_id: int, note: str = "") -> str:
    """Look up a ticket."""
    return f"{ticket_id}{note}"


TOOLS = {"lookup": Tool(lookup)}


def test_a_known_tool_with_valid_arguments_becomes_a_valid_call() -> None:
    checked = validate_call(TOOLS, "lookup", '{"ticket_id": 7, "note": "x"}')
    data = {"ticket_id": 7, "note": "x"}
    assert checked == ValidCall(TOOLS["lookup"], data, data)


def test_an_unknown_tool_is_rejected_by_name() -> None:
    checked = validate_call(TOOLS, "drop_table", "{}")
    assert checked == Rejected("unknown_tool", "there is no tool named 'drop_table'")


def test_arguments_that_do_not_parse_are_invalid_with_nothing_parsed() -> None:
    checked = validate_call(TOOLS, "lookup", "[1]")
    assert isinstance(checked, Rejected)
    assert checked.status == "invalid"
    assert "must be a JSON object" in checked.error
    assert checked.parsed is None


def test_arguments_that_break_the_schema_keep_what_parsed() -> None:
    checked = validate_call(TOOLS, "lookup", '{"ticket_id": "seven"}')
    assert isinstance(checked, Rejected)
    assert checked.status == "invalid"
    assert "ticket_id" in checked.error
    assert checked.parsed == {"ticket_id": "seven"}


def test_feedback_tells_the_model_what_to_correct() -> None:
    rejection = Rejected("invalid", "ticket_id: 'x' is not an integer")
    assert feedback(rejection) == (
        "Error: ticket_id: 'x' is not an integer. Correct the call and try again."
    )


class Payee(BaseModel):
    iban: str


def test_model_parameters_reach_the_policy_as_plain_data_and_the_body_as_models() -> None:
    async def pay(payee: Payee, amount: float) -> str:
        """Pay."""
        return payee.iban

    tools = {"pay": Tool(pay)}
    checked = validate_call(tools, "pay", '{"payee": {"iban": "DE89"}, "amount": 5}')
    assert isinstance(checked, ValidCall)
    assert checked.data == {"payee": {"iban": "DE89"}, "amount": 5}
    assert isinstance(checked.arguments["payee"], Payee)
    assert checked.arguments["amount"] == 5.0
