"""TLS certificates and keys (HAProxy's, the Zabbix frontend's), checked on the control machine
before any host is contacted: both present, matching, and valid for long enough.

Uses `cryptography` (pyinfra's SSH stack already depends on it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr


def pem_problem(pem: str, min_days: int, now: datetime | None = None) -> str | None:
    """Why `pem` (certificate, chain, key in one file) must not go live; None when it may.
    Never repeats any of its content."""
    data = pem.encode()
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        return "holds no PEM certificate"
    try:
        key = serialization.load_pem_private_key(_key_block(pem), password=None)
    except (ValueError, TypeError):
        return "holds no unencrypted PEM private key"
    certificate = certificates[0]  # the server's own; the chain follows it
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if key.public_key().public_bytes(encoding, public) != certificate.public_key().public_bytes(
        encoding, public
    ):
        return "the private key does not belong to the (first) certificate"
    now = now or datetime.now(UTC)
    expires = certificate.not_valid_after_utc
    if expires <= now:
        return f"the certificate expired on {expires:%Y-%m-%d}"
    if expires <= now + timedelta(days=min_days):
        return f"the certificate expires on {expires:%Y-%m-%d}, within {min_days} days"
    if certificate.not_valid_before_utc > now:
        return "the certificate is not valid yet"
    return None


def _key_block(pem: str) -> bytes:
    lines, inside = [], False
    for line in pem.splitlines():
        if line.startswith("-----BEGIN") and "PRIVATE KEY" in line:
            inside = True
        if inside:
            lines.append(line)
        if line.startswith("-----END") and "PRIVATE KEY" in line:
            break
    return "\n".join(lines).encode()


def certificate_of(pem: SecretStr) -> str:
    """The (first) certificate of a certificate-and-key PEM: the trust anchor for the API's
    TLS, exactly the server's certificate, no CA."""
    text = pem.get_secret_value()
    start, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    return text[text.index(start) : text.index(end) + len(end)] + "\n"
