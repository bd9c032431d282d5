"""Shared test settings. Helpers live in tests/support.py."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_real_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach api.x.ai: a real key in the environment is hidden from them."""
    monkeypatch.delenv("XAI_API_KEY", raising=False)
