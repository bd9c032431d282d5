"""Shared test settings.

Integration tests skip when their service is missing, except under `make test`
(AGENTKIT_REQUIRE_SERVICES=1) or CI, where a missing service is a failure: a skip
there would hide a broken install step.
"""

from __future__ import annotations

import os

import pytest


def services_required() -> bool:
    return os.environ.get("AGENTKIT_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


def missing_service(reason: str) -> None:
    """Skip the calling test, or fail it where services are required."""
    if services_required():
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _no_real_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach api.x.ai: a real key in the environment is hidden from them."""
    monkeypatch.delenv("XAI_API_KEY", raising=False)
