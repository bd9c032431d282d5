"""A fake xAI server in its own process that reports how many requests it answered.

The process prints its base URL, then answers one line on stdout for each ``count``
line on stdin (``{"responses": n, "chat": m, "total": t}``) and exits at end of input.
Requests are not kept (only counted), so long runs use constant memory.

    python -m tools.bench.server [--latency S] [--soak-rate R --seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from tools.bench.common import REPO, SERVER_CPU


def raise_open_files() -> None:
    """Lift the soft open-file limit to the hard one: 1,000 runs hold 1,000 sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class ServerHandle:
    """A running server process: its URL and a way to read its request counts."""

    base_url: str
    process: subprocess.Popen[str]

    def counts(self) -> dict[str, int]:
        """Requests answered so far, per model endpoint and in total."""
        stdin, stdout = self._pipes()
        stdin.write("count\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError("the fake xAI server process exited")
        counts: dict[str, int] = json.loads(line)
        return counts

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        return self.process.stdin, self.process.stdout


@contextmanager
def counted_server(
    *,
    latency: float = 0.0,
    cpu: int | None = SERVER_CPU,
    soak_rate: float | None = None,
    seed: int = 0,
) -> Iterator[ServerHandle]:
    """Start a fresh server process (pinned to ``cpu``) and yield its handle."""
    command = [sys.executable, "-m", "tools.bench.server", "--latency", str(latency)]
    if soak_rate is not None:
        command += ["--soak-rate", str(soak_rate), "--seed", str(seed)]
    if cpu is not None and shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", str(cpu), *command]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"fake xAI server did not start (printed {base_url!r})")
        yield ServerHandle(base_url, process)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _turns(args: argparse.Namespace) -> Any:
    if args.soak_rate is None:
        return None
    from tools.soak.script import SoakModel

    return SoakModel(rate=args.soak_rate, seed=args.seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--soak-rate", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    raise_open_files()
    from agentkit.testing import FakeXAI, serve_in_thread

    fake = FakeXAI(_turns(args), latency=args.latency, record=False)
    with serve_in_thread(fake) as server:
        print(server.base_url, flush=True)
        for line in sys.stdin:
            if line.strip() == "count":
                responses, chat = fake.count("/v1/responses"), fake.count("/v1/chat/completions")
                total = fake.count(None)
                print(
                    json.dumps({"responses": responses, "chat": chat, "total": total}), flush=True
                )


if __name__ == "__main__":
    main()
