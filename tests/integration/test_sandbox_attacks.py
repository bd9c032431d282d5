"""Hostile programs against real containers: each is contained, typed, and leaves nothing behind."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import SandboxFileError
from agentkit.sandbox.config import make_config
from agentkit.sandbox.docker_sandbox import DockerSandbox
from agentkit.sandbox.execution import Execution
from agentkit.sandbox.hardening import OWNER_LABEL
from agentkit.sandbox.pool import owner_id

pytestmark = pytest.mark.docker


def ours(client: Any) -> list[Any]:
    """Labelled containers owned by this test process."""
    found = client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={owner_id()}"})
    return list(found)


@pytest.fixture
async def sandbox(docker_client: Any) -> AsyncIterator[DockerSandbox]:
    config = make_config(timeout=3, output_cap_bytes=64 << 10, max_input_bytes=1 << 20)
    box = DockerSandbox(docker_client, config, pool_size=1)
    await box.start()
    yield box
    await box.aclose()
    assert ours(docker_client) == [], "a sandbox container outlived its sandbox"


async def run(box: DockerSandbox, code: str, **kwargs: Any) -> Execution:
    return await box.execute(textwrap.dedent(code), **kwargs)


async def assert_still_serves(box: DockerSandbox) -> None:
    after = await box.execute("print('alive')")
    assert after.stdout == "alive\n"


async def test_fork_bomb_is_contained(sandbox: DockerSandbox) -> None:
    result = await run(
        sandbox, "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass\n"
    )
    assert result.timed_out
    await assert_still_serves(sandbox)


async def test_memory_bomb_is_killed_and_reported_as_oom(sandbox: DockerSandbox) -> None:
    result = await run(sandbox, "blocks = []\nwhile True: blocks.append(bytearray(16 << 20))\n")
    assert result.oom_killed
    assert result.exit_code == 137
    assert not result.timed_out


async def test_filling_the_tmpfs_stops_at_its_size(sandbox: DockerSandbox) -> None:
    result = await run(
        sandbox,
        """
        import errno
        chunk = b"x" * (1 << 20)
        try:
            for i in range(200):
                with open(f"fill{i}", "wb") as f:
                    f.write(chunk * 8)
        except OSError as exc:
            print(errno.errorcode[exc.errno], i)
        """,
    )
    code, files = result.stdout.split()
    assert code == "ENOSPC"
    assert int(files) * 8 <= 64


async def test_root_filesystem_is_read_only(sandbox: DockerSandbox) -> None:
    result = await run(
        sandbox,
        """
        import errno
        for path in ("/etc/evil", "/opt/agentkit/runner.py", "/usr/bin/python3", "/evil"):
            try:
                open(path, "ab").close()
                print(path, "WRITABLE")
            except OSError as exc:
                print(path, errno.errorcode[exc.errno])
        """,
    )
    assert "WRITABLE" not in result.stdout
    assert result.stdout.count("EROFS") + result.stdout.count("EACCES") == 4


async def test_no_network_egress(sandbox: DockerSandbox) -> None:
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    result = await run(
        sandbox,
        f"""
        import socket
        try:
            socket.getaddrinfo("deb.debian.org", 80)
            print("dns: RESOLVED")
        except OSError as exc:
            print("dns: failed", type(exc).__name__)
        for host in ("172.17.0.1", "127.0.0.1", "10.0.2.2"):
            try:
                socket.create_connection((host, {port}), timeout=0.5).close()
                print(host, "CONNECTED")
            except OSError as exc:
                print(host, "failed", type(exc).__name__)
        print(sorted(name for _, name in socket.if_nameindex()))
        """,
    )
    try:
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert "RESOLVED" not in result.stdout
    assert "CONNECTED" not in result.stdout
    assert result.stdout.strip().endswith("['lo']")


async def test_host_environment_is_not_visible(
    sandbox: DockerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XAI_API_KEY", "xai-test-secret-do-not-leak")
    result = await run(
        sandbox,
        """
        import os
        print(sorted(os.environ))
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    print(open(f"/proc/{pid}/environ", "rb").read())
                except OSError:
                    pass
        """,
    )
    assert result.exit_code == 0
    assert "xai-test-secret" not in result.stdout
    assert "XAI_API_KEY" not in result.stdout


async def test_host_files_and_docker_socket_are_not_reachable(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    marker = tmp_path / "host-marker"
    marker.write_text("host only")
    result = await run(
        sandbox,
        f"""
        import os
        for path in ({str(marker)!r}, {__file__!r}, "/var/run/docker.sock", "/run/docker.sock"):
            print(path, os.path.exists(path))
        """,
    )
    assert result.stdout.count(" False") == 4, result.stdout


async def test_endless_output_is_capped_and_killed(sandbox: DockerSandbox) -> None:
    result = await run(sandbox, "while True:\n    print('x' * 4096)\n")
    assert result.truncated
    assert not result.timed_out
    assert len(result.stdout) <= 64 << 10
    assert result.exit_code is None


async def test_endless_line_without_newline_is_capped(sandbox: DockerSandbox) -> None:
    result = await run(sandbox, "import sys\nwhile True:\n    sys.stderr.write('y' * 65536)\n")
    assert result.truncated
    assert len(result.stderr) == 64 << 10


@pytest.mark.parametrize(
    "code",
    [
        "import time\ntime.sleep(10**6)\n",
        "while True:\n    pass\n",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(10**6)\n",
    ],
    ids=["sleep", "busy", "sigterm-ignored"],
)
async def test_programs_that_never_end_are_killed_at_the_deadline(
    sandbox: DockerSandbox, code: str
) -> None:
    result = await sandbox.execute(code, timeout=1)
    assert result.timed_out
    assert result.exit_code is None
    assert 1 <= result.duration < 3
    await assert_still_serves(sandbox)


async def test_thousands_of_threads_hit_the_pids_limit(sandbox: DockerSandbox) -> None:
    result = await run(
        sandbox,
        """
        import threading, time
        started = 0
        try:
            for _ in range(5000):
                threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
                started += 1
        except RuntimeError:
            pass
        print(started)
        import os; os._exit(0)
        """,
    )
    assert int(result.stdout) < 64


async def test_no_privileges_to_gain(sandbox: DockerSandbox) -> None:
    result = await run(
        sandbox,
        """
        import os
        status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines())
        print("uid", os.getuid(), "caps", status["CapEff"].strip(), "nnp", status["NoNewPrivs"])
        for attempt in (lambda: os.setuid(0), lambda: os.chroot("/tmp"),
                        lambda: os.mknod("/tmp/dev", 0o600 | 0o020000, os.makedev(1, 3))):
            try:
                attempt()
                print("GAINED")
            except OSError as exc:
                print(type(exc).__name__)
        suid = [os.path.join(d, f) for d in ("/bin", "/usr/bin", "/sbin", "/usr/sbin")
                for f in os.listdir(d) if os.stat(os.path.join(d, f)).st_mode & 0o6000]
        print("setuid", suid)
        """,
    )
    assert "uid 65534 caps 0000000000000000 nnp 1" in result.stdout
    assert "GAINED" not in result.stdout
    assert "setuid []" in result.stdout


async def test_proc_and_sys_show_no_host_information(sandbox: DockerSandbox) -> None:
    result = await run(
        sandbox,
        """
        import os, socket
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        cmdlines = [open(f"/proc/{p}/cmdline", "rb").read() for p in pids]
        print(len(pids), socket.gethostname(), any(b"pytest" in c for c in cmdlines))
        for path in ("/proc/sys/kernel/hostname", "/sys/fs/cgroup/pids/pids.max"):
            try:
                open(path, "w").write("x")
                print("WROTE", path)
            except OSError:
                pass
        """,
    )
    count, hostname, sees_host = result.stdout.split()
    assert int(count) < 10
    assert hostname == "sandbox"
    assert sees_host == "False"
    assert "WROTE" not in result.stdout


async def test_symlink_and_dotdot_tricks_on_copy_out(sandbox: DockerSandbox) -> None:
    result = await run(
        sandbox,
        """
        import os
        os.symlink("/etc/passwd", "out.txt")
        os.symlink("/etc", "d")
        open("real.txt", "w").write("ok")
        """,
        fetch=["out.txt", "d/passwd", "real.txt"],
    )
    assert result.files == {"real.txt": b"ok"}
    assert set(result.file_errors) == {"out.txt", "d/passwd"}
    for name in ("../etc/passwd", "/etc/passwd"):
        with pytest.raises(SandboxFileError):
            await sandbox.execute("pass", fetch=[name])


async def test_input_files_arrive_and_a_huge_one_is_refused(sandbox: DockerSandbox) -> None:
    result = await sandbox.execute(
        "print(open('data/in.txt').read())", files={"data/in.txt": "hello"}
    )
    assert result.stdout == "hello\n"
    with pytest.raises(SandboxFileError, match="cap"):
        await sandbox.execute("pass", files={"big.bin": b"\0" * (2 << 20)})


async def test_killing_the_runner_is_a_typed_result(sandbox: DockerSandbox) -> None:
    result = await run(
        sandbox,
        "import os, signal\nprint('bye', flush=True)\nos.kill(os.getppid(), signal.SIGKILL)\n",
    )
    assert result.error is not None
    assert "runner" in result.error
    assert not result.ok
    await assert_still_serves(sandbox)


async def test_background_processes_do_not_outlive_the_program(sandbox: DockerSandbox) -> None:
    result = await run(
        sandbox,
        """
        import os, time
        if os.fork() == 0:
            time.sleep(0.5)
            open("late.txt", "w").write("should never exist")
            os._exit(0)
        print("parent done")
        """,
        fetch=["late.txt"],
    )
    assert result.exit_code == 0
    assert "late.txt" in result.file_errors
