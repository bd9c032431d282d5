"""`agentkit serve`: an agent behind HTTP, for copilots to embed (extra ``[serve]``).

`create_app` builds a FastAPI application: runs (start, get, list the caller's own),
their events as Server-Sent Events (resumable with ``Last-Event-ID``), approvals (what
the caller may decide, one with its exact arguments, approve or deny) and health. Every
endpoint needs a principal from the authenticator; every read and write is scoped to it.
"""

# Lazy: the authenticators and the token store serve `agentkit mcp serve` too, which
# needs neither FastAPI nor the rest of the service.
from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from agentkit.serve.app import create_app
    from agentkit.serve.authenticators import JWTAuthenticator, TrustedProxyAuthenticator
    from agentkit.serve.tokens import (
        Authenticator,
        TokenAuthenticator,
        TokenStore,
        Unauthenticated,
    )
    from agentkit.serve.user_limits import UserLimits

_EXPORTS = {
    "create_app": "agentkit.serve.app",
    "JWTAuthenticator": "agentkit.serve.authenticators",
    "TrustedProxyAuthenticator": "agentkit.serve.authenticators",
    "Authenticator": "agentkit.serve.tokens",
    "TokenAuthenticator": "agentkit.serve.tokens",
    "TokenStore": "agentkit.serve.tokens",
    "Unauthenticated": "agentkit.serve.tokens",
    "UserLimits": "agentkit.serve.user_limits",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "Authenticator",
    "JWTAuthenticator",
    "TokenAuthenticator",
    "TokenStore",
    "TrustedProxyAuthenticator",
    "Unauthenticated",
    "UserLimits",
    "create_app",
]
