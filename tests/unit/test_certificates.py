"""infra/certificates.py: a TLS PEM goes live only when whole, matching and valid for long
enough; the reasons never repeat its content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.certificates import pem_problem

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def key_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def certificate_pem(key, days_left: int, days_valid_from: int = -30) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW + timedelta(days=days_valid_from))
        .not_valid_after(NOW + timedelta(days=days_left))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def keys():
    return ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())


def test_a_matching_certificate_valid_for_long_enough_may_go_live(keys):
    key, _ = keys
    assert pem_problem(certificate_pem(key, 90) + key_pem(key), 14, NOW) is None


@pytest.mark.parametrize(
    ("days_left", "valid_from", "reason"),
    [
        (-1, -30, "the certificate expired on 2026-11-20"),
        (10, -30, "the certificate expires on 2026-12-01, within 14 days"),
        (90, 5, "the certificate is not valid yet"),
    ],
)
def test_a_certificate_out_of_its_time_is_refused(keys, days_left, valid_from, reason):
    key, _ = keys
    assert pem_problem(certificate_pem(key, days_left, valid_from) + key_pem(key), 14, NOW) == (
        reason
    )


def test_a_key_of_another_certificate_is_refused(keys):
    key, other = keys
    assert pem_problem(certificate_pem(key, 90) + key_pem(other), 14, NOW) == (
        "the private key does not belong to the (first) certificate"
    )


def test_a_pem_without_key_or_certificate_is_refused(keys):
    key, _ = keys
    assert pem_problem(certificate_pem(key, 90), 14, NOW) == (
        "holds no unencrypted PEM private key"
    )
    assert pem_problem(key_pem(key), 14, NOW) == "holds no PEM certificate"
    assert pem_problem("not a pem", 14, NOW) == "holds no PEM certificate"
