"""`agentkit worker MODULE:Class`: a Temporal worker running the agent's durable runs, and
`agentkit durable start|status|decide|resolve|result` to drive them (extra [temporal])."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

DEFAULT_ADDRESS = "127.0.0.1:7233"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = subparsers.add_parser(
        "worker", help="run a Temporal worker for an agent's durable runs (extra [temporal])"
    )
    worker.add_argument("target", metavar="MODULE:Class", help="the Agent subclass")
    _connection(worker)
    worker.add_argument("--offline", action="store_true", help="answer from the fake xAI server")
    worker.add_argument("--base-url", default=None, help="the xAI API's base URL")
    worker.set_defaults(handler=_worker)

    durable = subparsers.add_parser("durable", help="start and drive durable runs on Temporal")
    actions = durable.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="start a run; prints its run id")
    start.add_argument("prompt")
    start.add_argument("--user", default="cli")
    start.add_argument("--role", action="append", default=[])
    start.add_argument("--turn-timeout", type=float, default=600.0)
    start.add_argument("--heartbeat-timeout", type=float, default=10.0)
    _connection(start)
    start.set_defaults(handler=_start)
    for name, helptext in (("status", "where a run is"), ("result", "wait for a run's end")):
        action = actions.add_parser(name, help=helptext)
        action.add_argument("run_id")
        _connection(action)
        action.set_defaults(handler=_status if name == "status" else _result)
    listing = actions.add_parser("list", help="durable runs, newest first")
    listing.add_argument("--limit", type=int, default=20)
    _connection(listing)
    listing.set_defaults(handler=_list)
    follow = actions.add_parser("follow", help="print a run's status as it changes, to its end")
    follow.add_argument("run_id")
    follow.add_argument("--every", type=float, default=1.0, help="seconds between looks")
    _connection(follow)
    follow.set_defaults(handler=_follow)
    decide = actions.add_parser("decide", help="approve or deny a pending call")
    decide.add_argument("run_id")
    decide.add_argument("approval_id")
    decide.add_argument("verdict", choices=["approve", "deny"])
    decide.add_argument("--as", dest="approver", required=True)
    decide.add_argument("--role", action="append", default=[])
    decide.add_argument("--arguments-sha256", required=True, help="of the call you approve")
    _connection(decide)
    decide.set_defaults(handler=_decide)
    resolve = actions.add_parser("resolve", help="say whether a call cut off by a crash ran")
    resolve.add_argument("run_id")
    resolve.add_argument("outcome", choices=["ran", "did-not-run"])
    resolve.add_argument("--as", dest="resolver", required=True)
    _connection(resolve)
    resolve.set_defaults(handler=_resolve)


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", default=DEFAULT_ADDRESS, help="the Temporal frontend")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", default="agentkit")


async def _client(args: argparse.Namespace) -> Any:
    try:
        from temporalio.client import Client
    except ImportError:
        from agentkit.errors import ConfigError

        raise ConfigError(
            "durable runs need the [temporal] extra: pip install 'agentkit[temporal]'"
        ) from None
    from agentkit.temporal.tracing import tracing_interceptors

    return await Client.connect(args.address, namespace=args.namespace,
                                interceptors=tracing_interceptors())  # fmt: skip


def _worker(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from agentkit.approval_store import ApprovalStore
    from agentkit.audit.default_log import default_audit_log
    from agentkit.cli.launch import launch
    from agentkit.cli.saved_runs import SavedCommand

    offline = args.offline or (not os.environ.get("XAI_API_KEY") and not args.base_url)
    command = SavedCommand(
        target=args.target, offline=offline, base_url=args.base_url, workdir=os.getcwd()
    )

    async def serve() -> None:
        from agentkit.temporal import worker_for

        client = await _client(args)
        with ExitStack() as stack:
            launched = launch(
                command, stack, store=ApprovalStore(), audit=default_audit_log(), notices=sys.stderr
            )
            worker = worker_for(launched.agent, client, args.task_queue)
            print(f"agentkit: worker on task queue {args.task_queue!r} at {args.address}",
                  file=sys.stderr, flush=True)  # fmt: skip
            await worker.run()

    asyncio.run(serve())
    return 0


def _start(args: argparse.Namespace) -> int:
    from agentkit.decision import Principal
    from agentkit.temporal import start_run

    async def go() -> str:
        client = await _client(args)
        principal = Principal(user_id=args.user, roles=tuple(args.role))
        handle = await start_run(
            client,
            args.prompt,
            principal=principal,
            task_queue=args.task_queue,
            turn_timeout=args.turn_timeout,
            heartbeat_timeout=args.heartbeat_timeout,
        )
        return handle.id.removeprefix("agentkit-run-")

    print(asyncio.run(go()))
    return 0


def _handle(client: Any, run_id: str) -> Any:
    from agentkit.temporal import RunEnd, workflow_id

    return client.get_workflow_handle(workflow_id(run_id), result_type=RunEnd)


def _status(args: argparse.Namespace) -> int:
    async def go() -> Any:
        return await _handle(await _client(args), args.run_id).query("status")

    print(json.dumps(asyncio.run(go()), indent=2))
    return 0


def _result(args: argparse.Namespace) -> int:
    from agentkit.temporal import RunEnd

    async def go() -> RunEnd:
        end: RunEnd = await _handle(await _client(args), args.run_id).result()
        return end

    end = asyncio.run(go())
    print(json.dumps({"status": end.status, "error": end.error}))
    return 0 if end.status == "completed" else 1


def _list(args: argparse.Namespace) -> int:
    from agentkit.temporal.workflow import WORKFLOW_TYPE

    async def go() -> list[str]:
        client = await _client(args)
        lines = []
        async for run in client.list_workflows(f'WorkflowType = "{WORKFLOW_TYPE}"'):
            state = run.status.name.lower() if run.status is not None else "unknown"
            lines.append(f"{run.id.removeprefix('agentkit-run-')}  {state}  {run.start_time:%c}")
            if len(lines) >= args.limit:
                break
        return lines

    print("\n".join(asyncio.run(go())) or "no durable runs")
    return 0


def _follow(args: argparse.Namespace) -> int:
    from temporalio.client import WorkflowExecutionStatus

    async def go() -> int:
        handle = _handle(await _client(args), args.run_id)
        shown = None
        while True:
            described = await handle.describe()
            if described.status != WorkflowExecutionStatus.RUNNING:
                if described.status != WorkflowExecutionStatus.COMPLETED:
                    print(f"the workflow ended: {described.status}")
                    return 1
                end = await handle.result()
                print(f"ended: {end.status}" + (f" ({end.error})" if end.error else ""))
                return 0 if end.status == "completed" else 1
            now = await handle.query("status")
            text = json.dumps(now, sort_keys=True)
            if text != shown:
                pending = ", ".join(p["approval_id"] for p in now["pending"])
                print(now["status"] + (f" (waiting on {pending})" if pending else ""), flush=True)
                shown = text
            await asyncio.sleep(args.every)

    return asyncio.run(go())


def _decide(args: argparse.Namespace) -> int:
    from agentkit.temporal import DecideApproval

    decision = DecideApproval(
        approval_id=args.approval_id,
        approved=args.verdict == "approve",
        approver=args.approver,
        roles=list(args.role),
        arguments_sha256=args.arguments_sha256,
    )

    async def go() -> Any:
        return await _handle(await _client(args), args.run_id).execute_update("decide", decision)

    print(asyncio.run(go()))
    return 0


def _resolve(args: argparse.Namespace) -> int:
    from agentkit.temporal import ResolveEffect

    said = ResolveEffect(ran=args.outcome == "ran", resolver=args.resolver)

    async def go() -> Any:
        return await _handle(await _client(args), args.run_id).execute_update("resolve", said)

    print(asyncio.run(go()))
    return 0
