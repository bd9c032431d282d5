"""Import time and resident memory of each framework, each in a fresh interpreter.

python -m tools.bench.imports [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

from tools.bench.common import REPO

TARGETS = {
    "agentkit": "import agentkit",
    "agentkit_agent": "from agentkit import Agent",
    "openai": "import openai",
    "openai_agents": "import agents",
    "pydantic_ai": "import pydantic_ai",
}
PROBE = """
import json, resource, time
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6
before = rss()
t = time.perf_counter()
{statement}
took = (time.perf_counter() - t) * 1000
print(json.dumps({{"import_ms": took, "rss_mb": rss(), "rss_before_mb": before}}))
"""


def probe(statement: str) -> dict[str, float]:
    """Import time and RSS after ``statement`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def measure_all(repeats: int) -> dict[str, Any]:
    """Medians over `repeats` fresh interpreters per target, targets interleaved."""
    raw: dict[str, list[dict[str, float]]] = {name: [] for name in TARGETS}
    for _ in range(repeats):
        for name, statement in TARGETS.items():
            raw[name].append(probe(statement))
    return {
        name: {
            "import_ms": statistics.median(r["import_ms"] for r in runs),
            "rss_mb": statistics.median(r["rss_mb"] for r in runs),
            "interpreter_rss_mb": statistics.median(r["rss_before_mb"] for r in runs),
            "repeats": len(runs),
        }
        for name, runs in raw.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(measure_all(args.repeats), indent=2))


if __name__ == "__main__":
    main()
