"""Run mutmut over the safety-critical modules and print the score and survivors per module.

python -m tools.mutation.run                 # a fresh run (removes mutants/ first)
python -m tools.mutation.run --survivors     # retest only the last run's survivors
python -m tools.mutation.run --report --diff # print the last results with each diff
python -m tools.mutation.run 'agentkit.pipeline.*'   # only the mutants these names match
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

MUTANTS = Path("mutants")
STATUS = {0: "survived", 1: "killed", 3: "killed", 33: "no tests", 5: "no tests", 36: "timeout"}
TIMEOUT_CODES = {-24, 24, 152, 255, -9}


def status_of(code: int | None) -> str:
    if code is None:
        return "not checked"
    if code in TIMEOUT_CODES:
        return "timeout"
    return STATUS.get(code, "suspicious")


def module_of(mutant: str) -> str:
    return mutant.split(".x", 1)[0].rsplit(".x\u01c1", 1)[0]


def load_results() -> dict[str, str]:
    results: dict[str, str] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        for mutant, code in data["exit_code_by_key"].items():
            results[mutant] = status_of(code)
    return results


def mutmut(*args: str) -> int:
    command = [str(Path(sys.executable).with_name("mutmut")), *args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.call(command, env=env)


def report(results: dict[str, str], *, diff: bool) -> int:
    """Print per-module counts and the survivors; return the number of survivors."""
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for mutant, status in results.items():
        module = module_of(mutant)
        by_module[module][status] += 1
        if status != "killed":
            survivors[module].append(mutant)
    print(f"\n{'module':40} {'killed':>7} {'survived':>9} {'other':>6} {'total':>6}")
    totals: Counter[str] = Counter()
    for module in sorted(by_module):
        counts = by_module[module]
        totals.update(counts)
        other = sum(counts.values()) - counts["killed"] - counts["survived"]
        row = f"{module:40} {counts['killed']:7} {counts['survived']:9} {other:6}"
        print(f"{row} {sum(counts.values()):6}")
    total = sum(totals.values())
    not_killed = total - totals["killed"]
    print(f"\nkilled {totals['killed']} of {total}; not killed {not_killed} ", end="")
    print(
        f"({100 * not_killed / max(total, 1):.1f}%): "
        + ", ".join(
            f"{status} {count}" for status, count in sorted(totals.items()) if status != "killed"
        )
    )
    for module in sorted(survivors):
        print(f"\n{module}:")
        for mutant in sorted(survivors[module], key=_natural):
            print(f"  {results[mutant]:12} {mutant}")
            if diff:
                sys.stdout.flush()
                mutmut("show", mutant)
    return not_killed


def _natural(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("_")
    return (stem, int(number) if number.isdigit() else 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="retest the last survivors")
    parser.add_argument("--report", action="store_true", help="only print the last results")
    parser.add_argument("--diff", action="store_true", help="show each survivor's diff")
    parser.add_argument("--max-children", default=str(os.cpu_count() or 2))
    parser.add_argument("patterns", nargs="*", help="mutant name globs (default: all)")
    args = parser.parse_args(argv)
    if not args.report:
        if args.survivors:
            names = [m for m, s in load_results().items() if s != "killed" and _wanted(m, args)]
            if names:
                mutmut("run", "--max-children", args.max_children, *names)
        else:
            shutil.rmtree(MUTANTS, ignore_errors=True)
            mutmut("run", "--max-children", args.max_children, *args.patterns)
    results = {m: s for m, s in load_results().items() if _wanted(m, args)}
    report(results, diff=args.diff)
    return 0


def _wanted(mutant: str, args: argparse.Namespace) -> bool:
    return not args.patterns or any(fnmatch.fnmatch(mutant, p) for p in args.patterns)


if __name__ == "__main__":
    sys.exit(main())
