"""`agentkit serve MODULE:Class` and `agentkit tokens create|revoke`: an agent over HTTP."""

from __future__ import annotations

import argparse
import sys

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
    serve.add_argument("--store", default=DEFAULT_STORE_PATH, help="approvals store (SQLite)")
    serve.add_argument("--tokens", default=DEFAULT_TOKENS, help="token store (SQLite)")
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
    from contextlib import ExitStack

    try:
        import uvicorn
    except ImportError:
        from agentkit.errors import ConfigError

        raise ConfigError(
            "agentkit serve needs the [serve] extra: pip install 'agentkit[serve]'"
        ) from None
    from agentkit.approval_store import ApprovalStore
    from agentkit.cli.launch import launch
    from agentkit.cli.saved_runs import SavedCommand
    from agentkit.serve import TokenAuthenticator, TokenStore, create_app

    offline = args.offline or not os.environ.get("XAI_API_KEY")
    command = SavedCommand(target=args.target, offline=offline, workdir=os.getcwd())
    store = ApprovalStore(args.store)
    with ExitStack() as stack:
        from agentkit.audit.default_log import default_audit_log

        launched = launch(
            command, stack, store=store, audit=default_audit_log(), notices=sys.stderr
        )
        app = create_app(
            launched.agent, store=store, authenticator=TokenAuthenticator(TokenStore(args.tokens))
        )
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
