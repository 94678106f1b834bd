"""`haproxy`: the load balancer on the lb hosts (ports, TLS, which services are public)."""

from __future__ import annotations

import re
import ssl
from typing import Annotated

from pydantic import AfterValidator, Field

from infra.settings.services import PREFIXED, PublicService
from infra.settings.types import Strict

MIN_SECLEVEL = 2  # OpenSSL's security level: 112-bit keys, no SHA-1 signatures


def _weak(cipher: dict) -> bool:
    """A TLS 1.2 cipher without forward secrecy, authentication, AEAD or 128 bits."""
    return cipher["protocol"] != "TLSv1.3" and (
        cipher["kea"] not in ("kx-ecdhe", "kx-dhe")
        or cipher["auth"] == "auth-null"
        or not cipher["aead"]
        or cipher["strength_bits"] < 128
    )


def _strong_ciphers(value: str) -> str:
    """OpenSSL's own parser (the control machine's, as Debian's HAProxy's) expands the list;
    every TLS 1.2 cipher it yields must be forward secret, authenticated, AEAD, 128 bits or
    more, and the list may not lower the security level."""
    if not re.fullmatch(r"[A-Za-z0-9:+!@_=.-]+", value):
        raise ValueError("not an OpenSSL cipher list (letters, digits and :+!@_=.-)")
    levels = [int(level) for level in re.findall(r"@SECLEVEL=(\d+)", value)]
    if any(level < MIN_SECLEVEL for level in levels):
        raise ValueError(f"lowers OpenSSL's security level below {MIN_SECLEVEL}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.set_ciphers(value if levels else f"{value}:@SECLEVEL={MIN_SECLEVEL}")
    except ssl.SSLError:
        raise ValueError("OpenSSL selects no cipher from it") from None
    weak = [cipher for cipher in context.get_ciphers() if _weak(cipher)]
    if weak:
        raise ValueError(
            "allows ciphers without encryption, authentication or forward secrecy "
            f"({len(weak)} of them, e.g. {weak[0]['name']})"
        )
    return value


class HAProxy(Strict):
    port: int = Field(8443, ge=1, le=65535, description="TLS frontend port (seed 000: 8443)")
    stats_port: int = Field(8404, ge=1024, le=65535, description="stats page, on localhost only")
    internal_port: int = Field(
        8080,
        ge=1024,
        le=65535,
        description="plain-HTTP entry on the lb through which the services call each other "
        "(AKTIENANALYSE_URL_*); the firewall admits only the app hosts",
    )
    public_services: list[PublicService] = Field(
        default=list(PREFIXED),
        description="services whose /<service>/ route TLS clients may use (the frontend "
        "always); the others answer 404 on TLS and are reachable on internal_port only",
    )
    admin_port: int = Field(
        9999,
        ge=1024,
        le=65535,
        description="admin socket on the lb's own address for the app hosts' rolling switches "
        "(only when app hosts are elsewhere; the firewall admits only them)",
    )
    check_interval_ms: int = Field(
        2000, ge=100, le=60000, description="health check interval; 2 failures mark a server DOWN"
    )
    certificate_min_days: int = Field(
        14,
        ge=0,
        le=365,
        description="refuse a TLS certificate that expires within this many days (checked "
        "before any host is contacted)",
    )
    ciphers: Annotated[str, AfterValidator(_strong_ciphers)] | None = Field(
        None,
        description="OpenSSL cipher list for TLS 1.2 (ssl-default-bind-ciphers); none: "
        "HAProxy's default",
    )
