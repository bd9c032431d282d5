"""The offline model's turns for one case: from the dataset, or from the agent version.

A case's script stands in for how the model behaves on its prompt, and a model behaves
after the agent's instructions: a different version of an agent (other instructions,
other tools) behaves differently on the same case. So an agent class may carry its own
scripts, ``eval_scripts: dict[str, Script | list]`` keyed by case name; offline, those
win over the case's, which win over the agent's ``offline_script``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentkit.errors import ConfigError
from agentkit.evals.references import resolve
from agentkit.testing.script import Script, Turn, turn_from_dict


def script_from_entries(entries: Sequence[Any], *, source: str = "") -> Script:
    """A script from YAML turns; ``call: {name, arguments}`` is read as ``call: name``
    with ``arguments`` beside it.

    Raises:
        ConfigError: a turn is malformed (the message names which).
    """
    where = f"{source}: " if source else ""
    turns = []
    for index, entry in enumerate(entries):
        try:
            turns.append(turn_from_dict(_flat_call(entry)))
        except (ConfigError, KeyError, TypeError) as exc:
            raise ConfigError(f"{where}turn {index}: {exc}") from None
    if not turns:
        raise ConfigError(f"{where}a script needs at least one turn")
    return Script(turns)


def _flat_call(entry: Any) -> Any:
    if isinstance(entry, dict) and isinstance(entry.get("call"), dict):
        call = dict(entry["call"])
        unknown = set(call) - {"name", "arguments"}
        if "name" not in call or unknown:
            raise ConfigError("'call' as a mapping holds 'name' and 'arguments'")
        return {**entry, "call": call["name"], "arguments": call.get("arguments") or {}}
    return entry


def as_script(value: Any, *, source: str) -> Script:
    """A `Script` from what a dataset or an agent gives: a Script, a list of turns or of
    YAML turn entries, or ``MODULE:ATTR`` naming one of those.

    Raises:
        ConfigError: it is none of those.
    """
    if isinstance(value, str):
        value = resolve(value, what="a script")
    if isinstance(value, Script):
        return value
    if isinstance(value, Sequence) and value and all(isinstance(t, Turn) for t in value):
        return Script(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return script_from_entries(value, source=source)
    raise ConfigError(f"{source}: expected a Script or a list of turns, got {type(value).__name__}")


def case_script(
    agent_cls: type, case_name: str, case_value: Any, *, earlier_answers: int = 0
) -> Script | None:
    """The script the offline model answers `case_name` with, for this agent class.

    `earlier_answers` is how many answers of the model the case's conversation already
    holds: the fake model counts them as turns it took, so as many placeholder turns go
    first and the script's first turn answers the prompt.
    """
    own: Mapping[str, Any] = getattr(agent_cls, "eval_scripts", None) or {}
    value = own.get(case_name, case_value)
    source = f"case {case_name!r}: script"
    if value is None:
        value = getattr(agent_cls, "offline_script", None)
        source = f"{agent_cls.__name__}.offline_script"
    if value is None:
        return None  # the fake's built-in test model
    script = as_script(value, source=source)
    if not earlier_answers:
        return script
    return Script([*(Turn.text("(earlier answer)") for _ in range(earlier_answers)), *script.turns])
