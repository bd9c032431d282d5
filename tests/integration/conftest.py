"""Fixtures of the integration tests that need agentkit as a user gets it: from the wheel."""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

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


# --- a throwaway PostgreSQL server ------------------------------------------------------
# Initialised into a temporary directory, listening on a free loopback port with its unix
# socket in that directory too, stopped at the end of the session. As root it runs as the
# `postgres` OS user (the server refuses root).


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway server."""

    host: str
    port: int
    socket_dir: Path
    user: str

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"


def _pg_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for directory in candidates:
        if all(os.access(os.path.join(directory, b), os.X_OK) for b in ("initdb", "pg_ctl")):
            return Path(directory)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb and shutil.which("pg_ctl") else None


def _version_key(path: str) -> int:
    version = Path(path).parent.name
    return int(version) if version.isdigit() else 0


class Loopback:
    """Ports on loopback for servers a test starts as processes (the `loopback` fixture)."""

    @staticmethod
    def free_port() -> int:
        """A port nothing listens on now."""
        return _free_port()

    @staticmethod
    def wait(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
        """Return once `port` accepts connections; fail when `process` exits first, or at
        the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the server exited with {process.returncode} first")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise AssertionError(f"nothing listened on port {port} within {timeout} s")


@pytest.fixture(scope="session")
def loopback() -> Loopback:
    """Free ports, and waiting for a started server to listen on one."""
    return Loopback()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as(user: str | None, *argv: str) -> subprocess.CompletedProcess[str]:
    command = ["runuser", "-u", user, "--", *argv] if user else list(argv)
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _server_user(missing_service: Callable[[str], NoReturn]) -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        missing_service("running as root and there is no 'postgres' OS user to run the server")
    return "postgres"


@pytest.fixture(scope="session")
def postgres_server(missing_service: Callable[[str], NoReturn]) -> Iterator[PostgresServer]:
    """A PostgreSQL server of its own for the test session."""
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        missing_service("PostgreSQL server binaries (initdb, pg_ctl) not found")
    user = _server_user(missing_service)
    root = Path(tempfile.mkdtemp(prefix="agentkit-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if user:
        shutil.chown(root, user), shutil.chown(sockets, user)
    init = _run_as(user, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                   "-A", "trust", "-E", "UTF8", "--no-sync")  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stderr[-2000:]}")
    port = _free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = _run_as(user, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                    "-l", str(root / "server.log"), "-w", "-t", "60", "start")  # fmt: skip
    if start.returncode != 0:
        log = (root / "server.log").read_text(errors="replace")[-2000:]
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"postgres did not start: {start.stderr}\n{log}")
    try:
        yield PostgresServer("127.0.0.1", port, sockets, "postgres")
    finally:
        _run_as(user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def new_pg_database(postgres_server: PostgresServer) -> Callable[[str], str]:
    """Make an empty database on the session's server, named from `prefix`; its URL."""

    def create(prefix: str) -> str:
        import psycopg

        name = f"{prefix}_{os.urandom(4).hex()}"
        admin = (
            f"host={postgres_server.host} port={postgres_server.port} "
            f"user={postgres_server.user} dbname=postgres"
        )
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return postgres_server.url(name)

    return create
