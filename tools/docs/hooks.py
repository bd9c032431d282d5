"""MkDocs hooks: the CLI and API reference pages, generated at build time.

The CLI reference is read from `agentkit.cli.build_parser()`, so a new subcommand appears
in the docs without editing them. The API reference lists every public name: the
top-level exports (`agentkit.__all__`) and the `__all__` of the public modules below,
each rendered once by mkdocstrings, on the page of the area it belongs to. A name no area
claims lands on an "Other names" page rather than being left out.

Neither page is written to disk: both exist only in the build (`File.generated`).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

CLI_PAGE = "reference/cli.md"
API_DIR = "reference/api"
API_NAV_TITLE = "API reference"
CLI_WIDTH = "96"
"""Columns argparse wraps the help at: the same text on every machine."""

PUBLIC_MODULES: tuple[str, ...] = (
    "agentkit.policy",
    "agentkit.audit",
    "agentkit.model",
    "agentkit.approval_store",
    "agentkit.sealing",
    "agentkit.tools.python",
    "agentkit.tools.database",
    "agentkit.tools.search",
    "agentkit.tools.mcp",
    "agentkit.mcp_server",
    "agentkit.testing",
    "agentkit.telemetry",
    "agentkit.evals",
    "agentkit.errors",
)
"""Modules whose public names are documented besides the top-level ones: their `__all__`,
or, without one, the classes and functions they define."""


@dataclass
class Area:
    """One API page: the names defined under any of `prefixes`."""

    slug: str
    title: str
    prefixes: tuple[str, ...]
    intro: str
    module: str | None = None
    """A module whose docstring opens the page."""
    lead: tuple[str, ...] = ()
    """Names shown first, in this order; the others follow in the order found."""
    names: list[tuple[str, str]] = field(default_factory=list)
    """(import path to render, defining module)."""

    def ordered(self) -> list[tuple[str, str]]:
        def rank(entry: tuple[str, str]) -> int:
            name = entry[0].rsplit(".", 1)[1]
            return self.lead.index(name) if name in self.lead else len(self.lead)

        return sorted(self.names, key=rank)  # stable: the rest keep their order


def areas() -> list[Area]:
    return [
        Area(
            "agents",
            "Agents and runs",
            (
                "agentkit.agent",
                "agentkit.pipeline",
                "agentkit.state",
                "agentkit.run_limits",
                "agentkit.transcript",
                "agentkit.events",
            ),
            "Subclass `Agent` and declare the model, the instructions, the tools, the policy "
            "and, for a structured answer, `output_type` (a pydantic model). `RunConfig` "
            "holds a run's limits and request options. `Agent.run` returns a `RunResult`: "
            "the whole state of the run, one `Step` per tool call. A run that fails raises "
            "an `AgentkitError` whose `exc.run` is that state. A class attribute "
            "`offline_script` (a `Script`) is what `agentkit run --offline` answers with. "
            "`Agent.stream` yields each `RunEvent` as it happens, the run's state last. "
            "See [a first agent](../../getting-started/first-agent.md).",
            module="agentkit.agent",
            lead=("Agent", "RunConfig", "RunResult", "Step", "PendingApproval"),
        ),
        Area(
            "tools",
            "Tools",
            ("agentkit.tool", "agentkit.tools", "agentkit.call_context", "agentkit.mcp_server"),
            "The `@tool` decorator, `Tool`, the call a running tool serves (its idempotency "
            "key), and the bundled tools: model-written Python in the sandbox, SQL, web and "
            "X search, and the tools of MCP servers; and an agent's tools served to other "
            "MCP clients (`agentkit.mcp_server`). See [writing tools](../../tools.md) and "
            "[MCP](../../mcp.md).",
            lead=("tool", "Tool", "ToolOutput"),
        ),
        Area(
            "policy",
            "Policies and decisions",
            ("agentkit.decision", "agentkit.policy"),
            "The authoriser seam (`Authoriser`, `Decision`, `Principal`, `AllowAll`) and the "
            "YAML `Policy` that implements it. See [policies](../../policy.md).",
            module="agentkit.policy",
            lead=("Principal", "Decision", "AllowAll", "Authoriser", "Policy", "load_policy"),
        ),
        Area(
            "approvals",
            "Approvals",
            (
                "agentkit.pipeline.confirm",
                "agentkit.approvers",
                "agentkit.approval_store",
                "agentkit.sealing",
            ),
            "Who confirms a call inline (`TerminalApprover`, `CallbackApprover`), how a "
            "paused run is stored, decided and resumed (`ApprovalStore`), and the seal that "
            "makes a stored run tamper-evident (`Sealer`). See "
            "[approvals](../../approvals.md).",
            lead=("ApprovalStore", "TerminalApprover", "CallbackApprover", "ApprovalDecision"),
        ),
        Area(
            "audit",
            "Audit",
            ("agentkit.audit",),
            "The hash-chained audit log. See [the audit log](../../audit.md).",
            module="agentkit.audit",
            lead=("AuditLog", "JsonlSink", "SqlSink", "capture_audit", "verify_file"),
        ),
        Area(
            "model",
            "Model client",
            ("agentkit.model",),
            "The xAI Responses API client and the `ModelClient` seam. See "
            "[the model client](../../model-client.md).",
            module="agentkit.model",
            lead=("XAIClient", "ModelClient", "RetryPolicy", "Timeouts"),
        ),
        Area(
            "media",
            "Media",
            ("agentkit.media",),
            "Images in, images and videos out: image input for runs, the `generate_image` "
            "and `generate_video` tools (side-effect class `media`), the xAI media client, "
            "storage with provenance, the moderation seam and video jobs that survive a "
            "restart. See [multimodal](../../multimodal.md).",
            module="agentkit.media",
            lead=("image_tool", "video_tool", "MediaClient", "LocalMediaStorage", "Verdict"),
        ),
        Area(
            "retrieval",
            "Retrieval",
            ("agentkit.retrieval",),
            "A local index of an approved corpus with access control at retrieval time "
            "(`LocalIndex`, `Acl`), and its `search_documents` tool. The xAI files, "
            "collections and embeddings clients are in the model client's area. See "
            "[retrieval](../../retrieval.md).",
            module="agentkit.retrieval",
            lead=("LocalIndex", "Acl", "Document", "search_documents_tool"),
        ),
        Area(
            "privacy",
            "Privacy",
            ("agentkit.privacy",),
            "Detectors of secrets and personal data, the placeholders a run's model sees "
            "instead, and the `privacy:` rules of the policy. See "
            "[privacy and redaction](../../privacy.md).",
            module="agentkit.privacy",
        ),
        Area(
            "telemetry",
            "Telemetry",
            ("agentkit.telemetry",),
            "OpenTelemetry spans and metrics by the GenAI conventions, and the library's "
            "structured logs with the run's ids bound. See "
            "[traces, metrics and logs](../../observability.md).",
            module="agentkit.telemetry",
            lead=("TelemetrySettings", "log_context", "structlog_processor"),
        ),
        Area(
            "evals",
            "Evaluations",
            ("agentkit.evals",),
            "Datasets of cases run against an agent on one or more models, the checks of "
            "each run's steps, reports (table, Markdown, HTML, JSON, JUnit) and comparisons "
            "that flag regressions. See [evaluating agents](../../evaluation.md).",
            module="agentkit.evals",
            lead=("load_dataset", "EvalDataset", "EvalCase", "run_dataset", "EvalReport"),
        ),
        Area(
            "sandbox",
            "Sandbox",
            ("agentkit.sandbox",),
            "Model-written code in a hardened container. See [the sandbox](../../sandbox.md).",
            module="agentkit.sandbox",
        ),
        Area(
            "errors",
            "Errors",
            ("agentkit.errors",),
            "Every exception agentkit raises, importable from `agentkit`. An error that "
            "ended a run carries the run's state in `exc.run`: a `RunResult` with "
            '`status == "failed"` and its `error`, every step kept.',
            module="agentkit.errors",
        ),
        Area(
            "testing",
            "Testing",
            ("agentkit.testing",),
            "The offline model (`FakeXAI`, `Script`, `Turn`, `scripted_client`, "
            "`serve_in_thread`) and the loop-level test doubles. See "
            "[the fake xAI](../../fake-xai.md).",
            module="agentkit.testing",
            lead=("FakeXAI", "Script", "Turn", "scripted_client", "serve_in_thread"),
        ),
    ]


def other() -> Area:
    """The page of public names no area claims (left out of the build when empty)."""
    return Area("other", "Other names", (), "Public names no other page claims.")


def _on_repo_path() -> None:
    """Import (and have griffe read) this checkout's agentkit, not another install's."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


# --- the API reference --------------------------------------------------------------------


def _defining_module(obj: Any, fallback: str) -> str:
    module = getattr(obj, "__module__", None)
    if isinstance(module, str) and module.startswith("agentkit") and not _is_value(obj):
        return module
    return fallback


def _is_value(obj: Any) -> bool:
    """Constants (strings, sets, instances) belong to the module that exports them."""
    return not (inspect.isclass(obj) or inspect.isroutine(obj))


def _identity(obj: Any, module: str, name: str) -> tuple[str, str]:
    if _is_value(obj):
        return (module, name)
    return (getattr(obj, "__module__", module), getattr(obj, "__qualname__", name))


def public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return list(exported)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module_name
    ]


def api_areas() -> list[Area]:
    """Every public name, once, on the page of its area (the first one that claims it)."""
    _on_repo_path()
    import agentkit

    pages = [*areas(), other()]
    seen: set[tuple[str, str]] = set()

    def place(path: str, obj: Any, exporter: str, name: str) -> None:
        module = _defining_module(obj, exporter)
        key = _identity(obj, module, name)
        if key in seen:
            return
        seen.add(key)
        _area_of(module, pages).names.append((path, module))

    # the export table's order (curated: Agent, RunConfig, ... first), then the rest
    for name in [*agentkit._EXPORTS, *sorted(set(agentkit.__all__) - set(agentkit._EXPORTS))]:
        place(f"agentkit.{name}", getattr(agentkit, name), "agentkit", name)
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in public_names(module_name):
            place(f"{module_name}.{name}", getattr(module, name), module_name, name)
    for area in pages:
        area.names = area.ordered()
    return [area for area in pages if area.names]


def _area_of(module: str, pages: list[Area]) -> Area:
    """The area with the longest prefix `module` falls under (the last, when none does)."""
    best, length = pages[-1], -1
    for area in pages:
        for prefix in area.prefixes:
            under = module == prefix or module.startswith(prefix + ".")
            if under and len(prefix) > length:
                best, length = area, len(prefix)
    return best


def api_page(area: Area) -> str:
    lines = [f"# {area.title}", "", area.intro, ""]
    if area.module:
        lines += [
            f"::: {area.module}",
            "    options:",
            "      show_root_heading: false",
            "      members: false",
            "",
        ]
    for path, _module in area.names:
        lines += [f"::: {path}", ""]
    return "\n".join(lines)


def api_index(pages: list[Area]) -> str:
    lines = [
        "# API reference",
        "",
        "Every public name, generated from the docstrings. Names shown as `agentkit.X` are "
        "imported from the top level (`from agentkit import Agent`); the others from the "
        "module shown (`from agentkit.testing import FakeXAI`).",
        "",
        "| page | names |",
        "| --- | --- |",
    ]
    for area in pages:
        names = ", ".join(f"[`{p.rsplit('.', 1)[1]}`][{p}]" for p, _ in area.names)
        lines.append(f"| [{area.title}]({area.slug}.md) | {names} |")
    return "\n".join(lines) + "\n"


# --- the CLI reference --------------------------------------------------------------------


def _subcommands(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of each subcommand of `parser`, aliases skipped."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        shown: set[int] = set()
        for name, sub in action.choices.items():
            if id(sub) in shown:
                continue
            shown.add(id(sub))
            yield name, helps.get(name, ""), sub


def _walk(
    parser: argparse.ArgumentParser, words: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], str, argparse.ArgumentParser]]:
    for name, help_text, sub in _subcommands(parser):
        yield (*words, name), help_text, sub
        yield from _walk(sub, (*words, name))


def cli_markdown() -> str:
    _on_repo_path()
    from agentkit.cli import build_parser

    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = CLI_WIDTH
    try:
        parser = build_parser()
        commands = list(_walk(parser, ("agentkit",)))
        lines = [
            "# Command line",
            "",
            "The `agentkit` command comes with the package. This page is generated from its "
            "argument parser at build time, so it lists every subcommand of this version.",
            "",
            "| command | what it does |",
            "| --- | --- |",
        ]
        for words, help_text, _sub in commands:
            anchor = "-".join(words)
            lines.append(f"| [`{' '.join(words)}`](#{anchor}) | {_cell(help_text)} |")
        lines += ["", "## `agentkit`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for words, help_text, sub in commands:
            level = "#" * min(len(words) + 1, 6)
            anchor = "-".join(words)
            lines += [f"{level} `{' '.join(words)}` {{ #{anchor} }}", ""]
            if help_text:
                lines += [_sentence(help_text), ""]
            lines += ["```text", sub.format_help().rstrip(), "```", ""]
        return "\n".join(lines)
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# --- the hooks ----------------------------------------------------------------------------

_state: dict[str, list[Area]] = {}


def on_config(config: Any) -> Any:
    """Replace the nav's `API reference` entry with one page per area."""
    pages = api_areas()
    _state["pages"] = pages
    section: list[Any] = [{"Overview": f"{API_DIR}/index.md"}]
    section += [{area.title: f"{API_DIR}/{area.slug}.md"} for area in pages]
    _replace_nav_entry(config["nav"] or [], API_NAV_TITLE, section)
    return config


def _replace_nav_entry(nav: list[Any], title: str, section: list[Any]) -> bool:
    for entry in nav:
        if not isinstance(entry, dict):
            continue
        for key, value in entry.items():
            if key == title:
                entry[key] = section
                return True
            if isinstance(value, list) and _replace_nav_entry(value, title, section):
                return True
    return False


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    pages = _state.get("pages") or api_areas()
    generated = {CLI_PAGE: cli_markdown(), f"{API_DIR}/index.md": api_index(pages)}
    generated |= {f"{API_DIR}/{area.slug}.md": api_page(area) for area in pages}
    for path, text in generated.items():
        files.append(File.generated(config, path, content=text))
    return files
