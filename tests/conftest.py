"""Shared test settings and fixtures: no real API key, services that must be present."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest

MissingService = Callable[[str], NoReturn]


@pytest.fixture(autouse=True)
def _no_real_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach api.x.ai: a real key in the environment is hidden from them."""
    monkeypatch.delenv("XAI_API_KEY", raising=False)


@pytest.fixture(autouse=True)
def _no_ambient_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback tests talk to loopback: a developer's HTTPS_PROXY & co. would reroute them."""
    for name in list(os.environ):
        if name.lower() in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}:
            monkeypatch.delenv(name)


def _services_required() -> bool:
    """True under `make test` and CI, where every integration service must be present."""
    return os.environ.get("AGENTKIT_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


def _missing_service(reason: str) -> NoReturn:
    if _services_required():
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def missing_service() -> MissingService:
    """Call it with a reason to skip the test, or to fail it where services are required."""
    return _missing_service


@pytest.fixture(scope="module")
def docker_client(missing_service: MissingService) -> Iterator[Any]:
    """A docker-py client for sandbox tests, once the daemon and the image are there."""
    from agentkit.errors import SandboxError

    try:
        from agentkit.sandbox.build import image_state
        from agentkit.sandbox.docker_sandbox import connect

        client = connect()
    except SandboxError as exc:
        missing_service(f"Docker: {exc}")
    try:
        if image_state(client) == "missing":
            missing_service("the agentkit-sandbox image is not built (agentkit sandbox build)")
        yield client
    finally:
        client.close()


# one seal key for the whole suite and every process it starts (workers, CLI), so no test
# writes .agentkit/seal.key into the checkout; tests of the key file unset it themselves
os.environ.setdefault("AGENTKIT_SEAL_KEY", "5e" * 32)
# likewise the default audit log of agents given none goes to a folder of the suite's own
os.environ.setdefault("AGENTKIT_AUDIT_DIR", tempfile.mkdtemp(prefix="agentkit-test-audit-"))


@pytest.fixture(autouse=True)
def _fresh_process_state() -> None:
    """Each test starts as a fresh process would: no calls in the shared rate window, no used
    approvals in the shared ledger (they outlive a test otherwise, and a suite run twice in
    one process, as mutation testing does, would see the first run's calls)."""
    from agentkit.pipeline.authorise import PROCESS_RATE_WINDOW
    from agentkit.pipeline.confirm import PROCESS_LEDGER

    PROCESS_RATE_WINDOW.clear()
    PROCESS_LEDGER.clear()
