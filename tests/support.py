"""Helpers shared by tests (import as ``from tests.support import ...``)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def services_required() -> bool:
    """True under `make test` and CI, where every integration service must be present."""
    return os.environ.get("AGENTKIT_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


def missing_service(reason: str) -> NoReturn:
    """Skip the calling test, or fail it where services are required."""
    if services_required():
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)
