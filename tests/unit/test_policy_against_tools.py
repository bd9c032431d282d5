"""Constraints that could never apply to their tool are load errors; a broken path denies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agentkit import Agent, Principal, Tool, tool
from agentkit.errors import PolicyLoadError
from agentkit.policy import load_policy
from agentkit.testing import Turn, scripted_client


class Payee(BaseModel):
    iban: str
    names: list[str]


async def pay(payee: Payee | None, amount: int, memo: str, tags: list[str]) -> str:
    """Pay."""
    return "paid"


PAY = Tool(pay, side_effect="financial")


def policy_file(tmp_path: Path, args: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(f"version: 1\ntools:\n  pay:\n    action: allow\n    args:\n{args}")
    return path


def check(path: Path) -> None:
    load_policy(path).check_tools([PAY.info])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            "      amount: {pattern: '^[0-9]+$'}\n",
            "pattern applies to string values, but pay.amount is integer",
        ),
        (
            "      memo: {maximum: 5}\n",
            "maximum applies to integer or number values, but pay.memo is string",
        ),
        ("      memo: {maxItems: 2}\n", "maxItems applies to array values, but pay.memo is string"),
        ("      amount: {domains: {allow: [example.com]}}\n", "domains reads hosts from text"),
        ("      amuont: {maximum: 5}\n", "pay has no argument 'amuont'"),
        ("      tags: {pattern: '^[a-z]+$'}\n", "pattern applies to string values, but pay.tags"),
        ("      payee.ibn: {in_list: x}\n", "pay has no argument 'payee.ibn'"),
    ],
)
def test_a_constraint_that_cannot_apply_is_a_load_error_at_its_line(
    tmp_path: Path, args: str, message: str
) -> None:
    path = policy_file(tmp_path, args.replace("in_list: x", "maxLength: 3"))
    with pytest.raises(PolicyLoadError, match=message) as info:
        check(path)
    assert info.value.line == 6
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "args",
    [
        "      payee.iban: {pattern: '^DE'}\n",  # through a model ($ref, nullable)
        "      payee.names: {maxItems: 3}\n",
        "      amount: {maximum: 10, minimum: 0}\n",
        "      memo: {maxLength: 10, pattern: '^[a-z]*$'}\n",
    ],
)
def test_constraints_that_apply_load(tmp_path: Path, args: str) -> None:
    check(policy_file(tmp_path, args))


KEYWORDS = {
    "pattern": "'^a'",
    "maxLength": "3",
    "maximum": "3",
    "multipleOf": "2",
    "maxItems": "3",
}
APPLIES = {
    "pattern": {"str"},
    "maxLength": {"str"},
    "maximum": {"int", "float"},
    "multipleOf": {"int", "float"},
    "maxItems": {"list"},
}
TYPES: dict[str, Any] = {"str": str, "int": int, "float": float, "list": list[int], "bool": bool}


@settings(max_examples=60, deadline=None)
@given(keyword=st.sampled_from(sorted(KEYWORDS)), kind=st.sampled_from(sorted(TYPES)))
def test_a_keyword_loads_exactly_when_the_parameter_type_can_carry_it(
    tmp_path_factory: pytest.TempPathFactory, keyword: str, kind: str
) -> None:
    async def body(value: Any) -> str:
        return "ok"

    body.__annotations__ = {"value": TYPES[kind], "return": str}
    target = Tool(body, name="t")
    path = tmp_path_factory.mktemp("p") / "p.yaml"
    path.write_text(
        f"version: 1\ntools:\n  t:\n    action: allow\n    args:\n"
        f"      value: {{{keyword}: {KEYWORDS[keyword]}}}\n"
    )
    policy = load_policy(path)
    if kind in APPLIES[keyword]:
        policy.check_tools([target.info])
    else:
        with pytest.raises(PolicyLoadError, match=f"{keyword} applies to"):
            policy.check_tools([target.info])


class Payer(Agent):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.paid: list[Any] = []

    @tool(side_effect="financial")
    async def pay(self, payee: Payee | None, amount: int, memo: str, tags: list[str]) -> str:
        """Pay."""
        self.paid.append(payee)
        return "paid"


async def test_a_constraint_whose_path_breaks_inside_an_argument_denies(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nlists: {payees: {values: [DE89]}}\ntools:\n  pay:\n    action: allow\n"
        "    args:\n      payee.iban: {in_list: payees}\n"
    )
    call = {"payee": None, "amount": 5, "memo": "", "tags": []}
    agent = Payer(
        client=scripted_client([Turn.call("pay", call), Turn.text("done")]),
        policy=path,
        principal=Principal(user_id="u"),
    )
    result = await agent.run("pay")
    [step] = result.steps
    assert step.status == "denied"
    assert step.decision is not None
    assert step.decision.rule == "tools.pay.args.payee.iban"
    assert "missing" in step.decision.reason
    assert agent.paid == []


async def _maybe(count: int | None, note: str | None) -> str:
    """Optional arguments."""
    return "ok"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            "      count: {pattern: '^1'}\n",
            "pattern applies to string values, but t.count is integer",
        ),
        (
            "      note: {maximum: 3}\n",
            "maximum applies to integer or number values, but t.note is string",
        ),
    ],
)
def test_a_constraint_on_an_optional_argument_is_checked_against_its_type(
    tmp_path: Path, args: str, message: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"version: 1\ntools:\n  t:\n    action: allow\n    args:\n{args}")
    with pytest.raises(PolicyLoadError, match=message):
        load_policy(path).check_tools([Tool(_maybe, name="t").info])
