"""The types every section shares: what a value is, checked where it is declared.

A type here refuses a value with a reason that never repeats the value (it may come from a
secret). `Strict` is the base of every section.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Any

from packaging.version import InvalidVersion, Version
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    model_validator,
)

from infra.calendar import calendar_problem

REPO = Path(__file__).resolve().parents[2]
GROUPS = ("lb", "app", "db", "cache", "monitoring", "voter", "backup")


def words(*lines: str) -> frozenset[str]:
    """The whitespace-separated names in `lines`: long name lists, a few to a line."""
    return frozenset(" ".join(lines).split())


# ---------------------------------------------------------------------------------------------
# Text: one line, no control, format (zero-width, bidi) or line-separator character.


def _invisible(text: str) -> bool:
    return any(unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} for c in text)


def _printable(value: str) -> str:
    if _invisible(value):  # the one definition, shared with Strict's check of every string
        raise ValueError("contains a control or invisible character")
    return value


# Any free text: one line, no control character, so no file's syntax can be smuggled in.
Text = Annotated[str, AfterValidator(_printable)]


def unsafe_strings(node: Any, path: str = "") -> Iterator[str]:
    """Dotted keys of strings (dict keys included) holding a control, format (zero-width,
    bidi) or line-separator character: they break lines or hide text in every file format."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _invisible(key):
                yield where.encode("unicode_escape").decode()
            yield from unsafe_strings(value, where)
    elif isinstance(node, list | tuple):
        for index, value in enumerate(node):
            yield from unsafe_strings(value, f"{path}.{index}")
    elif isinstance(node, str) and _invisible(node):
        yield path.encode("unicode_escape").decode()


class Strict(BaseModel):
    """Base of every section: unknown keys are errors, values are not coerced across types,
    and no string anywhere holds a control or invisible character."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_invisible_characters(cls, data: Any) -> Any:
        bad = list(unsafe_strings(data))
        if bad:
            raise ValueError(f"{bad[0]}: contains a control or invisible character")
        return data


# ---------------------------------------------------------------------------------------------
# Accounts and environment variables

USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# Debian's own accounts (base-passwd) and those of the packages the deploys install; then
# groups that grant privileges (the service user must never be one of them); then the
# platform's log readers (infra/services.py LOG_READERS).
SYSTEM_ACCOUNTS = words(
    "root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats",
    "nobody _apt messagebus sshd systemd-network systemd-resolve systemd-timesync",
    "systemd-journal postgres redis haproxy zabbix ntp uuidd tss operators adm sudo",
    "shadow ssl-cert docker disk kmem tty dialout staff users lxd kvm wheel utmp",
    "netdev input render tape crontab systemd-journal-remote",
    "aktienanalyse-logs",
)


def _login_name(value: str) -> str:
    if not USERNAME.fullmatch(value):
        raise ValueError("not a login name (lower case letters, digits, _ and -, at most 32)")
    if value in SYSTEM_ACCOUNTS:
        raise ValueError("is a system account")
    return value


LoginName = Annotated[str, AfterValidator(_login_name)]

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def check_env_name(name: Any) -> None:
    """A service's own environment variable (plain or secret): never one of the deploy's."""
    if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
        raise ValueError("a name is not an environment variable name (A-Z, 0-9, _)")
    if name.startswith("AKTIENANALYSE_"):
        raise ValueError("AKTIENANALYSE_* variables are the deploy's (wheel contract)")


# ---------------------------------------------------------------------------------------------
# Paths, hosts and URLs

SAFE_PATH = re.compile(r"^(/[A-Za-z0-9._-]+)+$")


def check_safe_path(value: str) -> str:
    """An absolute path without '.', '..' or characters a shell or config file would read."""
    value = value.rstrip("/")
    if not SAFE_PATH.fullmatch(value) or any(part in {".", ".."} for part in value.split("/")):
        raise ValueError("must be an absolute path of letters, digits, '.', '_', '-' and '/'")
    return value


HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
NOT_ASCII = "non-ASCII, or an internationalised (xn--) host name; write it in ASCII"


def _ascii_host(text: str) -> str:
    """Host names are plain ASCII: an internationalised one (non-ASCII, or its punycode
    `xn--` form) can hold letters that look like others and lead to another host."""
    if not text.isascii() or any(label.startswith("xn--") for label in text.lower().split(".")):
        raise ValueError(NOT_ASCII)
    return text


def _ascii_url(value: Any) -> Any:
    """A URL as written is ASCII: its parser would turn look-alikes into an ASCII host name
    (full-width letters into ASCII ones, ä into xn--) before `_http_url` could see them."""
    if isinstance(value, str) and not value.isascii():
        raise ValueError(NOT_ASCII)
    return value


def _host(value: str) -> str:
    if "%" in value:
        raise ValueError("a scoped address (with %) is not supported")
    _ascii_host(value)
    try:
        ip_address(value)
    except ValueError:
        if not HOSTNAME.fullmatch(value):
            raise ValueError("not an IP address or host name") from None
    return value


Host = Annotated[str, AfterValidator(_host)]


def _http_url(value: AnyHttpUrl) -> AnyHttpUrl:
    """A URL whose host is a host name or address, and nothing a shell or pip would read."""
    _host((value.host or "").strip("[]"))
    if value.username or value.password:
        raise ValueError("holds credentials; a URL here must not")
    if any(c in str(value) for c in " \"'`$;|&<>()\\"):
        raise ValueError("contains characters a URL here may not have")
    return value


HttpUrl = Annotated[AnyHttpUrl, BeforeValidator(_ascii_url), AfterValidator(_http_url)]


def _port_of_host(value: str) -> str:
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "10051")
    _host(host)
    if not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
        raise ValueError("not host:port")
    return value


HostPort = Annotated[str, AfterValidator(_port_of_host)]


# ---------------------------------------------------------------------------------------------
# Versions, sizes and schedules


def _pep440(value: str) -> str:
    try:
        normalised = str(Version(value))
    except InvalidVersion:
        raise ValueError("not a PEP 440 release version like 1.2.0") from None
    if normalised != value:
        raise ValueError("not written as pip writes it (normalised PEP 440)")
    return value


ReleaseVersion = Annotated[str, AfterValidator(_pep440)]

MEMORY = re.compile(r"^[1-9][0-9]{0,6}[KMG]$")
MIN_SIZE, MAX_SIZE = 64 * 2**20, 2**40  # 64 MiB .. 1 TiB


def check_size(value: str) -> str:
    if not MEMORY.fullmatch(value):
        raise ValueError("not a size like 512M or 1G")
    if not MIN_SIZE <= size_bytes(value) <= MAX_SIZE:
        raise ValueError("must be between 64M and 1024G")
    return value


def size_bytes(size: str) -> int:
    """Bytes in a size like 512M or 1G (binary units, as systemd and Redis read them)."""
    return int(size[:-1]) * 1024 ** "KMG".index(size[-1]) * 1024


Size = Annotated[str, AfterValidator(check_size)]


def _calendar(value: str) -> str:
    problem = calendar_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# A systemd calendar expression (OnCalendar=), as systemd-analyze accepts it.
Calendar = Annotated[str, AfterValidator(_calendar)]
