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


def run(path: Path, records: int, threads: int, fsync: bool) -> tuple[float, float]:
    """Write `records` records with `threads` writers.

    Returns:
        (records per wall-clock second, records per CPU second of this process); the
        second is steadier on a shared machine.
    """
    log = AuditLog(JsonlSink(path, fsync=fsync))
    share = records // threads
    workers = [
        threading.Thread(target=write_records, args=(log, share, n * share)) for n in range(threads)
    ]
    began, began_cpu = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    log.close()
    return share * threads / elapsed, share * threads / cpu


def best_of(
    repeats: int, folder: Path, records: int, threads: int, fsync: bool
) -> tuple[float, float]:
    """The best of `repeats` runs, each to a fresh file."""
    rates = [
        run(folder / f"audit-{fsync}-{n}.jsonl", records, threads, fsync) for n in range(repeats)
    ]
    return max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fsync-records", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        wall, cpu = best_of(args.repeats, folder, args.records, args.threads, fsync=False)
        print(
            f"jsonl, chained, write per record: {wall:,.0f} records/s "
            f"({cpu:,.0f} per CPU second; {args.records:,} records, {args.threads} thread(s), "
            f"best of {args.repeats})"
        )
        began = time.perf_counter()
        result = verify_file(folder / "audit-False-0.jsonl")
        verify_rate = result.records / (time.perf_counter() - began)
        print(f"verify: {verify_rate:,.0f} records/s (ok={result.ok}, {result.records:,} records)")
        wall, _ = run(folder / "audit-fsync.jsonl", args.fsync_records, 1, fsync=True)
        print(
            f"jsonl with fsync per record: {wall:,.0f} records/s ({args.fsync_records:,} records)"
        )


if __name__ == "__main__":
    main()
