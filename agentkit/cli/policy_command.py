"""`agentkit policy`: check policy files, explain a decision, print the JSON Schema."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentkit.decision import Principal
from agentkit.errors import CallDenied, ConfigError, PolicyLoadError

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.decision import PastCall
    from agentkit.policy import Policy


DENY_EXIT = CallDenied.exit_code
"""What `policy explain` exits with when the call would be denied."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy check``, ``policy explain``, ``policy schema`` and ``policy show``."""
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

    explain = commands.add_parser(
        "explain", help="show the decision for one call (exit 3 when it is deny)"
    )
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
    earlier = (
        (
            "--ran",
            "TOOL=OUTPUT",
            "an earlier call of TOOL returned the text OUTPUT (untrusted "
            "if the policy marks TOOL so)",
        ),
        (
            "--ran-untrusted",
            "TOOL=OUTPUT",
            "an earlier call of TOOL returned the text OUTPUT, labelled untrusted",
        ),
        (
            "--output",
            "TOOL=JSON",
            "an earlier call of TOOL returned JSON (or, if it is not JSON, "
            "that text), labelled as the policy labels TOOL's outputs",
        ),
        (
            "--approved",
            "TOOL=JSON",
            "a person approved an earlier call of TOOL with these arguments",
        ),
    )
    for option, metavar, text in earlier:
        explain.add_argument(
            option,
            action="append",
            dest="earlier",
            default=[],
            type=_tagged(option),
            metavar=metavar,
            help=text + " (repeatable; earlier calls run in the order given)",
        )
    explain.set_defaults(handler=_explain)

    schema = commands.add_parser("schema", help="print the JSON Schema of policy files")
    schema.set_defaults(handler=_schema)

    show = commands.add_parser(
        "show", help="print a shipped policy (extend it as agentkit:NAME); no NAME lists them"
    )
    show.add_argument("name", nargs="?", metavar="NAME", help="baseline, default, ...")
    show.set_defaults(handler=_show)


def _check(args: argparse.Namespace) -> int:
    from agentkit.policy import PolicyInvalid, load_policy
    from agentkit.policy.problems import collect_problems

    agent = _agent_class(args.agent) if args.agent else None
    failed = False
    for file in args.files:
        try:
            with collect_problems():  # every problem of the file, not the first stage's
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
    from agentkit.cli.launch import load_agent_class

    return load_agent_class(target)


def _explain(args: argparse.Namespace) -> int:
    from agentkit.policy import load_policy

    policy = load_policy(args.file)
    arguments = _json_object(args.args, "--args")
    tool = policy.tool_info(args.tool)
    earlier = [
        _earlier_call(policy, option, value).model_copy(update={"call_id": f"earlier-{i}"})
        for i, (option, value) in enumerate(args.earlier)
    ]
    decision = policy.explain(
        args.tool,
        arguments,
        principal=Principal(user_id=args.user, roles=tuple(args.role)),
        user_messages=tuple(args.user_message),
        after_untrusted=args.after_untrusted,
        earlier=earlier,
    )
    for note in _typo_notes(policy, args.tool, args.role):
        print(f"note: {note}", file=sys.stderr)
    print(f"{decision.action}  rule={decision.rule}")
    label = f"{tool.side_effect}, untrusted output" if tool.untrusted_output else tool.side_effect
    print(f"  tool: {tool.name} ({label})")
    print(f"  reason: {decision.reason}")
    return DENY_EXIT if decision.action == "deny" else 0


def _typo_notes(policy: Policy, tool: str, roles: list[str]) -> list[str]:
    """What the command line names that the policy does not, with the nearest name."""
    from agentkit.policy._names import did_you_mean

    spec = policy.spec
    tools = set(spec.tools) | {name for members in spec.tool_sets.values() for name in members}
    known_roles = set(spec.roles)
    for rule in spec.tools.values():
        known_roles.update(rule.roles or ())
    notes = []
    if tool not in tools:
        notes.append(
            f"the policy names no tool {tool!r}; it is explained as an undeclared read tool"
            + did_you_mean(tool, tools)
        )
    for role in roles:
        if role not in known_roles:
            notes.append(f"the policy knows no role {role!r}" + did_you_mean(role, known_roles))
    return notes


def _json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{option} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigError(f"{option} must be a JSON object")
    return value


def _tagged(option: str) -> Callable[[str], tuple[str, str]]:
    """An option's value, with the option it came from."""

    def tag(value: str) -> tuple[str, str]:
        return option, value

    return tag


def _earlier_call(policy: Policy, option: str, text: str) -> PastCall:
    """The earlier call an option describes (``TOOL=VALUE``)."""
    tool, sep, value = text.partition("=")
    if not sep or not tool:
        if option == "--output":
            raise ConfigError(f"--output must be TOOL=JSON, not {text!r}")
        raise ConfigError(f"{option} takes TOOL=VALUE, not {text!r}")
    if option == "--approved":
        return policy.earlier_call(tool, arguments=_json_object(value, option), approved=True)
    if option == "--output":
        try:
            return policy.earlier_call(tool, output=json.loads(value))
        except json.JSONDecodeError:
            pass  # a text output
    return policy.earlier_call(tool, output=value, untrusted=option == "--ran-untrusted" or None)


def _schema(args: argparse.Namespace) -> int:
    from agentkit.policy import policy_json_schema_text

    sys.stdout.write(policy_json_schema_text())
    return 0


def _show(args: argparse.Namespace) -> int:
    from agentkit.policy.builtin import builtin_path, names

    if args.name is None:
        for name in names():
            print(f"agentkit:{name}")
        return 0
    try:
        path = builtin_path(args.name)
    except LookupError as exc:
        print(f"agentkit policy show: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0
