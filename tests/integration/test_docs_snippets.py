"""The programs the README and the docs mark as complete run as printed, from the wheel.

A fenced block preceded by an HTML comment ``<!-- docs-test: KIND ... -->`` on the line
right before it is tested (docs/contributing-docs.md describes the convention):

- ``program [stdin=TEXT]``: a ```` ```python ```` block that is a whole program. It runs
  with the wheel installed in a fresh virtualenv outside the repository, with no
  ``XAI_API_KEY`` (programs answer from the offline model), in a folder of its page's own;
  ``stdin`` is a line given on its standard input.
- ``output``: the block is what the program before it prints, exactly.
- ``file NAME``: the block is written to ``NAME`` in the page's folder before the page's
  programs run (a policy a program loads, say).

One wheel and one virtualenv serve the whole session; each page gets a new folder and its
programs run in the order of the page, sharing it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KINDS = ("program", "output", "file")
MARKER = re.compile(r"^<!--\s*docs-test:", re.M)
MARKED_BLOCK = re.compile(
    r"^<!--\s*docs-test:(?P<spec>[^\n]*?)-->\n"
    r"(?P<fence>`{3,})(?P<info>[^\n`]*)\n(?P<body>.*?\n)?(?P=fence)[ \t]*$",
    re.M | re.S,
)
PROGRAM_TIMEOUT = 120.0


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    kind: str
    info: str
    text: str
    options: dict[str, str] = field(default_factory=dict)
    name: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def marked_blocks(page: Path) -> list[Block]:
    """The page's marked blocks, in order; ValueError for a marker that marks nothing."""
    text = page.read_text(encoding="utf-8")
    found: list[Block] = []
    for match in MARKED_BLOCK.finditer(text):
        words = shlex.split(match["spec"])
        line = text.count("\n", 0, match.start()) + 1
        if not words or words[0] not in KINDS:
            raise ValueError(f"{page.name}:{line}: unknown docs-test marker {match['spec']!r}")
        options = dict(word.split("=", 1) for word in words[1:] if "=" in word)
        names = [word for word in words[1:] if "=" not in word]
        found.append(
            Block(
                page=page,
                line=line,
                kind=words[0],
                info=match["info"].strip(),
                text=match["body"] or "",
                options=options,
                name=names[0] if names else "",
            )
        )
    markers = len(MARKER.findall(text))
    if markers != len(found):
        raise ValueError(
            f"{page.name}: {markers - len(found)} docs-test marker(s) not on the line right "
            "before a fenced block"
        )
    return found


def check_page(blocks: list[Block]) -> list[str]:
    """What is wrong with a page's marked blocks (nothing, for a page that can run)."""
    problems = []
    previous: Block | None = None
    for block in blocks:
        if block.kind == "program" and block.info != "python":
            problems.append(f"{block.where}: a program is a ```python block")
        if block.kind == "program" and set(block.options) - {"stdin"}:
            problems.append(f"{block.where}: a program takes only stdin=TEXT")
        if block.kind == "output" and (previous is None or previous.kind != "program"):
            problems.append(f"{block.where}: an output block follows a program block")
        if block.kind == "file" and not block.name:
            problems.append(f"{block.where}: a file block names its file (file NAME)")
        previous = block
    return problems


def _has_programs(page: Path) -> bool:
    try:
        return any(block.kind == "program" for block in marked_blocks(page))
    except ValueError:
        return False  # test_markers_are_well_formed names it


PAGES_WITH_PROGRAMS = [page for page in pages() if _has_programs(page)]


def test_markers_are_well_formed() -> None:
    problems = []
    for page in pages():
        try:
            problems += check_page(marked_blocks(page))
        except ValueError as exc:
            problems.append(str(exc))
    assert problems == []


def test_the_front_door_pages_mark_programs() -> None:
    """The README's first example, and a policy and an approval example, are tested."""
    marked = {page.relative_to(REPO).as_posix() for page in PAGES_WITH_PROGRAMS}
    assert {
        "README.md",
        "docs/getting-started/first-agent.md",
        "docs/getting-started/first-policy.md",
        "docs/getting-started/first-approval.md",
    } <= marked
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    [first_example, *_] = re.findall(r"```python\n(.*?)```", readme, re.S)
    programs = [b.text for b in marked_blocks(REPO / "README.md") if b.kind == "program"]
    assert first_example in programs


# --- the programs, against the wheel ------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", PAGES_WITH_PROGRAMS, ids=[p.relative_to(REPO).as_posix() for p in PAGES_WITH_PROGRAMS]
)
def test_marked_programs_run_as_printed(
    page: Path, wheel_python: Path, wheel_env: dict[str, str], tmp_path: Path
) -> None:
    blocks = marked_blocks(page)
    for block in blocks:
        if block.kind == "file":
            target = tmp_path / block.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
    for index, block in enumerate(blocks):
        if block.kind != "program":
            continue
        script = tmp_path / f"program_line_{block.line}.py"
        script.write_text(block.text, encoding="utf-8")
        stdin = block.options.get("stdin")
        done = subprocess.run(
            [str(wheel_python), script.name],
            cwd=tmp_path,
            env=wheel_env,
            input=None if stdin is None else stdin + "\n",
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            text=True,
            timeout=PROGRAM_TIMEOUT,
        )
        assert done.returncode == 0, f"{block.where} exited {done.returncode}:\n{done.stderr}"
        shown = blocks[index + 1] if index + 1 < len(blocks) else None
        if shown is not None and shown.kind == "output":
            assert _lines(done.stdout) == _lines(shown.text), (
                f"{block.where} printed something else than {shown.where} shows"
            )
