"""The `agentkit` command line.

Each subcommand group lives in its own module with a ``register(subparsers)`` function;
modules are imported lazily so `agentkit --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from agentkit.errors import AgentkitError
from agentkit.terminal import printable, printable_output

# subcommand -> module that registers it
_COMMAND_MODULES: tuple[str, ...] = (
    "agentkit.cli.run_command",
    "agentkit.cli.resume_command",
    "agentkit.cli.serve_command",
    "agentkit.cli.worker_command",
    "agentkit.cli.fake_xai_command",
    "agentkit.cli.policy_command",
    "agentkit.cli.approvals_command",
    "agentkit.cli.audit_command",
    "agentkit.cli.sandbox_command",
    "agentkit.cli.db_command",
    "agentkit.cli.media_command",
    "agentkit.cli.files_command",
    "agentkit.cli.eval_command",
    "agentkit.cli.mcp_command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentkit", description="Tool-using agents on the xAI API, with a safety layer."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # subcommand not part of this build
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        with printable_output():  # nothing a model, a tool or an argument wrote steers the terminal
            args = parser.parse_args(argv)  # usage errors echo the arguments
            code: int = args.handler(args)
    except AgentkitError as exc:
        print(printable(f"agentkit: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: its traceback may quote hostile text, so it is escaped too
        print(printable(traceback.format_exc()), file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
