"""The image build streams debootstrap's output as it comes, and a failure quotes its end."""

from __future__ import annotations

import pytest

from agentkit.errors import SandboxBuildError
from agentkit.sandbox.build import _run


class Heard:
    def __init__(self) -> None:
        self.stages: list[str] = []
        self.details: list[str] = []

    def stage(self, name: str) -> None:
        self.stages.append(name)

    def detail(self, line: str) -> None:
        self.details.append(line)


def test_each_output_line_is_a_detail_as_it_comes() -> None:
    heard = Heard()
    _run(["sh", "-c", "echo I: one; echo I: two >&2; echo; echo I: three"], heard)
    assert heard.details == ["$ sh -c echo I: one; echo I: two >&2; echo; echo I: three",
                             "I: one", "I: two", "I: three"]  # fmt: skip


def test_a_failure_quotes_the_last_lines() -> None:
    heard = Heard()
    script = "for i in 1 2 3 4 5 6 7; do echo line $i; done; exit 3"
    with pytest.raises(SandboxBuildError) as raised:
        _run(["sh", "-c", script], heard)
    message = str(raised.value)
    assert "failed (3)" in message
    assert "line 7" in message
    assert "line 2" not in message  # the tail, not the whole log
