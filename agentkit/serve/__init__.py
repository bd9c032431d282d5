"""`agentkit serve`: an agent behind HTTP, for copilots to embed (extra ``[serve]``).

`create_app` builds a FastAPI application: runs (start, get, list the caller's own),
their events as Server-Sent Events (resumable with ``Last-Event-ID``), approvals (what
the caller may decide, one with its exact arguments, approve or deny) and health. Every
endpoint needs a principal from the authenticator; every read and write is scoped to it.
"""

from agentkit.serve.app import create_app
from agentkit.serve.authenticators import JWTAuthenticator, TrustedProxyAuthenticator
from agentkit.serve.tokens import Authenticator, TokenAuthenticator, TokenStore, Unauthenticated
from agentkit.serve.user_limits import UserLimits

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
