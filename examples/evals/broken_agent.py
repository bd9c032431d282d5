"""A broken version of OpsCopilot, to see what a regression looks like in `agentkit eval`.

Its instructions were "simplified": they no longer tell the model to look tickets up, and
a model following them skims the ticket list instead. Offline, how a model behaves under
an agent version is that version's scripts: `eval_scripts` maps a case name to the turns
the model takes with this version (the harness prefers them to the case's own script).
Two cases change: the model lists tickets instead of looking ticket 42 up (the wrong
tool), and lists the closed tickets when asked for the open ones (a bad argument).

    agentkit eval examples/evals/ops_copilot.yaml --agent examples.ops_copilot.agent:OpsCopilot \\
        --compare examples.evals.broken_agent:BrokenOpsCopilot
"""

from __future__ import annotations

from typing import ClassVar

from agentkit.testing import Script, Turn
from examples.ops_copilot.agent import OpsCopilot


class BrokenOpsCopilot(OpsCopilot):
    """OpsCopilot with instructions that lost the "use the tools" part."""

    instructions = (
        "You are OpsCopilot. Answer quickly from the ticket list; closing a ticket needs a "
        "person's approval."
    )
    eval_scripts: ClassVar[dict[str, Script]] = {
        "looks-up-the-named-ticket": Script(
            [
                Turn.call("list_tickets", {"status": "open"}),
                Turn.text("Ticket 42 is a storage ticket about disk space."),
            ]
        ),
        "lists-open-tickets": Script(
            [
                Turn.call("list_tickets", {"status": "closed"}),
                Turn.text("One ticket: 45, the slow backup job."),
            ]
        ),
    }
