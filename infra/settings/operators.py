"""`operators`: the people's login accounts, their SSH keys and sudo."""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Annotated

from pydantic import AfterValidator, Field

from infra.settings.types import LoginName, Strict, _printable

KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


def _ssh_public_key(value: str) -> str:
    """`type base64 [comment]` whose blob names the same type (a truncated paste fails)."""
    parts = _printable(value).split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ValueError("not an OpenSSH public key (type, key, optional comment)")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        if blob[4 : 4 + length].decode() != parts[0] or len(blob) < 4 + length + 32:
            raise ValueError
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        raise ValueError("the key is truncated or damaged") from None
    return value


class Operator(Strict):
    name: LoginName = Field(description="login name")
    ssh_keys: list[Annotated[str, AfterValidator(_ssh_public_key)]] = Field(
        default=[], description="authorized public keys"
    )
    sudo: bool = Field(True, description="full sudo (with a sudoers file checked by visudo)")
