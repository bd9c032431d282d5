"""`agentkit policy`: check policy files, explain a decision, print the JSON Schema."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from agentkit.decision import Principal
from agentkit.errors import ConfigError, PolicyLoadError

if TYPE_CHECKING:
    from agentkit.agent import Agent


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy check``, ``policy explain`` and ``policy schema``."""
    parser = subparsers.add_parser("policy", help="check and explain YAML policies")
    commands = parser.add_subparsers(dest="policy_command", required=True, metavar="ACTION")

    check = commands.add_parser("check", help="validate policy files (exit 2 on errors)")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument(
        "--agent",
        metavar="MODULE:Class",
        help="also build this Agent subclass with each file, so the file is checked against "
        "its tools (names, classes, argument constraints, what the policy adds to them)",
    )
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
        "--ran",
        action="append",
        default=[],
        metavar="TOOL=OUTPUT",
        help="an earlier call of TOOL returned OUTPUT (untrusted if the policy marks TOOL so)",
    )
    explain.add_argument(
        "--ran-untrusted",
        action="append",
        default=[],
        metavar="TOOL=OUTPUT",
        help="an earlier call of TOOL returned OUTPUT, labelled untrusted",
    )
    explain.add_argument(
        "--approved",
        action="append",
        default=[],
        metavar="TOOL=JSON",
        help="a person approved an earlier call of TOOL with these arguments",
    )
    explain.set_defaults(handler=_explain)

    schema = commands.add_parser("schema", help="print the JSON Schema of policy files")
    schema.set_defaults(handler=_schema)


def _check(args: argparse.Namespace) -> int:
    from agentkit.policy import PolicyInvalid, load_policy

    agent = _agent_class(args.agent) if args.agent else None
    failed = False
    for file in args.files:
        try:
            if agent is None:
                load_policy(file)
                print(f"{file}: ok")
            else:
                built = agent(policy=file)
                print(f"{file}: ok with {args.agent} ({len(built.tool_list)} tools)")
        except PolicyInvalid as exc:
            failed = True
            for problem in exc.problems:
                print(problem, file=sys.stderr)
        except PolicyLoadError as exc:
            failed = True
            print(exc, file=sys.stderr)
        except ConfigError as exc:  # what the policy adds to a tool that cannot honour it
            failed = True
            print(f"{file}: {exc}", file=sys.stderr)
    return 2 if failed else 0


def _agent_class(target: str) -> type[Agent]:
    """The Agent subclass named ``MODULE:Class``, to be built with each policy file."""
    from agentkit.cli.run_command import load_agent_class

    return load_agent_class(target)


def _explain(args: argparse.Namespace) -> int:
    from agentkit.policy import load_policy

    policy = load_policy(args.file)
    arguments = _json_object(args.args, "--args")
    tool = policy.tool_info(args.tool)
    earlier = [
        *(policy.earlier_call(t, output=o) for t, o in _pairs(args.ran, "--ran")),
        *(
            policy.earlier_call(t, output=o, untrusted=True)
            for t, o in _pairs(args.ran_untrusted, "--ran-untrusted")
        ),
        *(
            policy.earlier_call(t, arguments=_json_object(a, "--approved"), approved=True)
            for t, a in _pairs(args.approved, "--approved")
        ),
    ]
    decision = policy.explain(
        args.tool,
        arguments,
        principal=Principal(user_id=args.user, roles=tuple(args.role)),
        user_messages=tuple(args.user_message),
        after_untrusted=args.after_untrusted,
        earlier=earlier,
    )
    print(f"{decision.action}  rule={decision.rule}")
    label = f"{tool.side_effect}, untrusted output" if tool.untrusted_output else tool.side_effect
    print(f"  tool: {tool.name} ({label})")
    print(f"  reason: {decision.reason}")
    return 0


def _json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{option} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigError(f"{option} must be a JSON object")
    return value


def _pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    """``TOOL=TEXT`` options as (tool, text)."""
    pairs = []
    for value in values:
        tool, sep, text = value.partition("=")
        if not sep or not tool:
            raise ConfigError(f"{option} takes TOOL=VALUE, not {value!r}")
        pairs.append((tool, text))
    return pairs


def _schema(args: argparse.Namespace) -> int:
    from agentkit.policy import policy_json_schema_text

    sys.stdout.write(policy_json_schema_text())
    return 0
