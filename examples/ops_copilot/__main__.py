"""`make demo`: the ops copilot on one request, offline unless XAI_API_KEY is set.

Offline, the model is the project's fake xAI server on a loopback port, following a
script (examples/ops_copilot/script.py); every byte still goes over real HTTP in the xAI
wire format. The audit log is written to .agentkit/demo/audit.jsonl and verified at the end.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from agentkit import ApprovalStore, CallbackApprover, PendingApproval, Principal, print_transcript
from agentkit.audit import AuditLog, JsonlSink, verify_file
from agentkit.model import XAIClient
from agentkit.tools.python import close_python_tool
from examples.ops_copilot.agent import REPO, OpsCopilot
from examples.ops_copilot.script import PROMPT, SCRIPT
from examples.ops_copilot.tickets import create_database

DEMO_DIR = REPO / ".agentkit" / "demo"
APPROVER_NAME = "demo approver (scripted: approves closing ticket 43 only)"


def demo_approver(request: PendingApproval) -> bool:
    """Stands in for the on-call engineer: says yes to the one closure the prompt asked for."""
    approved = request.tool == "close_ticket" and request.arguments.get("ticket_id") == 43
    verdict = "APPROVED" if approved else "DECLINED"
    print(f"[{APPROVER_NAME}] {request.tool}({request.arguments}) -> {verdict}", file=sys.stderr)
    return approved


def build_agent(client: XAIClient, audit: AuditLog, db_path: Path) -> OpsCopilot:
    return OpsCopilot(
        client=client,
        db_path=db_path,
        approver=CallbackApprover(demo_approver, name=APPROVER_NAME),
        audit=audit,
        approvals=ApprovalStore(DEMO_DIR / "approvals.db"),
        principal=Principal(user_id="oncall-ana", roles=("operator",)),
    )


async def run_demo(client: XAIClient, mode: str) -> int:
    db_path = create_database(DEMO_DIR / "tickets.db")
    audit_path = DEMO_DIR / "audit.jsonl"
    audit_path.unlink(missing_ok=True)
    audit = AuditLog(JsonlSink(audit_path))
    agent = build_agent(client, audit, db_path)
    try:
        result = await agent.run(PROMPT)
    finally:
        await client.aclose()
        for tool in agent.tool_list:
            await close_python_tool(tool)
        audit.close()
    print_transcript(result, mode=mode)
    verdict = verify_file(audit_path)
    shown = audit_path.relative_to(REPO)
    state = f"ok: {verdict.records} records" if verdict.ok else f"BROKEN: {verdict.error}"
    print(f"audit log {shown}: {state}  (check it yourself: agentkit audit verify {shown})")
    return 0 if result.status == "completed" and verdict.ok else 1


def main() -> int:
    with ExitStack() as stack:
        if os.environ.get("XAI_API_KEY"):
            client, mode = XAIClient(), "ONLINE: api.x.ai"
        else:
            from agentkit.testing import FakeXAI, serve_in_thread

            server = stack.enter_context(serve_in_thread(FakeXAI(SCRIPT)))
            client = XAIClient(api_key="offline-demo", base_url=server.base_url)
            mode = f"OFFLINE: no XAI_API_KEY, scripted model on {server.base_url}"
            print(f"agentkit demo: {mode}", file=sys.stderr)
        return asyncio.run(run_demo(client, mode))


if __name__ == "__main__":
    raise SystemExit(main())
