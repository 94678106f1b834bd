"""pgBackRest with a repository host (group `backup`): its TLS certificates and who talks to
whom (pure).

With a `backup` host, the repository lives there and every db host reaches it through
pgBackRest's own TLS server (`pgbackrest server`, port 8432): the db hosts archive their WAL to
it (the unchanged `archive_command`) and restore from it (Patroni's `pgbackrest` replica
method); the repository host backs up whichever db host is the primary (`pg1-host`,
`pg2-host`, ...: pgBackRest finds it). Each side admits only the other's certificate name
(`tls-server-auth`).

The certificates are derived, not stored: a CA and one key and certificate per host, each
from `pgbackrest_cipher_pass` through HKDF with its own label, Ed25519 (deterministic
signatures) and a fixed validity. The same inventory gives the same bytes on every run, so a
converge compares files and changes nothing, and no host needs another host's files. Whoever
holds the cipher pass can read the repository already; the CA key never leaves the control
machine.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr

TLS_PORT = 8432  # pgBackRest's default `tls-server-port`
TLS_DIR = "/etc/pgbackrest/tls"
CA_FILE = f"{TLS_DIR}/ca.crt"
CERT_FILE = f"{TLS_DIR}/host.crt"
KEY_FILE = f"{TLS_DIR}/host.key"
# Fixed, so the certificates are the same bytes on every run. Renewal before 2046: a new
# GENERATION (new keys, new CA) converges every host in one run.
NOT_BEFORE = datetime(2026, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(2046, 1, 1, tzinfo=UTC)
GENERATION = "1"
CA_NAME = "aktienanalyse pgBackRest CA"
# A certificate name is a host's inventory name: it lands in `tls-server-auth=<name>=<stanza>`.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}")


@dataclass(frozen=True)
class TlsFiles:
    """One host's PEM files: the CA certificate, its own certificate and its private key."""

    ca: str
    certificate: str
    key: SecretStr


def _key(secret: SecretStr, label: str) -> Ed25519PrivateKey:
    seed = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"aktienanalyse pgbackrest tls {GENERATION} {label}".encode(),
    ).derive(secret.get_secret_value().encode())
    return Ed25519PrivateKey.from_private_bytes(seed)


def _serial(label: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{GENERATION} {label}".encode()).digest()[:16]) >> 1


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _ca(secret: SecretStr) -> tuple[Ed25519PrivateKey, x509.Certificate]:
    key = _key(secret, "ca")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(_serial("ca"))
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, None)
    )
    return key, certificate


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def tls_files(secret: SecretStr, name: str, address: str) -> TlsFiles:
    """`name`'s key and certificate (CN and DNS name = `name`, DNS name and IP = `address`),
    server and client in one, and the CA that signed it."""
    if not NAME.fullmatch(name):
        raise ValueError("a host name pgBackRest can name: letters, digits, '.', '-'")
    ca_key, ca = _ca(secret)
    key = _key(secret, f"host {name}")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(_serial(f"host {name}"))
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName(
                # pgBackRest 2.45 matches the host it dials against DNS names and the common
                # name only, so the address is a DNS name too (measured: an IP entry alone is
                # "unable to find hostname").
                [
                    x509.DNSName(name),
                    x509.DNSName(str(ipaddress.ip_address(address))),
                    x509.IPAddress(ipaddress.ip_address(address)),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, None)
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return TlsFiles(ca=_pem(ca), certificate=_pem(certificate), key=SecretStr(private))
