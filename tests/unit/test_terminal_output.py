"""Nothing a model, a tool or a stored run wrote can steer the operator's terminal."""

from __future__ import annotations

import asyncio
import io
import re
import sqlite3
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import PendingApproval, Principal, RunResult, Step, TerminalApprover
from agentkit.approval_store import ApprovalStore
from agentkit.cli import main
from agentkit.decision import Decision
from agentkit.pipeline.confirm import pending_approval
from agentkit.terminal import PrintableStream, printable
from agentkit.transcript import Transcript, print_transcript

OBEYED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
HOSTILE = [
    "\x1b[2A\x1b[2Kdeny",  # cursor up, erase line
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",  # OSC 52: write the clipboard
    "\x9b31m",  # C1 CSI
    "abc\u202edcba",  # right-to-left override
    "hid\u200bden\u2066x\u2069",  # zero-width and bidi isolates
    "line\u2028break\rover",  # line separator and carriage return
]
texts = st.text() | st.sampled_from(HOSTILE)


def obeyed(text: str) -> list[str]:
    """Characters a terminal would act on or hide (newline and tab are text)."""
    return [c for c in text if c not in "\n\t" and unicodedata.category(c) in OBEYED]


@given(texts)
def test_printable_leaves_nothing_a_terminal_obeys(text: str) -> None:
    shown = printable(text)
    assert obeyed(shown) == []
    if not obeyed(text):
        assert shown == text


def hostile_run(text: str) -> RunResult:
    step = Step(
        call_id=text,
        tool=text,
        turn=1,
        raw_arguments=text,
        arguments={text: text},
        status="ok",
        decision=Decision(action="allow", reason=text, rule=text),
        output=text,
        approver=text,
        metadata={
            "media": [
                {
                    "media_type": text,
                    "location": text,
                    "sha256": text,
                    "provenance": {"label": text, "model": text},
                },
                text,
            ]
        },
    )
    run_id = text or "r"
    pending = pending_approval(run_id, text, text, {"x": text}, reason=text, rule=text, now=0.0)
    return RunResult(
        run_id=run_id,
        agent=text,
        model=text,
        principal=Principal(),
        output=text,
        steps=[step, step.model_copy(update={"arguments": None})],
        pending=[pending],
        citations=[text],
        user_messages=[text],
        error={"type": text, "message": text},
    )


@given(texts)
def test_a_transcript_shows_every_value_and_writes_only_its_own_styles(text: str) -> None:
    run = hostile_run(text)
    assert obeyed(Transcript(colour=False).render(run)) == []
    coloured = Transcript(colour=True).render(run)
    assert obeyed(re.sub(r"\x1b\[(?:0|1|2|3[1-6])m", "", coloured)) == []


@pytest.mark.parametrize("text", HOSTILE)
def test_print_transcript_through_the_cli_stream_keeps_only_its_own_codes(text: str) -> None:
    target = io.StringIO()
    print_transcript(hostile_run(text), stream=PrintableStream(target))
    assert obeyed(target.getvalue()) == []


@pytest.mark.parametrize("text", HOSTILE)
def test_the_terminal_approver_shows_the_call_without_obeying_it(text: str) -> None:
    out = io.StringIO()
    approver = TerminalApprover(stream_in=io.StringIO("n\n"), stream_out=out)
    request: PendingApproval = pending_approval(
        "r", "c", text or "t", {"to": text}, reason=text, rule=text, now=0.0
    )
    assert asyncio.run(approver(request)) is False
    assert obeyed(out.getvalue()) == []
    assert "Approval needed" in out.getvalue()


@pytest.mark.parametrize("text", HOSTILE)
def test_approvals_list_shows_stored_calls_without_obeying_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    store = tmp_path / "approvals.db"
    run = hostile_run(text).model_copy(update={"status": "awaiting_approval", "error": None})
    ApprovalStore(store).save(run)
    assert main(["approvals", "--store", str(store), "list"]) == 0
    out = capsys.readouterr().out
    assert obeyed(out) == []
    assert run.pending[0].approval_id in out


@pytest.mark.parametrize("text", HOSTILE)
def test_cli_output_and_errors_show_hostile_text_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\n")
    assert main(["policy", "explain", str(policy), "--tool", text]) == 3  # not granted: deny
    missing = tmp_path / f"missing{text}.yaml"
    assert main(["policy", "explain", str(missing), "--tool", "t"]) == 2
    captured = capsys.readouterr()
    assert obeyed(captured.out) == []
    assert obeyed(captured.err) == []
    assert "\\" in captured.out  # the tool name is shown, spelled as escapes


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts)
def test_db_query_rows_are_shown_without_being_obeyed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "rows.db"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (id INTEGER, body TEXT)")
        db.execute("INSERT INTO notes VALUES (1, ?)", (text,))
    capsys.readouterr()
    assert main(["db", "query", f"sqlite:///{path}", "SELECT body FROM notes"]) == 0
    captured = capsys.readouterr()
    assert obeyed(captured.out) == []
    assert obeyed(captured.err) == []


class HostileSandbox:
    """Stands in for Docker: the CLI's printing of a program's output is under test here."""

    text = ""

    def __init__(self, **_: object) -> None: ...

    async def __aenter__(self) -> HostileSandbox:
        return self

    async def __aexit__(self, *_: object) -> None: ...

    async def execute(self, code: str) -> object:
        from types import SimpleNamespace

        return SimpleNamespace(
            stdout=f"out {self.text}\n",
            stderr=f"err {self.text}\n",
            truncated=False,
            timed_out=False,
            oom_killed=False,
            error=f"failed {self.text}",
            exit_code=1,
        )


@pytest.mark.parametrize("text", HOSTILE)
def test_sandbox_output_and_errors_are_shown_without_being_obeyed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    import agentkit.sandbox.docker_sandbox as docker_sandbox

    monkeypatch.setattr(HostileSandbox, "text", text)
    monkeypatch.setattr(docker_sandbox, "DockerSandbox", HostileSandbox)
    assert main(["sandbox", "run", "-c", "print(1)"]) == 1
    captured = capsys.readouterr()
    assert "err" in captured.err
    assert obeyed(captured.out) == []
    assert obeyed(captured.err) == []


@pytest.mark.parametrize("text", HOSTILE)
def test_usage_errors_show_the_argument_without_obeying_it(
    capsys: pytest.CaptureFixture[str], text: str
) -> None:
    with pytest.raises(SystemExit):
        main([f"run{text}"])
    assert obeyed(capsys.readouterr().err) == []


@pytest.mark.parametrize("text", HOSTILE)
def test_a_bug_s_traceback_is_shown_without_being_obeyed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
) -> None:
    import agentkit.sandbox.docker_sandbox as docker_sandbox

    class Broken(HostileSandbox):
        async def execute(self, code: str) -> object:
            raise RuntimeError(f"bug {text}")

    monkeypatch.setattr(docker_sandbox, "DockerSandbox", Broken)
    assert main(["sandbox", "run", "-c", "print(1)"]) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: bug" in err
    assert obeyed(err) == []
