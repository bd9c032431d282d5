"""The README's first agent, from the wheel, through the CLI: pause, approve, resume, verify.

Exactly what a new user does in a fresh virtualenv outside the repository, offline: the
README's program saved as ``copilot.py`` beside its policy, ``agentkit run`` pausing on
the destructive call, ``agentkit approvals approve`` in another process, ``agentkit
resume`` completing the run in a third, and ``agentkit audit verify`` on the default log.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROMPT = "What is ticket 42 about? Close it if it is a duplicate."
PAUSED, DENIED = 10, 11
STAGES = {
    "run.started",
    "model.request",
    "model.response",
    "call.requested",
    "call.validated",
    "call.decided",
    "approval.requested",
    "run.paused",
    "approval.recorded",
    "approval.decided",
    "run.resumed",
    "call.executed",
    "run.ended",
}

pytestmark = pytest.mark.slow


def readme_files() -> dict[str, str]:
    """The README's first program (as copilot.py) and the policy file it loads."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    program = re.search(r"```python\n(# copilot\.py\n.*?)```", readme, re.S)
    policy = re.search(r"<!-- docs-test: file copilot\.yaml -->\n```yaml\n(.*?)```", readme, re.S)
    assert program, "the README lost its first program"
    assert policy, "the README lost the policy its first program loads"
    return {"copilot.py": program[1], "copilot.yaml": policy[1]}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in readme_files().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def agentkit(
    wheel_python: Path, env: dict[str, str], cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(wheel_python.parent / "agentkit"), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pause_approve_resume_and_verify(
    wheel_python: Path, wheel_env: dict[str, str], project: Path
) -> None:
    run = agentkit(
        wheel_python, wheel_env, project, "run", "copilot:OpsCopilot", PROMPT,
        "--user", "ana", "--role", "operator",
    )  # fmt: skip
    assert run.returncode == PAUSED, run.stdout + run.stderr
    approval_id = re.search(r"approvals approve (apr_\w+)", run.stdout)
    run_id = re.search(r"agentkit resume (\S+)", run.stdout)
    assert approval_id, run.stdout
    assert run_id, run.stdout
    assert "closed 42" not in run.stdout  # nothing of the destructive call ran

    shown = agentkit(wheel_python, wheel_env, project, "approvals", "show", approval_id[1])
    assert shown.returncode == 0, shown.stderr
    assert '"resolution": "duplicate of 41"' in shown.stdout
    assert "close_ticket" in shown.stdout

    own = agentkit(
        wheel_python, wheel_env, project, "approvals", "approve", approval_id[1], "--as", "ana"
    )
    assert own.returncode == 3, own.stdout + own.stderr  # ana may not approve her own call
    assert "may not approve their own call" in own.stderr

    decided = agentkit(
        wheel_python, wheel_env, project, "approvals", "approve", approval_id[1], "--as", "lee"
    )
    assert decided.returncode == 0, decided.stderr

    resumed = agentkit(wheel_python, wheel_env, project, "resume", run_id[1])
    assert resumed.returncode == DENIED, resumed.stdout + resumed.stderr  # page_oncall denied
    assert "output of close_ticket  closed 42" in resumed.stdout
    assert "Ticket 42 duplicated 41: closed." in resumed.stdout
    assert "status completed" in resumed.stdout

    log = project / ".agentkit" / "audit" / "audit.jsonl"
    verified = agentkit(wheel_python, wheel_env, project, "audit", "verify", str(log))
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.startswith("ok:"), verified.stdout
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    of_run = [r for r in records if r["fields"].get("run_id") == run_id[1]]
    assert {r["event"] for r in of_run} >= STAGES
    assert len(of_run) == len(records)  # one chain holds the three processes' records

    replayed = agentkit(wheel_python, wheel_env, project, "resume", run_id[1])
    assert replayed.returncode not in (0, DENIED, PAUSED), replayed.stdout
    assert "not resumed" in replayed.stderr
    assert replayed.stdout.count("closed 42") == 0  # the approved call never runs twice


def test_offline_whatever_the_key_holds(
    wheel_python: Path, wheel_env: dict[str, str], project: Path
) -> None:
    env = {**wheel_env, "XAI_API_KEY": "xai-not-a-real-key"}
    run = agentkit(
        wheel_python, env, project, "run", "copilot:OpsCopilot", PROMPT, "--offline",
        "--role", "operator",
    )  # fmt: skip
    assert run.returncode == PAUSED, run.stdout + run.stderr
    assert "XAI_API_KEY is set but not used" in run.stderr


def test_a_run_that_fails_prints_its_transcript_up_to_the_failure(
    wheel_python: Path, wheel_env: dict[str, str], project: Path
) -> None:
    script = project / "broken.yaml"
    script.write_text(  # the model answers with a call, then the script runs out
        "- calls: [{name: lookup_ticket, arguments: {ticket_id: 42}}]\n", encoding="utf-8"
    )
    run = agentkit(
        wheel_python, wheel_env, project, "run", "copilot:OpsCopilot", PROMPT,
        "--role", "operator", "--script", str(script),
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "output of lookup_ticket" in run.stdout  # the step before the failure
    assert "error " in run.stdout
    assert "status failed" in run.stdout
