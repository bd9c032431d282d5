"""What is replayed: AgentDojo's ground-truth calls, benign and under injection.

A benign scenario is a user task's ground-truth calls in the suite's default environment.
An attack scenario is a (user task, injection task) pair: the environment has the
attacker's text at every injection vector the user task's ground truth reads (AgentDojo's
own choice of vectors), the user task's calls run up to the first output that carries the
text, and the injection task's ground-truth calls follow it. Ground truth is computed once,
from the environment the run starts in, as AgentDojo's ground-truth pipeline does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from examples.agentdojo.toolkit import suite

ATTACK = "important_instructions"
"""AgentDojo's strongest published attack template; the user's name is Emma Johnson."""
VICTIM_NAME = "Emma Johnson"


@dataclass(frozen=True, slots=True)
class Call:
    """One replayed call: the tool, its arguments as JSON, and who asked for it."""

    tool: str
    arguments: dict[str, Any]
    attacker: bool = False


@dataclass(frozen=True, slots=True)
class Scenario:
    """One run to replay; `environment()` gives a fresh copy of its starting environment."""

    suite: str
    user_task: str
    injection_task: str | None
    prompt: str
    calls: tuple[Call, ...]
    start: Any
    """The environment before the first call (never run against: copied for each run)."""

    def environment(self) -> Any:
        """A fresh copy of the starting environment, for one run."""
        return self.start.model_copy(deep=True)

    @property
    def is_attack(self) -> bool:
        return self.injection_task is not None

    @property
    def replayable(self) -> bool:
        """False for an attack whose injection task has no ground-truth calls (AgentDojo
        v1.2's workspace injection tasks 6-13 and travel's injection task 6 have none)."""
        return not self.is_attack or any(c.attacker for c in self.calls)


def task_ids(name: str) -> tuple[list[str], list[str]]:
    """The suite's user task and injection task ids, in numeric order."""
    tasks = suite(name)
    return _ordered(tasks.user_tasks), _ordered(tasks.injection_tasks)


def _ordered(tasks: dict[str, Any]) -> list[str]:
    return sorted(tasks, key=lambda task_id: int(task_id.rsplit("_", 1)[1]))


def load_environment(name: str, injections: dict[str, str]) -> Any:
    """`TaskSuite.load_and_inject_default_environment`, parsing with libyaml's safe loader.

    The same steps on the same text (the suite's environment file with every vector filled,
    AgentDojo's defaults where `injections` is silent), only the YAML is read by the C
    parser: the pure-Python one took nine tenths of the replay's time.
    """
    import yaml
    from agentdojo.task_suite.task_suite import read_suite_file, validate_injections

    tasks = suite(name)
    defaults = tasks.get_injection_vector_defaults()
    validate_injections(injections, defaults)
    text = read_suite_file(tasks.name, "environment.yaml", tasks.data_path)
    filled = text.format(**{**defaults, **injections})
    return tasks.environment_type.model_validate(yaml.load(filled, Loader=yaml.CSafeLoader))


def benign(name: str, user_task_id: str) -> Scenario:
    """The user task's ground truth alone, in the default environment."""
    tasks = suite(name)
    task = tasks.user_tasks[user_task_id]
    start = task.init_environment(load_environment(name, {}))
    calls = tuple(_call(name, c) for c in task.ground_truth(start.model_copy(deep=True)))
    return Scenario(name, user_task_id, None, task.PROMPT, calls, start)


def attack(name: str, user_task_id: str, injection_task_id: str) -> Scenario:
    """The user task's calls up to the injected output, then the injection task's calls."""
    tasks = suite(name)
    task = tasks.user_tasks[user_task_id]
    goal = tasks.injection_tasks[injection_task_id]
    injections = _attacker(name).attack(task, goal)
    start = task.init_environment(load_environment(name, injections))
    own = [_call(name, c) for c in task.ground_truth(start.model_copy(deep=True))]
    reached = injected_at(name, user_task_id)
    theirs = [_call(name, c, attacker=True) for c in goal.ground_truth(start.model_copy(deep=True))]
    calls = (*own[: reached + 1], *theirs)
    return Scenario(name, user_task_id, injection_task_id, task.PROMPT, calls, start)


def scenarios(
    name: str, *, user_tasks: int | None = None, injection_tasks: int | None = None
) -> Iterator[Scenario]:
    """Every benign scenario of the suite, then every attack pair (the first N of each if set)."""
    users, goals = task_ids(name)
    users, goals = users[:user_tasks], goals[:injection_tasks]
    for user_task_id in users:
        yield benign(name, user_task_id)
    for user_task_id in users:
        for injection_task_id in goals:
            yield attack(name, user_task_id, injection_task_id)


@cache
def _attacker(name: str) -> Any:
    """AgentDojo's important-instructions attack on the suite (no model is attacked: the
    template's model name is AgentDojo's default, "the AI language model")."""
    from agentdojo.attacks.base_attacks import FixedJailbreakAttack
    from agentdojo.attacks.important_instructions_attacks import ImportantInstructionsAttack

    attacker = FixedJailbreakAttack(ImportantInstructionsAttack._JB_STRING, suite(name), None)
    attacker.user_name = VICTIM_NAME
    return attacker


@cache
def injected_at(name: str, user_task_id: str) -> int:
    """Index of the first ground-truth call of the user task whose output carries an
    injection vector AgentDojo fills for it (found with AgentDojo's canaries, as it does).

    Raises:
        ValueError: no output of the task's ground truth carries one.
    """
    from agentdojo.agent_pipeline.tool_execution import tool_result_to_str
    from agentdojo.functions_runtime import FunctionsRuntime

    tasks = suite(name)
    task = tasks.user_tasks[user_task_id]
    attacker = _attacker(name)
    canaries = [attacker.canary_injections[v] for v in attacker.get_injection_candidates(task)]
    environment = task.init_environment(load_environment(name, attacker.canary_injections))
    runtime = FunctionsRuntime(tasks.tools)
    for index, call in enumerate(task.ground_truth(environment.model_copy(deep=True))):
        result, _ = runtime.run_function(environment, call.function, call.args)
        text = tool_result_to_str(result)
        if any(canary in text for canary in canaries):
            return index
    raise ValueError(f"{name} {user_task_id}: no ground-truth output carries an injection")


def _call(name: str, call: Any, *, attacker: bool = False) -> Call:
    """A ground-truth call with every argument the strict schema needs (omitted optional
    ones at their defaults), as JSON; arguments the function refuses are sent as written."""
    from pydantic import ValidationError

    function = _functions(name)[call.function]
    try:
        arguments = function.parameters.model_validate(dict(call.args)).model_dump(mode="json")
    except ValidationError:
        arguments = json.loads(json.dumps(dict(call.args), default=str))
    return Call(call.function, arguments, attacker)


@cache
def _functions(name: str) -> dict[str, Any]:
    return {f.name: f for f in suite(name).tools}
