"""Fixtures of the integration tests that need agentkit as a user gets it: from the wheel."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _source_tree(into: Path) -> Path:
    """A copy of the checkout's files (tracked and new, not ignored): a build of exactly the
    sources, never of a stale build/ folder or an installed copy."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return into


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"{shlex.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}")


@pytest.fixture(scope="session")
def wheel_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh virtualenv with the wheel of this checkout installed."""
    root = tmp_path_factory.mktemp("docs-wheel")
    started = time.monotonic()
    source = _source_tree(root / "src")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root), str(source)])
    [wheel] = root.glob("agentkit-*.whl")
    _run([sys.executable, "-m", "venv", str(root / "venv")])
    python = root / "venv" / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)])
    where = subprocess.run(
        [str(python), "-c", "import agentkit; print(agentkit.__file__)"],
        cwd=root,
        env=program_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(root / "venv"), where
    print(f"\nwheel and virtualenv ready in {time.monotonic() - started:.1f} s")
    return python


def program_env() -> dict[str, str]:
    """The environment without a key, a seal key or anything that would reach this checkout."""
    dropped = {"XAI_API_KEY", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith("AGENTKIT_")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture(scope="session")
def wheel_env() -> dict[str, str]:
    """The environment programs run with against the wheel (see `program_env`)."""
    return program_env()


@pytest.fixture(scope="session")
def serve_app() -> Any:
    """A function: `with serve_app(app) as base_url:` serves an ASGI app on a loopback port
    of its own with uvicorn, in a thread, for the block."""
    import threading
    from contextlib import contextmanager

    import uvicorn

    @contextmanager
    def served(app: Any) -> Iterator[str]:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(10)

    return served
