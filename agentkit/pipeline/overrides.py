"""Stage overrides: what the authoriser adds to the tools, applied once when a run is assembled.

A policy may mark a tool's output untrusted or name untrusted database columns for it.
Those marks must reach the tools the runner runs, because the runner labels and frames
each output and the history every later decision reads is built from those labels. The
runner applies them when it is built; an `Agent` applies them when it is built too, so a
policy its tools cannot honour fails there (on tools that carry them, a no-op).
"""

from __future__ import annotations

from collections.abc import Iterable

from agentkit.decision import Authoriser, HasToolOverrides
from agentkit.errors import ConfigError
from agentkit.tool import Tool


def with_overrides(
    tools: Iterable[Tool], authoriser: Authoriser, server_tools: Iterable[str] = ()
) -> list[Tool]:
    """The tools as the authoriser describes them (unchanged if it adds nothing).

    Raises:
        ConfigError: an override a tool cannot honour (untrusted columns on a tool without
            database rows, or on a server tool), or a side-effect class that disagrees.
    """
    if not isinstance(authoriser, HasToolOverrides):
        return list(tools)
    for name in server_tools:
        if authoriser.tool_overrides(name).untrusted_columns:
            raise ConfigError(
                f"server tool {name!r}: the policy sets tools.{name}.untrusted_columns, but "
                "a server tool returns no database rows; its output is untrusted already"
            )
    return [tool.with_overrides(authoriser.tool_overrides(tool.name)) for tool in tools]
