"""The public API resolves, and importing it stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import agentkit

HEAVY = ("docker", "sqlalchemy", "sqlglot", "psycopg", "openai")


def test_every_exported_name_resolves() -> None:
    missing = [name for name in agentkit.__all__ if getattr(agentkit, name, None) is None]
    assert missing == []


def test_tool_is_the_decorator_not_the_module() -> None:
    import agentkit.tool  # importing the submodule must not shadow the decorator

    assert callable(agentkit.tool)
    assert agentkit.tool.__module__ == "agentkit.tool"
    assert not isinstance(agentkit.tool, type(sys))


def test_importing_an_agent_loads_no_heavy_optional_parts() -> None:
    code = (
        "import sys, json; from agentkit import Agent, tool, Principal; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_the_whole_exception_tree_is_exported() -> None:
    import agentkit.errors

    tree = {
        name
        for name, value in vars(agentkit.errors).items()
        if isinstance(value, type) and issubclass(value, agentkit.errors.AgentkitError)
    }
    assert tree <= set(agentkit.__all__)
    assert all(getattr(agentkit, name).__module__ == "agentkit.errors" for name in tree)


def test_the_seams_are_exported_and_test_doubles_are_not() -> None:
    seams = ("ModelClient", "Authoriser", "Approver", "ApprovalLedger", "AuditRecorder")
    assert {*seams, "AuditSink", "Sandbox", "ProposedCall"} <= set(agentkit.__all__)
    assert not {"FakeXAI", "Script", "Turn"} & set(agentkit.__all__)


def test_no_two_public_classes_share_a_name() -> None:
    """Each public class name means one thing: it is defined in one module of the package."""
    import importlib
    import pkgutil

    homes: dict[str, set[str]] = {}
    for info in pkgutil.walk_packages(agentkit.__path__, "agentkit."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, type) and value.__module__ == info.name and name[0] != "_":
                homes.setdefault(name, set()).add(info.name)
    assert {name: sorted(found) for name, found in homes.items() if len(found) > 1} == {}


def test_no_two_modules_share_a_name() -> None:
    from pathlib import Path

    root = Path(agentkit.__file__).parent
    names = [p.stem for p in root.rglob("*.py") if p.stem not in ("__init__", "__main__")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
