"""Stage answer: a final answer checked against the output type, with one correction allowed."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agentkit.decision import Principal
from agentkit.errors import ModelBehaviorError
from agentkit.model.json_answer import correction_message, structured_problem
from agentkit.model.types import ModelResponse, Usage
from agentkit.pipeline.answer import check_answer
from agentkit.state import RunResult


class Verdict(BaseModel):
    ok: bool
    score: int


def answer(text: str) -> ModelResponse:
    usage = Usage(request_id="req-7", model="m", endpoint="responses")
    return ModelResponse(
        id="r", model="m", status="completed", output=[], usage=usage, request_id="req-7", text=text
    )


def a_run() -> RunResult:
    return RunResult(run_id="r1", agent="a", model="m", principal=Principal())


def test_a_conforming_answer_has_no_problem() -> None:
    assert structured_problem('{"ok": true, "score": 3}', Verdict) is None


@pytest.mark.parametrize("text", ["", "  \n"])
def test_an_empty_answer_is_a_problem(text: str) -> None:
    assert structured_problem(text, Verdict) == "the answer contained no text"


def test_a_non_conforming_answer_names_the_field() -> None:
    problem = structured_problem('{"ok": true}', Verdict)
    assert problem is not None
    assert "score" in problem


def test_the_correction_quotes_the_problem() -> None:
    assert correction_message("score: missing") == {
        "role": "user",
        "content": (
            "Your previous answer does not match the required JSON schema:\n"
            "score: missing\nAnswer again with only one JSON object that matches the schema."
        ),
    }


def test_a_conforming_answer_is_parsed_onto_the_run() -> None:
    run = a_run()
    assert check_answer(run, answer('{"ok": false, "score": 1}'), Verdict) is None
    assert run.structured == {"ok": False, "score": 1}


def test_the_first_bad_answer_gets_a_correction() -> None:
    run = a_run()
    correction = check_answer(run, answer("{}"), Verdict)
    assert correction == correction_message(structured_problem("{}", Verdict) or "")
    assert run.structured is None


def test_a_bad_answer_after_one_correction_is_a_typed_error() -> None:
    run = a_run()
    run.corrections = 1
    with pytest.raises(ModelBehaviorError) as info:
        check_answer(run, answer("x" * 3000), Verdict)
    message = str(info.value)
    assert message.startswith("the answer does not match Verdict after one correction: ")
    problem = structured_problem("x" * 3000, Verdict) or ""
    assert message.endswith(problem[:1000])
    assert info.value.request_id == "req-7"


class Form(BaseModel):
    model_config = {"extra": "forbid"}

    field_00: int
    field_01: int
    field_02: int
    field_03: int
    field_04: int
    field_05: int
    field_06: int
    field_07: int
    field_08: int
    field_09: int
    field_10: int
    field_11: int
    field_12: int
    field_13: int
    field_14: int
    field_15: int


def test_a_long_problem_is_quoted_up_to_1000_characters() -> None:
    run = a_run()
    run.corrections = 1
    problem = structured_problem("{}", Form) or ""
    assert len(problem) > 1001
    with pytest.raises(ModelBehaviorError) as info:
        check_answer(run, answer("{}"), Form)
    assert str(info.value) == (
        f"the answer does not match Form after one correction: {problem[:1000]}"
    )
