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
