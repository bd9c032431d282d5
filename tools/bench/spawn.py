"""Run a benchmark module as a child process and read the JSON it prints last."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from tools.bench.common import REPO


def child_json(module: str, arguments: list[str], *, timeout: float = 600) -> Any:
    """Run ``python -m module --child arguments`` and parse its last stdout line as JSON."""
    import json

    done = subprocess.run(
        [sys.executable, "-m", module, "--child", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{module} {' '.join(arguments)} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])
