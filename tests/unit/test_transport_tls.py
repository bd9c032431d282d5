"""The TLS context of the default transport: httpx2's defaults, a CA bundle, a client cert."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from agentkit.errors import ConfigError
from agentkit.model.transport import AiohttpTransport
from agentkit.model.transport.tls import TLSConfig


def test_the_default_context_is_built_on_first_use_and_verifies() -> None:
    tls = TLSConfig()
    assert tls._context is None  # reading a CA bundle costs tens of ms: not at construction
    context = tls.context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert tls.context() is context


def test_ssl_cert_file_is_honoured_and_trust_env_false_ignores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    trusted = TLSConfig().context().get_ca_certs()
    assert [c["subject"] for c in trusted] == [c["subject"] for c in _certs_of(bundle)]
    assert TLSConfig(trust_env=False).context().get_ca_certs() != trusted


def _certs_of(bundle: Path) -> list[dict[str, object]]:
    context = ssl.create_default_context(cafile=str(bundle))
    return context.get_ca_certs()  # type: ignore[return-value]


def test_a_ca_bundle_file_a_context_and_no_verification(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    assert len(TLSConfig(str(bundle)).context().get_ca_certs()) == 1
    assert len(TLSConfig(bundle).context().get_ca_certs()) == 1
    given = ssl.create_default_context()
    assert TLSConfig(given).context() is given
    assert TLSConfig(False).context().verify_mode == ssl.CERT_NONE


def test_a_client_certificate_is_loaded_in_every_form(tmp_path: Path) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("client.agentkit.test")
    combined, cert, key = tmp_path / "both.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(combined))
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    for given in (combined, str(combined), (cert, key), (str(cert), str(key), "")):
        TLSConfig(cert=given).context()  # type: ignore[arg-type]


def test_files_that_cannot_load_fail_where_they_were_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load the TLS settings"):
        AiohttpTransport(verify=str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="cannot load the TLS settings"):
        AiohttpTransport(cert=tmp_path / "missing.pem")
