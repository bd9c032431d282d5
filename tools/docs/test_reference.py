"""The generated reference pages cover the code: every public name, every subcommand."""

from __future__ import annotations

import argparse

import agentkit
import agentkit.testing
from agentkit.cli import build_parser
from tools.docs import hooks


def test_every_public_name_is_on_exactly_one_api_page() -> None:
    placed = [path for area in hooks.api_areas() for path, _ in area.names]
    assert len(placed) == len(set(placed))
    shown = {path.rsplit(".", 1)[1] for path in placed}
    assert set(agentkit.__all__) <= shown
    assert set(agentkit.testing.__all__) <= shown
    for module in hooks.PUBLIC_MODULES:
        assert set(hooks.public_names(module)) <= shown, module


def test_the_newcomer_names_open_their_pages() -> None:
    pages = {area.slug: [path for path, _ in area.names] for area in hooks.api_areas()}
    assert pages["agents"][:4] == [
        "agentkit.Agent",
        "agentkit.RunConfig",
        "agentkit.RunResult",
        "agentkit.Step",
    ]
    assert pages["testing"][:5] == [
        f"agentkit.testing.{name}"
        for name in ("FakeXAI", "Script", "Turn", "scripted_client", "serve_in_thread")
    ]
    assert "other" not in pages  # every name has an area; a new module may need one


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(" ".join((*words, name)))
                found += _commands(sub, (*words, name))
    return found


def test_the_cli_page_has_every_subcommand_from_the_parser() -> None:
    page = hooks.cli_markdown()
    commands = _commands(build_parser(), ("agentkit",))
    assert "agentkit policy explain" in commands
    for command in commands:
        assert f"`{command}` {{ #{command.replace(' ', '-')} }}" in page, command
    assert build_parser().format_usage().split()[1] in page
