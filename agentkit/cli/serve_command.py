"""`agentkit serve MODULE:Class` and `agentkit tokens create|revoke`: an agent over HTTP."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agentkit.approval_store import DEFAULT_STORE_PATH

DEFAULT_TOKENS = ".agentkit/tokens.db"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser(
        "serve", help="serve an agent over HTTP: runs, events (SSE), approvals (extra [serve])"
    )
    serve.add_argument("target", metavar="MODULE:Class", help="the Agent subclass to serve")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--offline", action="store_true", help="answer from the fake xAI server")
    serve.add_argument(
        "--store",
        default=DEFAULT_STORE_PATH,
        metavar="PATH|URL",
        help="approvals store: a SQLite file, or a postgresql:// URL (then the runs too)",
    )
    serve.add_argument("--tokens", default=DEFAULT_TOKENS, help="token store (SQLite)")
    serve.add_argument(
        "--runs",
        default=None,
        metavar="PATH|URL",
        help="runs and events: a SQLite file (default: service.db beside --store) or a "
        "postgresql:// URL shared by workers on several hosts",
    )
    serve.add_argument(
        "--lease",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how soon another worker takes up the runs of a worker that died (default 10)",
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the stores (default 1)"
    )
    serve.add_argument(
        "--engine",
        choices=["in-process", "temporal"],
        default="in-process",
        help="where runs execute: in this service's processes (default), or as durable "
        "workflows on Temporal, driven by `agentkit worker` processes (extra [temporal])",
    )
    serve.add_argument(
        "--address", default="127.0.0.1:7233", help="--engine temporal: the Temporal frontend"
    )
    serve.add_argument("--namespace", default="default", help="--engine temporal: its namespace")
    serve.add_argument(
        "--task-queue", default="agentkit", help="--engine temporal: the workers' task queue"
    )
    serve.set_defaults(handler=_serve)

    tokens = subparsers.add_parser("tokens", help="API tokens of `agentkit serve`")
    actions = tokens.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="a token for a user (printed once)")
    create.add_argument("--user", required=True)
    create.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    create.add_argument("--workspace", default=None)
    create.add_argument("--tokens", default=DEFAULT_TOKENS, help="token store (SQLite)")
    create.set_defaults(handler=_create)
    revoke = actions.add_parser("revoke", help="revoke a token")
    revoke.add_argument("token")
    revoke.add_argument("--tokens", default=DEFAULT_TOKENS, help="token store (SQLite)")
    revoke.set_defaults(handler=_revoke)


def _create(args: argparse.Namespace) -> int:
    from agentkit.serve.tokens import TokenStore

    print(TokenStore(args.tokens).create(args.user, tuple(args.role), args.workspace))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from agentkit.serve.tokens import TokenStore

    if TokenStore(args.tokens).revoke(args.token):
        print("revoked")
        return 0
    print("no such live token", file=sys.stderr)
    return 1


def _serve(args: argparse.Namespace) -> int:
    import os

    try:
        import uvicorn
    except ImportError:
        from agentkit.errors import ConfigError

        raise ConfigError(
            "agentkit serve needs the [serve] extra: pip install 'agentkit[serve]'"
        ) from None
    from agentkit.cli.serve_worker import WorkerConfig, build_app

    if args.engine == "temporal":
        return _serve_durable(args, uvicorn)
    if args.workers < 1:
        print("agentkit serve: --workers must be at least 1", file=sys.stderr)
        return 2
    config = WorkerConfig(
        target=args.target,
        offline=args.offline or not os.environ.get("XAI_API_KEY"),
        workdir=os.getcwd(),
        store=args.store if "://" in args.store else os.path.abspath(args.store),
        tokens=os.path.abspath(args.tokens),
        runs=args.runs if args.runs is None or "://" in args.runs else os.path.abspath(args.runs),
        lease=args.lease,
    )
    if args.workers == 1:
        uvicorn.run(build_app(config), host=args.host, port=args.port, log_level="info")
        return 0
    config.to_environment()  # each worker process builds its own app from it
    uvicorn.run(
        "agentkit.cli.serve_worker:app_from_environment",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level="info",
    )
    return 0


def _serve_durable(args: argparse.Namespace, uvicorn: Any) -> int:
    """The service with runs on Temporal: it keeps nothing of its own, so more capacity is
    more such processes behind one address (hence no --workers)."""
    try:
        from agentkit.temporal.service import create_durable_app
    except ImportError:
        from agentkit.errors import ConfigError

        raise ConfigError(
            "--engine temporal needs the [temporal] extra: pip install 'agentkit[temporal]'"
        ) from None
    from agentkit.serve import TokenAuthenticator, TokenStore

    if args.workers != 1:
        print("agentkit serve: --engine temporal runs one process; start more behind a "
              "balancer instead of --workers", file=sys.stderr)  # fmt: skip
        return 2
    app = create_durable_app(
        args.address,
        authenticator=TokenAuthenticator(TokenStore(args.tokens)),
        task_queue=args.task_queue,
        namespace=args.namespace,
        title=args.target.rpartition(":")[2],
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
