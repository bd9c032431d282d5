"""`agentkit db query URL SQL`: run a statement through the query_db tool and print JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from agentkit.errors import ConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", help="query a database the way the query_db tool does")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    query = actions.add_parser(
        "query",
        help="run one read-only statement and print the rows as JSON (refused: exit 3)",
    )
    query.add_argument("url", help="SQLAlchemy URL, e.g. sqlite:///shop.db or postgresql://...")
    query.add_argument("sql", help="one SELECT statement; ? placeholders take --params")
    query.add_argument(
        "--table",
        action="append",
        default=None,
        help="a table the statement may read (repeat; default: every table of the database)",
    )
    query.add_argument("--params", default="[]", help="a JSON list of values, e.g. '[7, \"x\"]'")
    query.add_argument("--max-rows", type=int, default=100)
    query.add_argument("--max-bytes", type=int, default=64_000)
    query.add_argument("--timeout", type=float, default=5.0, help="statement timeout (seconds)")
    query.set_defaults(handler=_query)


def _query(args: argparse.Namespace) -> int:
    from agentkit.tools.database import database_tools

    params = _params(args.params)
    tables = args.table if args.table is not None else _all_tables(args.url)
    tools = {
        t.name: t
        for t in database_tools(
            args.url,
            tables=tables,
            max_rows=args.max_rows,
            max_bytes=args.max_bytes,
            statement_timeout_s=args.timeout,
        )
    }
    tool = tools["query_db"]
    output = asyncio.run(tool.invoke(tool.validate({"sql": args.sql, "params": params})))
    content = dict(output.content)
    content["untrusted"] = bool(output.untrusted)
    json.dump(content, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def _params(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--params is not JSON: {exc}") from exc
    if not isinstance(value, list):
        raise ConfigError("--params must be a JSON list")
    return value


def _all_tables(url: str) -> list[str]:
    """Every table in the database's default schema: the person at the shell is trusted."""
    from agentkit.tools.database import Database

    with Database(url, tables=[]) as db:
        return db.database_tables()
