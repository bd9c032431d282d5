"""The layout stays as drawn: the pipeline's functions stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import agentkit

PIPELINE = Path(agentkit.__file__).parent / "pipeline"
MAX_LINES = 50


def test_no_function_in_the_pipeline_is_longer_than_fifty_lines() -> None:
    long = []
    for path in PIPELINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_LINES:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def test_the_pipeline_has_a_module_per_stage() -> None:
    stages = {"runner", "turn", "parse", "validate", "authorise", "confirm", "execute", "label"}
    assert stages | {"record"} <= {p.stem for p in PIPELINE.glob("*.py")}


def test_no_test_imports_another_test_module_or_the_repository_tooling() -> None:
    tests = Path(__file__).resolve().parents[1]
    offenders = []
    for path in tests.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.split(".")[0] in ("tests", "tools"):
                    offenders.append(f"{path.relative_to(tests)}: {name}")
    assert offenders == []
