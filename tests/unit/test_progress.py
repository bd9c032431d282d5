"""Progress of long operations: rich on a terminal, plain lines elsewhere, never raw text."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

import pytest

from agentkit.progress import progress


def test_off_a_terminal_each_stage_is_one_line() -> None:
    out = io.StringIO()
    with progress("building", total=2, stream=out) as report:
        report.stage("debootstrap")
        report.detail("I: Retrieving libc6")
        report.stage("import")
    lines = out.getvalue().splitlines()
    assert lines[0] == "building"
    assert lines[1].startswith("  [1] debootstrap (+")
    assert lines[2].startswith("  [2] import (+")
    assert lines[3].startswith("  done in ")
    assert "Retrieving" not in out.getvalue()  # details only when verbose


def test_verbose_keeps_the_details_escaped() -> None:
    out = io.StringIO()
    with progress("building", stream=out, verbose=True) as report:
        report.stage("step")
        report.detail("I: \x1b[2Jwiped")
    assert "\x1b" not in out.getvalue()
    assert "wiped" in out.getvalue()


PROGRAM = """
from agentkit.progress import progress
with progress("building", total=2) as report:
    report.stage("debootstrap")
    report.detail("I: Retrieving libc6")
    report.stage("importing")
"""


@pytest.mark.skipif(sys.platform != "linux", reason="a pseudo-terminal")
def test_on_a_terminal_rich_draws_the_stages() -> None:
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], stderr=follower, stdout=follower, env=env, timeout=60
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert done.returncode == 0
    text = shown.decode(errors="replace")
    assert "\x1b[" in text  # drawn in place, not printed line by line
    assert "building" in text
    assert "importing" in text
    assert "[1] debootstrap" not in text  # not the plain form
