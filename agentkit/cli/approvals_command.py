"""`agentkit approvals list|show|approve|deny`: decide paused calls from a shell.

A decision is written to the audit log (the default log unless `--audit` names another)
before it is stored; `approve --resume` then continues the run it belongs to, as
`agentkit resume RUN_ID` would, once none of its calls is still undecided.
"""

from __future__ import annotations

import argparse
import getpass
import json
from contextlib import ExitStack

from agentkit.approval_store import DEFAULT_STORE_PATH, ApprovalStore, StoredApproval
from agentkit.canonical import canonical_json
from agentkit.cli.launch import open_audit
from agentkit.errors import ConfigError
from agentkit.terminal import printable


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("approvals", help="list, show and decide pending approvals")
    parser.add_argument("--store", default=DEFAULT_STORE_PATH, help="approval store (SQLite file)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="pending approvals")
    listing.add_argument("--all", action="store_true", help="decided ones too")
    listing.set_defaults(handler=_list)
    show = actions.add_parser("show", help="one approval: the exact call, its rule and reason")
    show.add_argument("approval_id")
    show.set_defaults(handler=_show)
    for name, approved in (("approve", True), ("deny", False)):
        action = actions.add_parser(name, help=f"{name} one pending call")
        action.add_argument("approval_id")
        action.add_argument(
            "--as", dest="approver", default=None, help="who decides (default: $USER)"
        )
        action.add_argument(
            "--approver-role",
            dest="approver_roles",
            action="append",
            default=[],
            help="a role of the person deciding, for a policy's approvers rule (repeatable)",
        )
        action.add_argument(
            "--audit",
            default=None,
            help="audit log (JSONL path or database URL) the decision is recorded in "
            "(default: the default log, .agentkit/audit/audit.jsonl or $AGENTKIT_AUDIT_DIR)",
        )
        action.add_argument(
            "--resume",
            action="store_true",
            help="then continue the run (as `agentkit resume RUN_ID`) if nothing else of it "
            "waits for a decision",
        )
        action.add_argument("--json", action="store_true", help="with --resume: print JSON")
        action.add_argument("--quiet", action="store_true", help="with --resume: no progress")
        action.set_defaults(handler=_decide, approved=approved)


def _list(args: argparse.Namespace) -> int:
    store = ApprovalStore(args.store)
    rows = store.approvals(None if args.all else "pending")
    if not rows:
        print("no pending approvals" if not args.all else "no approvals")
    for row in rows:
        p = row.pending
        print(
            printable(
                f"{p.approval_id}  {row.verdict:<8} {row.agent} run {p.run_id}  "
                f"{p.tool}({canonical_json(p.arguments)})  [{p.rule}] {p.reason}"
            )
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    store = ApprovalStore(args.store)
    row = _find(store, args.approval_id)
    p = row.pending
    decided = (
        f" by {', '.join(s.user_id for s in row.signers) or row.approver}" if row.approver else ""
    )
    sealed = next((q for q in store.load(p.run_id).pending if q.approval_id == p.approval_id), p)
    need = sealed.approvers
    who = "anyone" if need.roles is None else "the roles " + ", ".join(need.roles)
    own = "may" if need.self_approval else "may not"
    lines = [
        f"approval  {p.approval_id}  ({row.verdict}{decided})",
        f"run       {p.run_id}  ({row.agent})",
        f"tool      {p.tool}",
        f"rule      {p.rule}",
        f"reason    {p.reason}",
        f"sha256    {p.arguments_sha256}",
        f"deciders  {who}; {need.required} approval(s); the requester {own} approve ({need.rule})",
        "arguments",
        json.dumps(p.arguments, indent=2, ensure_ascii=False, sort_keys=True),
    ]
    print(printable("\n".join(lines)))
    return 0


def _decide(args: argparse.Namespace) -> int:
    store = ApprovalStore(args.store)
    approver = args.approver or getpass.getuser()
    with ExitStack() as stack:
        audit = open_audit(args.audit, stack)
        row = store.decide(
            args.approval_id,
            approved=args.approved,
            approver=approver,
            roles=args.approver_roles,
            audit=audit,
        )
    call = f"{row.pending.tool}({canonical_json(row.pending.arguments)})"
    if row.verdict == "pending":
        print(printable(f"{row.pending.approval_id} approved by {approver}: {call}; "
                        "it needs another approver"))  # fmt: skip
        return 10
    print(printable(f"{row.pending.approval_id} {row.verdict} by {approver}: {call}"))
    if not args.resume:
        return 0
    run_id = row.pending.run_id
    waiting = [a for a in store.approvals("pending") if a.pending.run_id == run_id]
    if waiting:
        ids = ", ".join(a.pending.approval_id for a in waiting)
        print(f"run {run_id} still waits for: {ids}; resume it once they are decided")
        return 10
    from agentkit.cli.resume_command import resume

    return resume(run_id, args)


def _find(store: ApprovalStore, approval_id: str) -> StoredApproval:
    for row in store.approvals(None):
        if row.pending.approval_id == approval_id:
            return row
    raise ConfigError(f"no approval {approval_id!r} in {store.path}")
