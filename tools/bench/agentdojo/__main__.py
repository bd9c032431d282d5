"""Replay AgentDojo's ground truth through agentkit and print the table.

python -m tools.bench.agentdojo [--suite NAME]... [--policy SUITE=FILE]...
                                [--user-tasks N] [--injection-tasks N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from examples.agentdojo.toolkit import SUITES
from tools.bench.agentdojo.measure import measure
from tools.bench.agentdojo.table import table, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", action="append", choices=SUITES, help="default: all four")
    parser.add_argument(
        "--policy", action="append", default=[], metavar="SUITE=FILE", help="swap a policy"
    )
    parser.add_argument("--user-tasks", type=int, help="only the first N user tasks")
    parser.add_argument("--injection-tasks", type=int, help="only the first N injection tasks")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    policies = {}
    for entry in args.policy:
        name, _, file = entry.partition("=")
        if name not in SUITES or not file:
            parser.error(f"--policy wants SUITE=FILE with a suite of {', '.join(SUITES)}")
        policies[name] = Path(file)
    data = measure(
        args.suite or SUITES,
        policies,
        user_tasks=args.user_tasks,
        injection_tasks=args.injection_tasks,
    )
    print("policies: " + ", ".join(f"{k}={v}" for k, v in data["policies"].items()))
    print("\n".join(table(data)))
    print("\n".join(verdicts(data)))
    print(f"replayed in {data['seconds']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
