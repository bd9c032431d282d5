"""`agentkit files ...` and `agentkit collections ...`: xAI's Files API and Collections
from the terminal. Keys come from the environment (``XAI_API_KEY``, and
``XAI_MANAGEMENT_KEY`` for collections) and are never printed."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from agentkit.progress import progress


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    files = subparsers.add_parser("files", help="xAI files: upload, list, get, delete, content")
    acts = files.add_subparsers(dest="action", required=True, metavar="ACTION")
    upload = acts.add_parser("upload", help="upload a file; prints its record")
    upload.add_argument("path")
    upload.add_argument("--expires-after", type=int, default=None, metavar="SECONDS")
    acts.add_parser("list", help="every file, newest first")
    for name in ("get", "delete", "content"):
        one = acts.add_parser(name, help=f"{name} one file")
        one.add_argument("file_id")
        if name == "content":
            one.add_argument("--text", action="store_true", help="the extracted text")
    for parser in acts.choices.values():
        parser.add_argument("--base-url", default=None, help="the xAI API's base URL")
    files.set_defaults(handler=_files)

    collections = subparsers.add_parser("collections", help="xAI collections and search")
    acts = collections.add_subparsers(dest="action", required=True, metavar="ACTION")
    acts.add_parser("create", help="create a collection").add_argument("name")
    acts.add_parser("list", help="every collection")
    acts.add_parser("delete", help="delete a collection").add_argument("collection_id")
    for name in ("add", "remove"):
        doc = acts.add_parser(name, help=f"{name} an uploaded file")
        doc.add_argument("collection_id")
        doc.add_argument("file_id")
    wait = acts.add_parser("wait", help="wait until files are indexed, with progress")
    wait.add_argument("collection_id")
    wait.add_argument("file_ids", nargs="+")
    wait.add_argument("--within", type=float, default=120.0, metavar="SECONDS")
    search = acts.add_parser("search", help="search collections")
    search.add_argument("query")
    search.add_argument("--collection", action="append", required=True, dest="collections")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--mode", choices=["hybrid", "semantic", "keyword"], default="hybrid")
    for parser in acts.choices.values():
        parser.add_argument("--base-url", default=None, help="the xAI API's base URL")
        parser.add_argument("--management-url", default=None, help="the management API's URL")
    collections.set_defaults(handler=_collections)


def _urls(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name, None)}


def _show(value: Any) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif isinstance(value, list):
        value = [_plain(v) for v in value]
    print(json.dumps(value, indent=2, default=str))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _files(args: argparse.Namespace) -> int:
    from agentkit.model.xai_files import FilesClient

    async def go() -> Any:
        async with FilesClient(**_urls(args, "base_url")) as files:
            if args.action == "upload":
                return await files.upload(args.path, expires_after=args.expires_after)
            if args.action == "list":
                return [f async for f in files.list_files()]
            if args.action == "get":
                return await files.get(args.file_id)
            if args.action == "delete":
                return {"id": args.file_id, "deleted": await files.delete(args.file_id)}
            sys.stdout.buffer.write(await files.content(args.file_id, text=args.text))
            return None

    shown = asyncio.run(go())
    if shown is not None:
        _show(shown)
    return 0


def _collections(args: argparse.Namespace) -> int:
    from agentkit.model.xai_files import CollectionsClient

    async def go() -> Any:
        urls = _urls(args, "base_url", "management_url")
        async with CollectionsClient(**urls) as collections:
            actions: dict[str, Callable[[], Awaitable[Any]]] = {
                "create": lambda: collections.create(args.name),
                "list": collections.list_collections,
                "delete": lambda: collections.delete(args.collection_id),
                "add": lambda: collections.add_document(args.collection_id, args.file_id),
                "remove": lambda: collections.remove_document(args.collection_id, args.file_id),
                "search": lambda: collections.search(
                    args.query, args.collections, limit=args.limit, mode=args.mode
                ),
            }
            if args.action != "wait":
                return await actions[args.action]()
            with progress("indexing", total=len(args.file_ids)) as report:
                await collections.wait_for_indexing(
                    args.collection_id, args.file_ids, within=args.within,
                    on_progress=lambda done, total: report.detail(f"{done}/{total} indexed"),
                )  # fmt: skip
            return {"collection_id": args.collection_id, "indexed": args.file_ids}

    shown = asyncio.run(go())
    _show(shown if shown is not None else {"ok": True})
    return 0
