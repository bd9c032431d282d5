"""Write the trusted lists the example policies read, as a deployer's application would export them.

python -m tools.bench.agentdojo.export_lists

From each suite's default environment, before any run: the user's correspondents (workspace,
travel: the user's own address and every address the user has sent mail to, cc or bcc;
not AgentDojo's whole contact list, which holds every sender, phishers included) and the
chat workspace's directory (slack: its members and its channels). Nothing comes from a
tool's output during a run, and nothing from any injection task.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from examples.agentdojo.toolkit import BENCHMARK_VERSION, suite
from tools.bench.common import REPO

LISTS = REPO / "examples" / "agentdojo" / "lists"


def _environment(name: str) -> Any:
    return suite(name).load_and_inject_default_environment({})


def exported() -> dict[str, tuple[str, list[str]]]:
    """File name -> (what it holds, its values)."""
    workspace, travel, slack = (_environment(n) for n in ("workspace", "travel", "slack"))
    return {
        "workspace-correspondents.txt": (
            "the workspace user and everyone the user has sent mail to",
            correspondents(workspace.inbox),
        ),
        "travel-correspondents.txt": (
            "the travel user and everyone the user has sent mail to",
            correspondents(travel.inbox),
        ),
        "slack-members.txt": ("the chat workspace's members", list(slack.slack.users)),
        "slack-channels.txt": ("the chat workspace's channels", list(slack.slack.channels)),
    }


def correspondents(inbox: Any) -> list[str]:
    """The mailbox's own address, then every recipient of its sent mail, once each, in order."""
    found = [inbox.account_email]
    for email in inbox.sent:
        found += [a for a in (*email.recipients, *email.cc, *email.bcc) if a not in found]
    return found


def write(folder: Path = LISTS) -> list[Path]:
    """Write every list; return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file, (what, values) in exported().items():
        path = folder / file
        path.write_text(_text(what, values))
        written.append(path)
    return written


def _text(what: str, values: Iterable[str]) -> str:
    header = (
        f"# {what}, AgentDojo {BENCHMARK_VERSION}, exported before any run\n"
        "# (python -m tools.bench.agentdojo.export_lists)\n"
    )
    return header + "".join(f"{v}\n" for v in values)


if __name__ == "__main__":
    for path in write():
        print(f"wrote {path.relative_to(REPO)}")
