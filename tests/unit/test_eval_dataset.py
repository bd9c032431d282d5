"""Evaluation datasets: the YAML shape, and mistakes named by case and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import ConfigError
from agentkit.evals import dataset_from_data, load_dataset
from agentkit.evals.scripts import case_script, script_from_entries
from agentkit.testing import Script, Turn

REPO = Path(__file__).resolve().parents[2]


def _data(**case: Any) -> dict[str, Any]:
    return {"cases": [{"name": "first", "inputs": {"prompt": "hi"}, **case}]}


def test_the_example_dataset_loads_with_its_defaults() -> None:
    dataset = load_dataset(REPO / "examples" / "evals" / "ops_copilot.yaml")
    assert dataset.name == "ops-copilot"
    assert len(dataset.cases) >= 6
    assert dataset.principal.roles == ("operator",)
    assert dataset.fixtures.setup == "examples.evals:fresh_tickets"
    closing = dataset.case("closing-waits-for-a-person")
    assert closing.approve == "none"
    assert closing.expected.policy[0].outcome == "needs_approval"


def test_a_bad_field_is_named_with_its_case() -> None:
    data = {
        "cases": [
            {"name": "fine", "inputs": {"prompt": "hi"}},
            {
                "name": "lookup",
                "inputs": {"prompt": "hi"},
                "expected": {"tools": {"expected": ["a"], "order": "sorted"}},
            },
        ]
    }
    with pytest.raises(ConfigError) as caught:
        dataset_from_data(data, source="ds.yaml")
    message = str(caught.value)
    assert "ds.yaml" in message
    assert "case 'lookup': expected.tools.order:" in message
    assert "'exact', 'in_order' or 'any_order'" in message


def test_a_case_without_a_name_is_named_by_its_position() -> None:
    with pytest.raises(ConfigError, match=r"case #1: name: Field required"):
        dataset_from_data({"cases": [{"inputs": {"prompt": "hi"}}]})


@pytest.mark.parametrize(
    ("case", "where", "says"),
    [
        ({"expected": {"arguments": [{"tool": "t"}]}}, "expected.arguments[0]", "'equals' or"),
        (
            {"expected": {"arguments": [{"tool": "t", "schema": {"type": "nope"}}]}},
            "expected.arguments[0].schema",
            "not a JSON Schema",
        ),
        ({"expected": {"answer": {"judge": "no_colon"}}}, "expected.answer.judge", "MODULE:ATTR"),
        ({"expected": {"policy": [{"tool": "t", "outcome": "maybe"}]}}, "outcome", "denied"),
        ({"script": [{"call": {"name": "t"}}, {"txt": "x"}]}, "script", "turn 1: unknown key"),
        ({"approve": "sometimes"}, "approve", "'none', 'all' or 'decline'"),
        ({"repeat": 0}, "repeat", "greater than or equal to 1"),
        ({"expected": {"budget": {"max_tool_calls": -1}}}, "budget.max_tool_calls", "greater"),
        ({"extra_field": 1}, "extra_field", "Extra inputs are not permitted"),
    ],
)
def test_each_mistake_names_its_field(case: dict[str, Any], where: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        dataset_from_data(_data(**case))
    message = str(caught.value)
    assert "case 'first'" in message
    assert where in message
    assert says in message


def test_case_names_are_unique_and_plain() -> None:
    twice = {"cases": [{"name": "a", "inputs": {"prompt": "x"}}] * 2}
    with pytest.raises(ConfigError, match="repeated: a"):
        dataset_from_data(twice)
    with pytest.raises(ConfigError, match="case 'a b': name"):
        dataset_from_data({"cases": [{"name": "a b", "inputs": {"prompt": "x"}}]})


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("cases: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read dataset"):
        load_dataset(broken)
    with pytest.raises(ConfigError, match="a mapping with 'cases'"):
        dataset_from_data(["not", "a", "mapping"])


def test_only_keeps_the_named_cases_and_refuses_unknown_ones() -> None:
    dataset = load_dataset(REPO / "examples" / "evals" / "ops_copilot.yaml")
    assert [c.name for c in dataset.only(["lists-open-tickets"]).cases] == ["lists-open-tickets"]
    with pytest.raises(ConfigError, match="no case named 'nope'"):
        dataset.only(["nope"])


def test_yaml_turns_take_both_call_shapes() -> None:
    script = script_from_entries(
        [
            {"call": {"name": "lookup_ticket", "arguments": {"ticket_id": 42}}},
            {"call": "list_tickets", "arguments": {"status": "open"}},
            {"text": "done"},
        ]
    )
    assert [t.function_calls[0].name for t in script.turns[:2]] == ["lookup_ticket", "list_tickets"]
    assert script.turns[0].function_calls[0].arguments == {"ticket_id": 42}
    assert script.turns[2].answer == "done"


class _Plain:
    offline_script = Script([Turn.text("the agent's own")])


class _Variant(_Plain):
    eval_scripts = {"first": [{"text": "the variant's"}]}


def test_an_agent_versions_scripts_win_over_the_cases_and_the_offline_script() -> None:
    case_turns = [{"text": "the case's"}]
    assert case_script(_Variant, "first", case_turns).turns[0].answer == "the variant's"
    assert case_script(_Variant, "other", case_turns).turns[0].answer == "the case's"
    assert case_script(_Plain, "other", None).turns[0].answer == "the agent's own"


def test_earlier_answers_come_first_as_placeholder_turns() -> None:
    script = case_script(_Plain, "c", [{"text": "now"}], earlier_answers=2)
    assert script is not None
    assert len(script) == 3
    assert script.turns[2].answer == "now"
