"""Helpers shared by tests (import as ``from tests.support import ...``)."""

from __future__ import annotations

import os
from typing import Any, NoReturn

import pytest


def services_required() -> bool:
    """True under `make test` and CI, where every integration service must be present."""
    return os.environ.get("AGENTKIT_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


def missing_service(reason: str) -> NoReturn:
    """Skip the calling test, or fail it where services are required."""
    if services_required():
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def sandbox_docker_client() -> Any:
    """A docker-py client for sandbox tests, once the daemon and the image are there."""
    from agentkit.errors import SandboxError

    try:
        from agentkit.sandbox.build import image_state
        from agentkit.sandbox.docker_sandbox import connect

        client = connect()
    except SandboxError as exc:
        missing_service(f"Docker: {exc}")
    if image_state(client) == "missing":
        client.close()
        missing_service("the agentkit-sandbox image is not built (agentkit sandbox build)")
    return client
