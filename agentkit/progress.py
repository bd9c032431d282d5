"""Progress of long operations (the sandbox image build, the benchmarks): live on a
terminal with rich, plain lines otherwise (CI logs, pipes).

```python
with progress("building the sandbox image", total=3) as report:
    report.stage("debootstrap")        # a new stage: advances the bar by one
    report.detail("I: Retrieving libc6")  # the current line under it
```

On a terminal, rich draws a spinner, the stage, a bar over `total` stages, the elapsed time
and the latest detail line, redrawn in place. Elsewhere each stage is one line with the
seconds since the start, and details are dropped unless `verbose`: a CI log shows what
ran and how long it took, not every package debootstrap fetched.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TextIO

from agentkit.terminal import printable

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class Reporter(Protocol):
    """What a long operation tells its watcher."""

    def stage(self, name: str) -> None:
        """A new stage begins (the previous one is done)."""
        ...

    def detail(self, line: str) -> None:
        """A line of what the current stage is doing."""
        ...


class PlainReporter:
    """One line per stage, with the seconds since the start; details only when verbose."""

    def __init__(self, title: str, stream: TextIO, *, verbose: bool = False) -> None:
        self._stream = stream
        self._verbose = verbose
        self._started = time.monotonic()
        self._stages = 0
        self._write(f"{title}")

    def stage(self, name: str) -> None:
        self._stages += 1
        elapsed = time.monotonic() - self._started
        self._write(f"  [{self._stages}] {name} (+{elapsed:.0f} s)")

    def detail(self, line: str) -> None:
        if self._verbose:
            self._write(f"      {line}")

    def finish(self) -> None:
        self._write(f"  done in {time.monotonic() - self._started:.0f} s")

    def _write(self, text: str) -> None:
        self._stream.write(printable(text) + "\n")
        self._stream.flush()


class RichReporter:
    """A live rich display: spinner, stage, a bar over the stages, elapsed, latest detail."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self._bar = bar
        self._task = task
        self._stages = 0

    def stage(self, name: str) -> None:
        if self._stages:
            self._bar.advance(self._task)
        self._stages += 1
        self._bar.update(self._task, stage=printable(name), detail="")

    def detail(self, line: str) -> None:
        self._bar.update(self._task, detail=printable(line, one_line=True)[:100])


@contextmanager
def progress(
    title: str, *, total: int | None = None, stream: TextIO | None = None, verbose: bool = False
) -> Iterator[Reporter]:
    """Report a long operation's stages to `stream` (stderr by default)."""
    out = stream or sys.stderr
    if not _live(out):
        plain = PlainReporter(title, out, verbose=verbose)
        yield plain
        plain.finish()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}[/] {task.fields[stage]}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[detail]}"),
        console=Console(file=out),
        transient=False,
    )
    with bar:
        task = bar.add_task(printable(title), total=total, stage="", detail="")
        yield RichReporter(bar, task)
        bar.update(task, completed=total, detail="done")


def _live(stream: TextIO) -> bool:
    """A terminal that can redraw in place (not a pipe, not TERM=dumb, rich installed)."""
    import os

    if not stream.isatty() or os.environ.get("TERM") == "dumb":
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True
