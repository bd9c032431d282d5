"""Audit log throughput: records per second to a JSONL file, chained, one write per record.

Run: ``python -m tools.bench.audit_throughput [--records N] [--threads T]``
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from agentkit.audit import AuditLog, JsonlSink, verify_file
from agentkit.decision import Principal

PRINCIPAL = Principal(user_id="u-123", roles=("support",), workspace="acme")


def sample_fields(index: int) -> dict[str, Any]:
    """A call.requested-sized record with correlation fields and a planted secret."""
    return {
        "run_id": "run_0f3c9a",
        "turn": index % 12,
        "call_id": f"call_{index}",
        "request_id": "req_7d1e55aa",
        "principal": PRINCIPAL,
        "tool": "search_tickets",
        "arguments": {"query": "printer on floor 3 is offline", "limit": 20, "token": "s3cret"},
        "note": "Authorization: Bearer abcdefghijklmnop",
    }


def write_records(log: AuditLog, count: int, start: int = 0) -> None:
    """Record `count` events."""
    for index in range(start, start + count):
        log.record("call.requested", sample_fields(index))


def run(path: Path, records: int, threads: int, fsync: bool) -> float:
    """Write `records` records with `threads` writers; return records per second."""
    log = AuditLog(JsonlSink(path, fsync=fsync))
    share = records // threads
    workers = [
        threading.Thread(target=write_records, args=(log, share, n * share)) for n in range(threads)
    ]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    log.close()
    return share * threads / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fsync-records", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.jsonl"
        rate = run(path, args.records, args.threads, fsync=False)
        print(
            f"jsonl, chained, write per record: {rate:,.0f} records/s "
            f"({args.records:,} records, {args.threads} thread(s))"
        )
        began = time.perf_counter()
        result = verify_file(path)
        verify_rate = result.records / (time.perf_counter() - began)
        print(f"verify: {verify_rate:,.0f} records/s (ok={result.ok}, {result.records:,} records)")
        fsync_path = Path(folder) / "audit-fsync.jsonl"
        fsync_rate = run(fsync_path, args.fsync_records, 1, fsync=True)
        print(
            f"jsonl with fsync per record: {fsync_rate:,.0f} records/s "
            f"({args.fsync_records:,} records)"
        )


if __name__ == "__main__":
    main()
