"""Shared pieces of the benchmarks: a fake xAI server in its own process, pinned to a CPU."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SERVER_CPU = 1
CLIENT_CPU = 0


def pin_to(cpu: int) -> None:
    """Pin this process to one CPU when the machine has more than one."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


@contextmanager
def fake_server(*, latency: float = 0.0, cpu: int = SERVER_CPU) -> Iterator[str]:
    """Run `agentkit fake-xai` in a subprocess (on `cpu`) and yield its base URL."""
    command = [
        sys.executable,
        "-m",
        "agentkit",
        "fake-xai",
        "--port",
        "0",
        "--latency",
        str(latency),
    ]
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", str(cpu), *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"fake xAI server did not start (printed {base_url!r})")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def summary(samples_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered),
        "p90_ms": ordered[int(0.9 * (len(ordered) - 1))],
        "p99_ms": ordered[int(0.99 * (len(ordered) - 1))],
    }


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def section_main(
    doc: str | None,
    quick_help: str,
    measure: Callable[[bool], dict[str, Any]],
    section: Callable[[dict[str, Any]], list[str]],
) -> None:
    """The command line of one benchmark section: measure (``--quick`` for fewer), print
    the results as JSON and the section's Markdown."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    data = measure(parser.parse_args().quick)
    print(json.dumps(data, indent=2))
    print("\n".join(section(data)))
