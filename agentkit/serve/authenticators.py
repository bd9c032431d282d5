"""More ways to know the caller: OIDC/JWT bearer tokens, and a gateway in front.

Each is an `Authenticator`: the ``Authorization`` header in, a `Principal` out, or
`Unauthenticated` (the service answers 401 and does nothing else).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from agentkit.decision import Principal
from agentkit.errors import ConfigError
from agentkit.serve.tokens import Unauthenticated


class JWTAuthenticator:
    """OIDC access tokens: signature checked against the issuer's JWKS (fetched and cached
    by PyJWT), then issuer, audience and expiry; the principal comes from claims.

    Args:
        jwks_url: the issuer's JSON Web Key Set (``.../.well-known/jwks.json``).
        issuer: the ``iss`` every token must carry.
        audience: the ``aud`` every token must carry (this service).
        algorithms: accepted signature algorithms; never ``none`` or an HMAC one.
        user_claim, roles_claim, workspace_claim: where the principal is in the claims.
    """

    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = ("RS256", "ES256"),
        user_claim: str = "sub",
        roles_claim: str = "roles",
        workspace_claim: str | None = None,
        leeway: float = 30.0,
    ) -> None:
        import jwt

        unsafe = [a for a in algorithms if a.lower() == "none" or a.upper().startswith("HS")]
        if unsafe:
            raise ConfigError(f"refusing JWT algorithms {unsafe}: a public-key one is needed")
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)
        self._issuer, self._audience = issuer, audience
        self._algorithms = list(algorithms)
        self._claims = (user_claim, roles_claim, workspace_claim)
        self._leeway = leeway

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        import jwt

        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send Authorization: Bearer <token>")
        try:
            key = self._jwks.get_signing_key_from_jwt(token.strip())
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                key.key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"token refused: {type(exc).__name__}") from None
        return _principal(claims, *self._claims)


def _principal(
    claims: Mapping[str, Any], user_claim: str, roles_claim: str, workspace_claim: str | None
) -> Principal:
    user = claims.get(user_claim)
    if not isinstance(user, str) or not user:
        raise Unauthenticated(f"the token names no user ({user_claim})")
    roles = claims.get(roles_claim, [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated(f"the token's {roles_claim} is not a list of names")
    workspace = claims.get(workspace_claim) if workspace_claim else None
    if workspace is not None and not isinstance(workspace, str):
        raise Unauthenticated(f"the token's {workspace_claim} is not a name")
    return Principal(user_id=user, roles=tuple(roles), workspace=workspace)


class TrustedProxyAuthenticator:
    """Behind a gateway that authenticates people: it sends who they are in headers, and
    proves it is the gateway with a shared secret (compared in constant time).

    The headers go in as the request's, so the service must only be reachable through the
    gateway; the secret is what keeps a direct caller from naming anyone.
    """

    blocks = False
    """Answers from memory or a local file at once: called on the event loop."""

    def __init__(
        self,
        secret: str,
        *,
        secret_header: str = "x-agentkit-proxy-secret",
        user_header: str = "x-agentkit-user",
        roles_header: str = "x-agentkit-roles",
        workspace_header: str = "x-agentkit-workspace",
    ) -> None:
        if len(secret) < 32:
            raise ConfigError("a trusted-proxy secret needs at least 32 characters")
        self._secret = secret.encode()
        self._headers = (secret_header, user_header, roles_header, workspace_header)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        secret_h, user_h, roles_h, workspace_h = self._headers
        given = headers.get(secret_h, "").encode()
        if not hmac.compare_digest(given, self._secret):
            raise Unauthenticated("not from the trusted gateway")
        user = headers.get(user_h, "").strip()
        if not user:
            raise Unauthenticated(f"the gateway named no user ({user_h})")
        roles = tuple(r.strip() for r in headers.get(roles_h, "").split(",") if r.strip())
        return Principal(user_id=user, roles=roles, workspace=headers.get(workspace_h) or None)
