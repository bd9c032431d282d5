"""An evaluation dataset: its cases and what each expects, validated from YAML.

The shape follows pydantic-evals' datasets (``cases: [{name, inputs, ...}]``) so it reads
familiar; the expectations are agentkit's own, read from the run's steps::

    name: ops-copilot
    repeat: 1
    principal: {user_id: eval, roles: [operator]}
    cases:
      - name: looks-up-the-named-ticket
        inputs:
          prompt: What is ticket 42 about?
        script:
          - call: {name: lookup_ticket, arguments: {ticket_id: 42}}
          - text: Ticket 42 is about WAL archiving.
        expected:
          tools: {expected: [lookup_ticket], order: exact}
          arguments:
            - {tool: lookup_ticket, equals: {ticket_id: 42}}
          answer: {contains: [WAL]}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentkit.decision import Principal
from agentkit.errors import ConfigError
from agentkit.state import RunStatus

Order = Literal["exact", "in_order", "any_order"]
Occurrence = Literal["first", "last", "any", "all"]
Outcome = Literal["allowed", "denied", "needs_approval", "approved", "declined", "ran"]
"""What happened to a call: the policy's action (``allowed``, ``denied``, ``needs_approval``),
what a person said (``approved``, ``declined``), or that the tool body ran (``ran``)."""
ApproveMode = Literal["none", "all", "decline"]
"""How a case's approvals are answered: nobody answers (the run pauses), yes, or no."""

_REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
_CASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _reference(value: str | None) -> str | None:
    if value is not None and _REFERENCE.fullmatch(value) is None:
        raise ValueError(f"expected MODULE:ATTR, got {value!r}")
    return value


def _checked_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if schema is not None:
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a JSON Schema: {exc.message}") from None
    return schema


class ToolsExpectation(_Strict):
    """Which tools the run calls.

    ``exact``: the calls are `expected`, in order. ``in_order``: `expected` appear in this
    order, other calls may come between. ``any_order``: each of `expected` is called (as
    often as it is listed), in any order.
    """

    expected: list[str] = Field(default_factory=list)
    order: Order = "in_order"
    allow_extra: bool | None = None
    """Whether calls to tools `expected` does not name are allowed (for ``exact``, they are
    left out before comparing); unset, false for ``exact`` and true otherwise."""
    forbidden: list[str] = Field(default_factory=list)
    """Tools the run must not call at all."""

    @property
    def extras_allowed(self) -> bool:
        """`allow_extra`, or its default for the order."""
        return self.order != "exact" if self.allow_extra is None else self.allow_extra


class ArgumentExpectation(_Strict):
    """What the arguments of one tool's calls hold: exact values and/or a JSON Schema."""

    tool: str
    occurrence: Occurrence = "first"
    """Which of the tool's calls: the first, the last, any one of them, or all of them."""
    equals: dict[str, Any] = Field(default_factory=dict)
    """Arguments that must have exactly these values (the others may be anything)."""
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    """A JSON Schema (a fragment is enough) the arguments object must match."""

    _schema = field_validator("json_schema")(_checked_schema)

    @model_validator(mode="after")
    def _says_something(self) -> ArgumentExpectation:
        if not self.equals and self.json_schema is None:
            raise ValueError("an argument expectation needs 'equals' or 'schema'")
        return self


class PolicyExpectation(_Strict):
    """What the policy (and a person) did with a tool's calls."""

    tool: str
    outcome: Outcome
    occurrence: Occurrence = "any"
    rule: str | None = None
    """The deciding rule's id, or a prefix of it up to a dot (``tools.page_oncall``)."""


class AnswerExpectation(_Strict):
    """Checks of the final answer."""

    contains: list[str] = Field(default_factory=list)
    not_contains: list[str] = Field(default_factory=list)
    case_sensitive: bool = False
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    """The answer is JSON matching this schema."""
    judge: str | None = None
    """``MODULE:function`` called with the answer and the run; returns a bool or
    ``(bool, reason)`` (it may be async)."""

    _schema = field_validator("json_schema")(_checked_schema)
    _judge = field_validator("judge")(_reference)


class EvalBudget(_Strict):
    """Upper bounds on what the run may spend."""

    max_tool_calls: int | None = Field(default=None, ge=0)
    max_model_requests: int | None = Field(default=None, ge=0)


class Expectations(_Strict):
    """Everything a case expects of its run; each part is one check."""

    status: RunStatus | None = None
    """The run's status at the end; unset, anything but ``failed`` passes."""
    tools: ToolsExpectation | None = None
    arguments: list[ArgumentExpectation] = Field(default_factory=list)
    policy: list[PolicyExpectation] = Field(default_factory=list)
    answer: AnswerExpectation | None = None
    budget: EvalBudget | None = None


class Message(_Strict):
    """One earlier message of the conversation a case continues."""

    role: Literal["user", "assistant"]
    content: str


class Fixtures(_Strict):
    """What the agent is built with for one run, besides the harness's own arguments."""

    setup: str | None = None
    """``MODULE:function`` called with a fresh, empty folder for the run; it returns a
    mapping of further keyword arguments for the agent's constructor."""
    agent_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Plain keyword arguments for the agent's constructor."""

    _setup = field_validator("setup")(_reference)


class CaseInputs(_Strict):
    """What the agent is given."""

    prompt: str = Field(min_length=1)
    conversation: list[Message] = Field(default_factory=list)
    """Earlier messages; the prompt is the user's next one."""
    principal: Principal | None = None
    """Who asks; unset, the dataset's principal."""
    fixtures: Fixtures | None = None
    """Unset, the dataset's fixtures."""


class EvalCase(_Strict):
    """One case: inputs, the offline model's turns, and the expectations."""

    name: str
    description: str = ""
    inputs: CaseInputs
    script: list[dict[str, Any]] | str | None = None
    """The offline model's turns (``call``/``calls``/``text`` entries, as in a fake xAI
    script; ``call: {name, arguments}`` works too), or ``MODULE:ATTR`` naming a `Script`."""
    approve: ApproveMode = "none"
    repeat: int | None = Field(default=None, ge=1)
    """Runs of this case per model; unset, the dataset's."""
    expected: Expectations = Field(default_factory=Expectations)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if _CASE_NAME.fullmatch(value) is None:
            raise ValueError("use letters, digits, '-', '_' and '.' (at most 128)")
        return value

    @field_validator("script")
    @classmethod
    def _script(cls, value: list[dict[str, Any]] | str | None) -> list[dict[str, Any]] | str | None:
        if isinstance(value, str):
            return _reference(value)
        if value is not None:
            from agentkit.evals.scripts import script_from_entries

            try:
                script_from_entries(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value


class EvalDataset(_Strict):
    """A named list of cases and the defaults they share."""

    name: str = "dataset"
    description: str = ""
    repeat: int = Field(default=1, ge=1)
    """Runs of each case per model (a stochastic model passes a share of them)."""
    principal: Principal = Field(default_factory=lambda: Principal(user_id="eval"))
    fixtures: Fixtures = Field(default_factory=Fixtures)
    cases: list[EvalCase] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> EvalDataset:
        names = [case.name for case in self.cases]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"case names must be unique; repeated: {', '.join(twice)}")
        return self

    def case(self, name: str) -> EvalCase:
        """The case called `name`."""
        for case in self.cases:
            if case.name == name:
                return case
        raise KeyError(name)

    def only(self, names: list[str]) -> EvalDataset:
        """This dataset with only the cases named.

        Raises:
            ConfigError: a name is no case of the dataset.
        """
        unknown = [name for name in names if name not in {c.name for c in self.cases}]
        if unknown:
            raise ConfigError(f"no case named {', '.join(map(repr, unknown))} in {self.name}")
        return self.model_copy(update={"cases": [c for c in self.cases if c.name in names]})


def load_dataset(path: str | Path) -> EvalDataset:
    """Read and validate a dataset file (YAML or JSON).

    Raises:
        ConfigError: the file cannot be read, or it is not a valid dataset; the message
            names the case and the field.
    """
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read dataset {file}: {exc}") from exc
    return dataset_from_data(data, source=str(file))


def dataset_from_data(data: Any, *, source: str = "<dataset>") -> EvalDataset:
    """Validate parsed YAML/JSON as a dataset.

    Raises:
        ConfigError: it is not a valid dataset (the message names the case and the field).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a dataset is a mapping with 'cases'")
    try:
        return EvalDataset.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error, data) for error in exc.errors()]
        shown = "\n  ".join(problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise ConfigError(f"{source}: not a valid dataset:\n  {shown}{more}") from None


def _problem(error: Any, data: dict[str, Any]) -> str:
    """One validation error as ``case 'NAME': field.path: message``."""
    loc = [part for part in error["loc"] if not _is_union_tag(part)]
    message = str(error["msg"]).removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int):
        index = loc[1]
        raw = data.get("cases")
        entry = raw[index] if isinstance(raw, list) and index < len(raw) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        who = f"case {name!r}" if isinstance(name, str) else f"case #{index + 1}"
        return f"{who}: {_path(loc[2:]) or 'the case'}: {message}"
    return f"{_path(loc) or 'the dataset'}: {message}"


def _path(loc: list[Any]) -> str:
    """``expected.arguments[0].schema``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def _is_union_tag(part: Any) -> bool:
    """pydantic names the union member it tried (``list[dict[str,any]]``): not a field."""
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "bool"})
