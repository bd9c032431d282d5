"""What the soak checks at the end: audit records, chains, containers, memory."""

from __future__ import annotations

from agentkit.testing.soak import EXECUTED, Ledger, check_audit, expected_events, memory_verdict

__all__ = [
    "EXECUTED",
    "Ledger",
    "check_audit",
    "expected_events",
    "leftover_containers",
    "memory_verdict",
]


def leftover_containers() -> list[str]:
    """Sandbox containers this process started that still exist."""
    from agentkit.sandbox.docker_sandbox import connect
    from agentkit.sandbox.hardening import LABEL, OWNER_LABEL
    from agentkit.sandbox.pool import owner_id

    client = connect()
    try:
        mine = f"{OWNER_LABEL}={owner_id()}"
        found = client.containers.list(all=True, filters={"label": [LABEL, mine]})
        return [c.short_id for c in found]
    finally:
        client.close()
