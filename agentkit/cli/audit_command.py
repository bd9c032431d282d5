"""`agentkit audit`: verify a log's hash chain, print its head, move a partial last line aside."""

from __future__ import annotations

import argparse

from agentkit.errors import ConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` command group."""
    parser = subparsers.add_parser("audit", help="verify and inspect audit logs")
    commands = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")

    verify = commands.add_parser(
        "verify", help="check a log's hash chain; exit 0 when intact, 1 at the first break"
    )
    _add_target(verify)
    verify.add_argument(
        "--anchor", metavar="SEQ:HASH", help="a head kept elsewhere (detects a cut tail)"
    )
    verify.add_argument("--anchor-file", metavar="PATH", help="a file holding SEQ:HASH")
    verify.set_defaults(handler=verify_command)

    head = commands.add_parser("head", help="print the log's head as SEQ:HASH, to keep elsewhere")
    _add_target(head)
    head.set_defaults(handler=head_command)

    repair = commands.add_parser(
        "repair", help="move a partial last line (left by a crash) aside so the log can resume"
    )
    repair.add_argument("file", metavar="FILE", help="a JSONL audit log")
    repair.set_defaults(handler=repair_command)


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a JSONL audit log, or a database URL")
    parser.add_argument("--table", help="the audit table, when FILE is a database URL")


def verify_command(args: argparse.Namespace) -> int:
    """Print ``ok: N records`` and return 0, or name the first broken record and return 1."""
    from agentkit.audit import read_anchor_file, verify_target
    from agentkit.audit.records import Anchor

    if args.anchor and args.anchor_file:
        raise ConfigError("give --anchor or --anchor-file, not both")
    anchor = Anchor.parse(args.anchor) if args.anchor else None
    if args.anchor_file:
        anchor = read_anchor_file(args.anchor_file)
    result = verify_target(args.file, anchor=anchor, table=args.table)
    if result.error is None:
        anchored = f", anchored at seq {anchor.seq}" if anchor is not None else ""
        print(f"ok: {result.records} records{anchored}")
        return 0
    print(f"broken: {args.file}: {result.error}")
    return 1


def head_command(args: argparse.Namespace) -> int:
    """Print the head of an intact log; return 1 when it does not verify."""
    from agentkit.audit import verify_target

    result = verify_target(args.file, table=args.table)
    if result.error is not None:
        print(f"broken: {args.file}: {result.error}")
        return 1
    print(result.head)
    return 0


def repair_command(args: argparse.Namespace) -> int:
    """Move a crash-cut last line to ``FILE.partial-OFFSET``; no other byte changes."""
    from agentkit.audit.verify import repair_file

    moved = repair_file(args.file)
    print(f"moved the partial last line to {moved}" if moved else "nothing to repair")
    return 0
