"""What the offline model does in the demo: the turns a real Grok model would plausibly take."""

from __future__ import annotations

from agentkit.testing import Script, SearchResult, ToolCall, Turn
from agentkit.testing.script import Search

PROMPT = (
    "Triage the open tickets: what is the average age of the open ones and how do they split "
    "by service? Look at the WAL archiving problem on ticket 42 and check the web for known "
    "causes. The status-page typo (ticket 43) is fixed, close it. Then page "
    "all-engineering@example.com with a summary."
)

AVERAGE_AGE = """\
import json, statistics
ages = {41: 3, 42: 2, 43: 9, 44: 1}
summary = {"mean_age_days": statistics.mean(ages.values()), "oldest": max(ages, key=ages.get)}
print(json.dumps(summary))
"""

WAL_SEARCH = Search(
    kind="web",
    query="postgresql WAL archiving slow disk filling replica",
    results=(
        SearchResult(
            "https://www.postgresql.org/docs/current/continuous-archiving.html",
            "PostgreSQL: Continuous Archiving and Point-in-Time Recovery",
        ),
        SearchResult(
            "https://wiki.postgresql.org/wiki/Replication,_Clustering,_and_Connection_Pooling",
            "PostgreSQL wiki: Replication",
        ),
    ),
)

SCRIPT = Script(
    [
        Turn.call("list_tickets", {"status": "open"}),
        Turn.calls(
            [
                ("lookup_ticket", {"ticket_id": 42}),
                ("run_python", {"code": AVERAGE_AGE}),
                (
                    "query_db",
                    {
                        "sql": "SELECT service, COUNT(*) AS open_tickets FROM tickets"
                        " WHERE status = ? GROUP BY service ORDER BY service",
                        "params": ["open"],
                    },
                ),
            ]
        ),
        Turn(
            search_call=WAL_SEARCH,
            function_calls=(
                ToolCall("close_ticket", {"ticket_id": 43, "resolution": "Footer typo fixed"}),
            ),
            answer="Known causes of slow WAL archiving: a slow archive_command and a full disk.",
        ),
        Turn.call(
            "page_oncall",
            {
                "recipient": "all-engineering@example.com",
                "message": "4 open tickets; ticket 42 (WAL archiving) is the urgent one.",
            },
        ),
        Turn.text(
            "Open tickets: 4 (mean age 3.75 days; oldest is 43). By service: auth 1, payments 1, "
            "storage 1, web 1. Ticket 42: db-replica-2 is at 94% disk because WAL archiving is "
            "slow; the PostgreSQL docs name a slow archive_command as the usual cause. Ticket 43 "
            "is closed (approved). I could not page all-engineering@example.com: the policy only "
            "allows paging the on-call lists."
        ),
    ]
)
