"""Every problem of a policy in one pass, for `agentkit policy check`.

Loading stops at the first stage that fails: a schema error hides every compile error
behind it. Inside `collect_problems()` the loader instead records each problem, sets the
entry that has it aside (an invalid tool becomes an empty one, so names that refer to it
still resolve; an invalid rule is dropped) and carries on with the rest, so one run
reports what the file needs fixed. Outside it nothing changes: the first problem raises.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from agentkit.errors import PolicyLoadError

MAX_PASSES = 200
"""A file with more problems than this reports the first ones."""

_collector: ContextVar[list[PolicyLoadError] | None] = ContextVar(
    "agentkit_policy_problems", default=None
)
_KEYED_SECTIONS = frozenset({"roles", "lists", "classes", "tools", "tool_sets"})
_LISTED_SECTIONS = frozenset({"rules", "quotas", "sinks", "approvers"})


@contextmanager
def collect_problems() -> Iterator[list[PolicyLoadError]]:
    """Record the problems of the policies loaded in the block instead of raising the first.

    A load that still raises inside the block raised a problem nothing can be set aside
    for (unreadable YAML, a missing base file); the list holds what was found before it.
    """
    problems: list[PolicyLoadError] = []
    token = _collector.set(problems)
    try:
        yield problems
    finally:
        _collector.reset(token)


def collecting() -> bool:
    """Whether the loader runs inside `collect_problems()`."""
    return _collector.get() is not None


def record(found: list[PolicyLoadError]) -> None:
    """Add problems to the active collection (which must exist)."""
    problems = _collector.get()
    assert problems is not None, "record() outside collect_problems()"
    seen = {str(p) for p in problems}
    problems.extend(p for p in found if str(p) not in seen)


def recorded() -> list[PolicyLoadError]:
    """The problems recorded so far, in file and line order."""
    return sorted(_collector.get() or [], key=lambda p: (p.path, p.line or 0))


def without(
    data: dict[str, Any], lines: dict[Any, int], paths: list[tuple[Any, ...]]
) -> tuple[dict[str, Any], dict[Any, int]] | None:
    """`data` with the entries at `paths` set aside, and `lines` to match; None when none of
    them can be.

    An entry of a keyed section (``tools.x``) becomes empty (``{}``) the first time and is
    removed the second; a list entry (``rules[2]``) and a top-level key are removed, and
    the line numbers of the entries after a removed one move up with them.
    """
    pruned = copy.deepcopy(data)
    changed = False
    removals: dict[str, set[int]] = {}
    for path in paths:
        if not path:
            continue
        section = path[0]
        entries = pruned.get(section)
        key = path[1] if len(path) > 1 else None
        if section in _KEYED_SECTIONS and isinstance(entries, dict) and key in entries:
            if entries[key] == {}:
                del entries[key]
            else:
                entries[key] = {}
            changed = True
            continue
        if (
            section in _LISTED_SECTIONS
            and isinstance(entries, list)
            and isinstance(key, int)
            and key < len(entries)
        ):
            removals.setdefault(str(section), set()).add(key)
            continue
        if section in pruned and section != "version":
            del pruned[section]
            changed = True
    moved = dict(lines)
    for section, indexes in removals.items():
        pruned[section] = [e for i, e in enumerate(pruned[section]) if i not in indexes]
        moved = {_shifted(key, section, indexes): line for key, line in moved.items()}
        changed = True
    return (pruned, moved) if changed else None


def _shifted(key: Any, section: str, removed: set[int]) -> Any:
    if not (isinstance(key, tuple) and len(key) > 1 and key[0] == section):
        return key
    index = key[1]
    if not isinstance(index, int):
        return key
    if index in removed:
        return ("<set aside>", section, *key[1:])
    return (section, index - sum(1 for r in removed if r < index), *key[2:])
