"""Serve the ops copilot on loopback with two people's tokens, and say how to use them.

    python -m examples.copilot_service [--port 8000]

Offline (the scripted model) unless XAI_API_KEY is set. Tokens are made fresh in
.agentkit/serve/ on each start: `ana` asks, `lee` (a lead) may approve her calls.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from agentkit.approval_store import ApprovalStore
from agentkit.audit.default_log import default_audit_log
from agentkit.cli.launch import launch
from agentkit.cli.saved_runs import SavedCommand
from agentkit.serve import TokenAuthenticator, TokenStore, create_app

STATE = Path(".agentkit") / "serve"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    import uvicorn

    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "tokens.db").unlink(missing_ok=True)
    tokens = TokenStore(STATE / "tokens.db")
    ana = tokens.create("ana", ("operator",))
    lee = tokens.create("lee", ("operator",))
    base = f"http://127.0.0.1:{args.port}"
    print(
        f"""ops copilot on {base} ({"online" if os.environ.get("XAI_API_KEY") else "offline"})
  export ANA={ana}
  export LEE={lee}
  curl -s -X POST -H "Authorization: Bearer $ANA" -H 'content-type: application/json' \\
       -d '{{"prompt": "Close ticket 7, it duplicates 6."}}' {base}/v1/runs
  curl -sN -H "Authorization: Bearer $ANA" {base}/v1/runs/RUN_ID/events
  curl -s -H "Authorization: Bearer $LEE" {base}/v1/approvals
  curl -s -X POST -H "Authorization: Bearer $LEE" -H 'content-type: application/json' \\
       -d '{{"approved": true}}' {base}/v1/approvals/APPROVAL_ID""",
        flush=True,
    )
    command = SavedCommand(
        target="examples.ops_copilot.agent:OpsCopilot",
        offline=not os.environ.get("XAI_API_KEY"),
        workdir=os.getcwd(),
    )
    store = ApprovalStore(STATE / "approvals.db")
    with ExitStack() as stack:
        launched = launch(
            command, stack, store=store, audit=default_audit_log(), notices=sys.stderr
        )
        app = create_app(launched.agent, store=store, authenticator=TokenAuthenticator(tokens))
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
