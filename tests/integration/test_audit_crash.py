"""Real processes: a writer killed mid-run, and a writer that runs out of file space."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.audit import AuditLog, JsonlSink, repair_file, verify_file

WRITER = """
import sys
from agentkit.audit import AuditLog, JsonlSink
log = AuditLog(JsonlSink(sys.argv[1]))
n = 0
while True:
    n += 1
    log.record("call.executed", {"run_id": "crash", "n": n, "pad": "x" * 300})
    if n == 200:
        print("ready", flush=True)
"""

LIMITED_WRITER = """
import resource, signal, sys
from agentkit.audit import AuditLog, JsonlSink
from agentkit.errors import AuditWriteFailed
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
log = AuditLog(JsonlSink(sys.argv[1]))
try:
    for n in range(10_000):
        log.record("call.executed", {"n": n, "pad": "y" * 333})
except AuditWriteFailed as exc:
    print(f"stopped at {n}: {exc}")
    sys.exit(3)
"""


def _environment() -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    return {**os.environ, "PYTHONPATH": str(root)}


def test_killed_writer_leaves_a_log_that_verifies_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    result = verify_file(path)
    if not result.ok:  # killed inside write(2): at most the last line is partial
        assert result.error is not None
        assert result.error.kind == "partial"
        repair_file(path)
    count = verify_file(path).records
    assert count >= 200
    with AuditLog(JsonlSink(path)) as log:
        log.record("run.resumed", {"run_id": "crash"})
    assert verify_file(path).records == count + 1


def test_writer_out_of_space_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", LIMITED_WRITER, str(path)],
        capture_output=True,
        text=True,
        env=_environment(),
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "cannot write audit log" in done.stdout
    stopped_at = int(done.stdout.split()[2].rstrip(":"))
    result = verify_file(path)
    # every record the writer was told succeeded is in the file; a short write may
    # leave a partial line after them, which verify names
    assert result.records == stopped_at
    assert result.ok or (result.error is not None and result.error.kind == "partial")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_read_only_file_is_refused(tmp_path: Path) -> None:
    from agentkit.errors import AuditWriteFailed

    path = tmp_path / "audit.jsonl"
    path.touch(mode=0o400)
    with pytest.raises(AuditWriteFailed, match="Permission denied"):
        JsonlSink(path)
