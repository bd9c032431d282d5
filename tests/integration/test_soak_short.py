"""The soak harness, short: agents under injected faults against the loopback fake server."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from agentkit.testing.soak import Ledger, check_audit, memory_verdict

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.usefixtures("docker_client")
def test_short_soak_with_faults_and_sandbox_passes_every_check() -> None:
    command = [sys.executable, "-m", "tools.soak", "--agents", "4", "--minutes", "0.5"]
    command += ["--fault-rate", "0.1", "--sandbox", "--seed", "7"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr[-3000:]
    assert "RESULT: PASS" in out
    assert "violations: 0" in out
    assert "containers left: 0" in out
    assert "as expected and verified: yes" in out
    runs = int(re.search(r"runs: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert runs > 100
    # the faults really happened: typed failures of several kinds, failed and timed-out tools
    failures = set(re.findall(r"failed: (\w+)", out))
    assert len(failures) >= 3, out
    assert failures <= {
        "ModelBehaviorError",
        "StreamInterrupted",
        "ServerError",
        "RateLimited",
        "ModelConnectionError",
        "TooManyToolErrors",
    }, out
    assert "lookup_ticket failed" in out
    assert "lookup_ticket timed_out" in out
    assert "run_python ok" in out


def _log_with_two_runs(path: Path) -> Ledger:
    from agentkit.audit import AuditLog, JsonlSink

    ledger = Ledger()
    with AuditLog(JsonlSink(path)) as log:
        for number in range(2):
            for event in ("run.started", "model.request", "model.response", "run.ended"):
                log.record(event, {"run_id": f"a0-{number}"})
            ledger.add(
                Counter({"run.started": 1, "model.request": 1, "model.response": 1, "run.ended": 1})
            )
    return ledger


def test_audit_check_accepts_the_exact_records(tmp_path: Path) -> None:
    path = tmp_path / "a0.jsonl"
    ledger = _log_with_two_runs(path)
    assert check_audit(path, ledger, "a0") == []


def test_audit_check_finds_a_missing_record_and_a_broken_chain(tmp_path: Path) -> None:
    path = tmp_path / "a0.jsonl"
    ledger = _log_with_two_runs(path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2] + lines[3:]))
    problems = check_audit(path, ledger, "a0")
    assert any("chain broken" in p for p in problems)
    assert any("event counts differ" in p for p in problems)
    assert any("run a0-0 has 3 records, not 4" in p for p in problems)


def test_memory_verdict_flags_growth_and_accepts_noise() -> None:
    flat = [(float(t), 50.0 + (t % 3)) for t in range(120)]
    growing = [(float(t), 50.0 + t) for t in range(120)]
    assert memory_verdict(flat, 30)[2]
    assert not memory_verdict(growing, 30)[2]
