"""The TLS context the transport verifies servers with, and presents a certificate from.

The default is httpx2's own: its trust store, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
when set. Building one reads a CA bundle (tens of milliseconds), so the default is built
on the first HTTPS request; a context or files given explicitly are loaded at once, so
a wrong path fails where it was written.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx2

from agentkit.errors import ConfigError

Verify = ssl.SSLContext | str | Path | bool
"""True: the default trust store; a context; a CA bundle file or directory; False: none."""
Cert = str | Path | tuple[str | Path, str | Path] | tuple[str | Path, str | Path, str]
"""A client certificate: one PEM file (key included), (cert, key) or (cert, key, password)."""


class TLSConfig:
    """Builds the client `ssl.SSLContext` once, when it is first needed."""

    def __init__(self, verify: Verify = True, cert: Cert | None = None, *, trust_env: bool = True):
        """Remember the settings; build now unless it is the plain default."""
        self._verify = verify
        self._cert = cert
        self._trust_env = trust_env
        self._context: ssl.SSLContext | None = None
        if verify is not True or cert is not None:
            self._context = self._build()

    def context(self) -> ssl.SSLContext:
        """The context for every HTTPS connection of this transport."""
        if self._context is None:
            self._context = self._build()
        return self._context

    def _build(self) -> ssl.SSLContext:
        try:
            context = _verifying(self._verify, self._trust_env)
            if self._cert is not None:
                _load_cert(context, self._cert)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the TLS settings: {exc}") from exc
        return context


def _verifying(verify: Verify, trust_env: bool) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is True:
        return httpx2.create_ssl_context(verify=True, trust_env=trust_env)
    if verify is False:
        return httpx2.create_ssl_context(verify=False)
    path = Path(verify)
    if path.is_dir():
        return ssl.create_default_context(capath=str(path))
    return ssl.create_default_context(cafile=str(path))


def _load_cert(context: ssl.SSLContext, cert: Cert) -> None:
    if isinstance(cert, str | Path):
        context.load_cert_chain(str(cert))
    elif len(cert) == 2:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    else:
        context.load_cert_chain(str(cert[0]), str(cert[1]), cert[2])
