"""OIDC/JWT bearer tokens against a JWKS served on loopback, and the trusted-gateway mode."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from agentkit.errors import ConfigError
from agentkit.serve.authenticators import JWTAuthenticator, TrustedProxyAuthenticator
from agentkit.serve.tokens import Unauthenticated

ISSUER, AUDIENCE = "https://login.example.test", "agentkit"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    public = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class JWKS(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JWKS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()


def token(key: Any = KEY, alg: str = "RS256", kid: str = "k1", **claims: Any) -> str:
    base = {"sub": "ana", "roles": ["treasurer"], "iss": ISSUER, "aud": AUDIENCE,
            "exp": int(time.time()) + 600, "org": "acme"}  # fmt: skip
    return jwt.encode({**base, **claims}, key, algorithm=alg, headers={"kid": kid})


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}"}


def test_a_valid_token_names_the_principal(jwks_url: str) -> None:
    auth = JWTAuthenticator(jwks_url, issuer=ISSUER, audience=AUDIENCE, workspace_claim="org")
    who = auth.authenticate(bearer(token()))
    assert (who.user_id, who.roles, who.workspace) == ("ana", ("treasurer",), "acme")


@pytest.mark.parametrize(
    "bad",
    [
        lambda: token(iss="https://evil.test"),
        lambda: token(aud="someone-else"),
        lambda: token(exp=int(time.time()) - 3600),
        lambda: token(key=OTHER),  # signed by a key the issuer does not publish
        lambda: token(kid="nope"),
        lambda: jwt.encode(
            {"sub": "ana", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60},
            None,
            algorithm="none",
        ),
        lambda: token(sub=""),
        lambda: token(roles="treasurer"),  # not a list
        lambda: "not.a.jwt",
    ],
)
def test_a_bad_token_is_refused(jwks_url: str, bad: Any) -> None:
    auth = JWTAuthenticator(jwks_url, issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(Unauthenticated):
        auth.authenticate(bearer(bad()))


def test_symmetric_and_none_algorithms_cannot_be_configured(jwks_url: str) -> None:
    for algorithms in (["HS256"], ["none"], ["RS256", "HS512"]):
        with pytest.raises(ConfigError):
            JWTAuthenticator(jwks_url, issuer=ISSUER, audience=AUDIENCE, algorithms=algorithms)


SECRET = "g" * 40


def test_the_gateway_names_the_caller_with_its_secret() -> None:
    auth = TrustedProxyAuthenticator(SECRET)
    headers = {
        "x-agentkit-proxy-secret": SECRET,
        "x-agentkit-user": "lee",
        "x-agentkit-roles": "treasurer, clerk",
        "x-agentkit-workspace": "acme",
    }
    who = auth.authenticate(headers)
    assert (who.user_id, who.roles, who.workspace) == ("lee", ("treasurer", "clerk"), "acme")


@pytest.mark.parametrize(
    "headers",
    [
        {"x-agentkit-user": "lee"},
        {"x-agentkit-proxy-secret": "g" * 39, "x-agentkit-user": "lee"},
        {"x-agentkit-proxy-secret": SECRET + "x", "x-agentkit-user": "lee"},
        {"x-agentkit-proxy-secret": SECRET},
        {"authorization": "Bearer akt_x", "x-agentkit-user": "lee"},
    ],
)
def test_anyone_else_naming_a_user_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated):
        TrustedProxyAuthenticator(SECRET).authenticate(headers)


def test_a_short_gateway_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        TrustedProxyAuthenticator("short")
