"""Orphan detection, mirror discovery, the run_python tool's laziness, Execution flags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.errors import SandboxBuildError, SandboxOOM, SandboxTimeout, SandboxUnavailable
from agentkit.sandbox.build import debian_mirror
from agentkit.sandbox.execution import Execution, Sandbox
from agentkit.sandbox.pool import is_orphan, owner_id
from agentkit.testing import RecordingSandbox
from agentkit.tools.python import python_tool


def test_a_container_of_a_live_process_is_not_an_orphan() -> None:
    assert not is_orphan(owner_id())
    assert not is_orphan(owner_id(1))


def test_containers_of_dead_or_unknown_owners_are_orphans() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = owner_id(proc.pid)
    proc.wait()
    assert is_orphan(owner)
    assert is_orphan(None)
    assert is_orphan("garbage")
    host, boot, pid, _ = owner_id().split("/")
    assert is_orphan(f"{host}/{boot}/{pid}/1")  # same pid, another start time: pid reused


def test_another_machines_container_is_left_alone() -> None:
    assert not is_orphan("some-other-host/boot/1/1")


def test_mirror_comes_from_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
    )
    assert debian_mirror(str(tmp_path), str(tmp_path / "none")) == "http://mirror.example/debian"


def test_mirror_comes_from_one_line_sources(tmp_path: Path) -> None:
    listing = tmp_path / "sources.list"
    listing.write_text("# x\ndeb [arch=amd64] http://old.example/debian bookworm main\n")
    assert debian_mirror(str(tmp_path / "empty"), str(listing)) == "http://old.example/debian"


def test_no_bookworm_source_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxBuildError, match="bookworm"):
        debian_mirror(str(tmp_path), str(tmp_path / "none"))


def test_creating_the_tool_does_not_import_docker() -> None:
    code = (
        "import sys\nfrom agentkit.tools.python import python_tool\n"
        "python_tool(timeout=5)\nprint('docker' in sys.modules)"
    )
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "False", out.stderr


def test_without_docker_installed_the_sandbox_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentkit.sandbox.docker_sandbox import connect

    monkeypatch.setitem(sys.modules, "docker", None)
    with pytest.raises(SandboxUnavailable, match=r"pip install 'agentkit\[sandbox\]'"):
        connect()


async def test_the_tool_returns_output_code_and_flags_to_the_model() -> None:
    sandbox = RecordingSandbox(Execution("out", "err", None, timed_out=True))
    assert isinstance(sandbox, Sandbox)
    tool = python_tool(sandbox, timeout=3)
    assert tool.side_effect == "read"
    assert tool.parameters["required"] == ["code"]
    result = await tool.invoke(tool.validate({"code": "print(1)"}))
    assert sandbox.codes == ["print(1)"]
    assert not sandbox.closed, "a sandbox given to the tool is the caller's to close"
    assert result == {
        "stdout": "out",
        "stderr": "err",
        "exit_code": None,
        "timed_out": True,
        "oom_killed": False,
        "truncated": False,
    }


def test_raise_for_status_gives_typed_errors_with_the_execution() -> None:
    timed_out = Execution("", "", None, timed_out=True)
    with pytest.raises(SandboxTimeout) as caught:
        timed_out.raise_for_status()
    assert caught.value.execution is timed_out
    with pytest.raises(SandboxOOM):
        Execution("", "", 137, oom_killed=True).raise_for_status()
    fine = Execution("1\n", "", 0)
    assert fine.raise_for_status() is fine
    assert fine.ok
