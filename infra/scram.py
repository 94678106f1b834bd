"""PostgreSQL SCRAM-SHA-256 verifiers (RFC 5802/7677), computed on the control machine.

The deploy compares the password from settings with the verifier PostgreSQL stores in
pg_authid, so `ALTER ROLE ... PASSWORD` runs only when the password really changed, and it
sends a verifier, never the password itself. scramp (the SCRAM library pg8000 uses) does the
cryptography, SASLprep included, as PostgreSQL and its clients do: a non-ASCII password
matches only after SASLprep (RFC 4013) normalises it.
"""

from __future__ import annotations

import base64
import hmac

from scramp import ScramException, ScramMechanism

ITERATIONS = 4096  # PostgreSQL's scram_iterations default
_SCRAM = ScramMechanism("SCRAM-SHA-256")


def saslprep_problem(password: str) -> str | None:
    """Why SASLprep refuses `password` (clients such as pg8000 would fail to log in), or None."""
    try:
        _SCRAM.make_auth_info(password, iteration_count=1, salt=b"\0" * 16)
    except ScramException as exc:
        return f"SASLprep (RFC 4013) refuses it: {exc.args[0]}"
    return None


def make_verifier(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as pg_authid stores it."""
    salt, stored_key, server_key, iterations = _SCRAM.make_auth_info(
        password, iteration_count=iterations, salt=salt
    )
    b64 = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
        f"${b64(stored_key).decode()}:{b64(server_key).decode()}"
    )


def matches(password: str, verifier: str | None) -> bool:
    """True when `verifier` (from pg_authid.rolpassword) was made from `password`."""
    if not verifier or not verifier.startswith("SCRAM-SHA-256$"):
        return False
    try:
        _, params, keys = verifier.split("$")
        iterations, salt = params.split(":")
        stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
        _, want_stored, want_server, _ = _SCRAM.make_auth_info(
            password, iteration_count=int(iterations), salt=base64.b64decode(salt)
        )
    except (ValueError, ScramException):
        return False
    return hmac.compare_digest(stored_key, want_stored) and hmac.compare_digest(
        server_key, want_server
    )
