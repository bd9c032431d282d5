"""`agentkit policy`: check policy files, explain a decision, print the JSON Schema."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agentkit.decision import Principal
from agentkit.errors import ConfigError, PolicyLoadError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy check``, ``policy explain`` and ``policy schema``."""
    parser = subparsers.add_parser("policy", help="check and explain YAML policies")
    commands = parser.add_subparsers(dest="policy_command", required=True, metavar="ACTION")

    check = commands.add_parser("check", help="validate policy files (exit 2 on errors)")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(handler=_check)

    explain = commands.add_parser("explain", help="show the decision for one call")
    explain.add_argument("file", metavar="FILE")
    explain.add_argument("--tool", required=True, help="tool name")
    explain.add_argument("--args", default="{}", help="the call's arguments as a JSON object")
    explain.add_argument("--role", action="append", default=[], help="a role of the principal")
    explain.add_argument("--user", default="cli", help="the principal's user id")
    explain.add_argument(
        "--after-untrusted", action="store_true", help="as if untrusted output entered the run"
    )
    explain.add_argument(
        "--user-message", action="append", default=[], help="text the user wrote in the run"
    )
    explain.add_argument(
        "--output",
        action="append",
        default=[],
        metavar="TOOL=JSON",
        help="as if TOOL had returned JSON (or, if it is not JSON, that text) earlier in the run",
    )
    explain.set_defaults(handler=_explain)

    schema = commands.add_parser("schema", help="print the JSON Schema of policy files")
    schema.set_defaults(handler=_schema)


def _check(args: argparse.Namespace) -> int:
    from agentkit.policy import PolicyInvalid, load_policy

    failed = False
    for file in args.files:
        try:
            load_policy(file)
        except PolicyInvalid as exc:
            failed = True
            for problem in exc.problems:
                print(problem, file=sys.stderr)
        except PolicyLoadError as exc:
            failed = True
            print(exc, file=sys.stderr)
        else:
            print(f"{file}: ok")
    return 2 if failed else 0


def _explain(args: argparse.Namespace) -> int:
    from agentkit.policy import load_policy

    policy = load_policy(args.file)
    arguments = _json_object(args.args)
    tool = policy.tool_info(args.tool)
    decision = policy.explain(
        args.tool,
        arguments,
        principal=Principal(user_id=args.user, roles=tuple(args.role)),
        user_messages=tuple(args.user_message),
        after_untrusted=args.after_untrusted,
        outputs=[_earlier_output(text) for text in args.output],
    )
    print(f"{decision.action}  rule={decision.rule}")
    label = f"{tool.side_effect}, untrusted output" if tool.untrusted_output else tool.side_effect
    print(f"  tool: {tool.name} ({label})")
    print(f"  reason: {decision.reason}")
    return 0


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--args is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigError("--args must be a JSON object")
    return value


def _earlier_output(text: str) -> tuple[str, Any]:
    tool, equals, value = text.partition("=")
    if not equals or not tool:
        raise ConfigError(f"--output must be TOOL=JSON, not {text!r}")
    try:
        return tool, json.loads(value)
    except json.JSONDecodeError:
        return tool, value  # a text output


def _schema(args: argparse.Namespace) -> int:
    from agentkit.policy import policy_json_schema_text

    sys.stdout.write(policy_json_schema_text())
    return 0
