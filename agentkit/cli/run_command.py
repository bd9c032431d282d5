"""`agentkit run MODULE:Class PROMPT`: run an agent once, showing each step as it happens.

The run writes the audit log (the default one unless `--audit` names another) and, when
it pauses for a person, is stored in the approvals store with how it was started, so
`agentkit approvals approve ID` and `agentkit resume RUN_ID` can finish it from any shell.
Exit codes: `agentkit.cli.run_outcome`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from agentkit.approval_store import DEFAULT_STORE_PATH
from agentkit.cli.launch import launch, open_audit
from agentkit.cli.saved_runs import SavedCommand
from agentkit.errors import AgentkitError

if TYPE_CHECKING:
    from agentkit.approval_store import ApprovalStore
    from agentkit.state import RunResult


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run an agent on one prompt, showing each step; a paused run is stored",
        description="Exit codes: 0 completed, 11 completed with a call denied or declined, "
        "10 paused for approval (stored: decide with `agentkit approvals`, continue with "
        "`agentkit resume RUN_ID`), 1 failed, 2 a usage or configuration mistake.",
    )
    parser.add_argument("target", metavar="MODULE:Class", help="the Agent subclass to run")
    parser.add_argument("prompt")
    parser.add_argument("--model", help="model name (default: the agent's)")
    parser.add_argument("--base-url", help="API base URL (default: https://api.x.ai/v1)")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="answer from the fake xAI server on loopback, whatever XAI_API_KEY holds "
        "(automatic when XAI_API_KEY is unset)",
    )
    parser.add_argument(
        "--script", help="script of the offline model (YAML or JSON; default: the agent's)"
    )
    parser.add_argument("--user", default="cli", help="the principal's user id (default: cli)")
    parser.add_argument(
        "--role", action="append", default=[], help="a role of the principal (repeatable)"
    )
    parser.add_argument("--run-id", help="the run's id (default: a new one)")
    add_run_options(parser)
    parser.set_defaults(handler=_handle)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options `run` and `resume` share: where state and audit go, how it prints."""
    parser.add_argument(
        "--store",
        default=DEFAULT_STORE_PATH,
        help=f"approvals store a paused run is kept in (default: {DEFAULT_STORE_PATH})",
    )
    parser.add_argument(
        "--audit",
        help="audit log, a JSONL path or a database URL (default: .agentkit/audit/audit.jsonl, "
        "or $AGENTKIT_AUDIT_DIR)",
    )
    parser.add_argument("--json", action="store_true", help="print the run state as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines, only the ending")


def _handle(args: argparse.Namespace) -> int:
    offline = args.offline or (not os.environ.get("XAI_API_KEY") and args.base_url is None)
    command = SavedCommand(
        target=args.target,
        model=args.model,
        base_url=args.base_url,
        offline=offline,
        script=str(Path(args.script).absolute()) if args.script else None,
        user=args.user,
        roles=list(args.role),
        workdir=os.getcwd(),
    )
    prompt: str = args.prompt
    run_id: str | None = args.run_id
    return execute(
        command, args, lambda agent, events: agent.run(prompt, run_id=run_id, events=events)
    )


def execute(
    command: SavedCommand, args: argparse.Namespace, start: Any, store: ApprovalStore | None = None
) -> int:
    """Build `command`'s agent, `start(agent, events)`, print each event as it happens,
    store the run if it pauses."""
    from agentkit.approval_store import ApprovalStore
    from agentkit.cli.launch import close
    from agentkit.cli.run_outcome import finish

    store = store or ApprovalStore(args.store)
    progress: TextIO = sys.stderr if args.json else sys.stdout
    with ExitStack() as stack:
        audit = open_audit(args.audit, stack)
        from agentkit.cli.live import LiveTranscript

        launched = launch(command, stack, store=store, audit=audit, notices=sys.stderr)
        live = None if args.quiet else LiveTranscript(progress)
        if live is not None:
            live.mode = launched.mode

        async def go() -> RunResult:
            try:
                result: RunResult = await start(launched.agent, live)
                return result
            finally:
                await close(launched.agent)

        try:
            run = asyncio.run(go())
        except AgentkitError as exc:
            if exc.run is None:
                raise
            run = exc.run  # the transcript up to the failure, the error last
        streamed = live is not None and live.streamed
        return finish(run, store=store, command=command, as_json=args.json, streamed=streamed)
