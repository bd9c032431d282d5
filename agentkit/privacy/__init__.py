"""Secrets and personal data kept out of what a model sees.

- `detect` / `Finding`: detectors of secrets (provider API keys, private keys, JWTs,
  connection strings, passwords in assignments) and personal data (e-mail, phone, IBAN,
  card, IP, national ids), checksummed where the format has a checksum;
- `PseudonymVault`: a run's reversible placeholders (``⟦EMAIL_1⟧``), restored in the
  model's tool arguments before the policy and the tool see them;
- `PrivacyRules` / `apply` / `Redaction`: per kind, by default, role and tool, block,
  redact or allow, as a policy section.
"""

# Lazy, like the package's own exports: importing agentkit.privacy costs nothing until used.
from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from agentkit.privacy.detectors import (
        ALL_KINDS,
        CHECKSUMMED_KINDS,
        PERSONAL_KINDS,
        SECRET_KINDS,
        Finding,
        detect,
    )
    from agentkit.privacy.privacy_rules import Action, PrivacyRules, Redaction, apply
    from agentkit.privacy.vault import PLACEHOLDER, PseudonymVault, blocked_mark

_EXPORTS = {
    "ALL_KINDS": "agentkit.privacy.detectors",
    "CHECKSUMMED_KINDS": "agentkit.privacy.detectors",
    "PERSONAL_KINDS": "agentkit.privacy.detectors",
    "SECRET_KINDS": "agentkit.privacy.detectors",
    "Finding": "agentkit.privacy.detectors",
    "detect": "agentkit.privacy.detectors",
    "Action": "agentkit.privacy.privacy_rules",
    "PrivacyRules": "agentkit.privacy.privacy_rules",
    "Redaction": "agentkit.privacy.privacy_rules",
    "apply": "agentkit.privacy.privacy_rules",
    "PLACEHOLDER": "agentkit.privacy.vault",
    "PseudonymVault": "agentkit.privacy.vault",
    "blocked_mark": "agentkit.privacy.vault",
}

__all__ = [
    "ALL_KINDS",
    "CHECKSUMMED_KINDS",
    "PERSONAL_KINDS",
    "PLACEHOLDER",
    "SECRET_KINDS",
    "Action",
    "Finding",
    "PrivacyRules",
    "PseudonymVault",
    "Redaction",
    "apply",
    "blocked_mark",
    "detect",
]

__getattr__, __dir__ = lazy_exports("agentkit.privacy", _EXPORTS, globals())
