"""`agentkit approvals list|approve ID|deny ID`: decide paused calls from a shell."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from agentkit.approval_store import DEFAULT_STORE_PATH, ApprovalStore
from agentkit.canonical import canonical_json

DEFAULT_DECISIONS_LOG = ".agentkit/audit/approvals.jsonl"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("approvals", help="list and decide pending approvals")
    parser.add_argument("--store", default=DEFAULT_STORE_PATH, help="approval store (SQLite file)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="pending approvals")
    listing.add_argument("--all", action="store_true", help="decided ones too")
    listing.set_defaults(handler=_list)
    for name, approved in (("approve", True), ("deny", False)):
        action = actions.add_parser(name, help=f"{name} one pending call")
        action.add_argument("approval_id")
        action.add_argument(
            "--as", dest="approver", default=None, help="who decides (default: $USER)"
        )
        action.add_argument(
            "--audit",
            default=DEFAULT_DECISIONS_LOG,
            help=f"audit log (JSONL path or database URL) the decision is recorded in "
            f"(default: {DEFAULT_DECISIONS_LOG})",
        )
        action.set_defaults(handler=_decide, approved=approved)


def _list(args: argparse.Namespace) -> int:
    store = ApprovalStore(args.store)
    rows = store.approvals(None if args.all else "pending")
    if not rows:
        print("no pending approvals" if not args.all else "no approvals")
    for row in rows:
        p = row.pending
        print(
            f"{p.approval_id}  {row.verdict:<8} {row.agent} run {p.run_id[:12]}  "
            f"{p.tool}({canonical_json(p.arguments)})  [{p.rule}] {p.reason}"
        )
    return 0


def _decide(args: argparse.Namespace) -> int:
    from agentkit.audit import AuditLog, open_sink

    store = ApprovalStore(args.store)
    approver = args.approver or getpass.getuser()
    if "://" not in args.audit:
        Path(args.audit).parent.mkdir(parents=True, exist_ok=True)
    with AuditLog(open_sink(args.audit)) as audit:
        row = store.decide(args.approval_id, approved=args.approved, approver=approver, audit=audit)
    print(
        f"{row.pending.approval_id} {row.verdict} by {approver}: "
        f"{row.pending.tool}({canonical_json(row.pending.arguments)})"
    )
    return 0
