"""Every setting of the platform: its type, default and meaning, declared once.

pyinfra loads the settings as host data: each section below is one top-level name in
`group_data/all.py`, `group_data/<group>.py` or an inventory's host data, and pyinfra's
precedence decides which one a host sees (host data over group data over `all.py`; a
section is replaced whole, never merged). `infra/hostdata.py` validates what pyinfra
loaded into these models, once per host, before any host is contacted.

Secrets are never written in group data, only referenced: `{"env": "NAME"}` or
`{"file": "/path"}`. A host resolves the ones its groups need (SECRET_OWNERS) into
`SecretStr`, which prints as `**********`.
"""

from __future__ import annotations

import os
import re
import ssl
import unicodedata
from collections.abc import Iterator, Mapping
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from infra.calendar import calendar_problem
from infra.certificates import pem_problem
from infra.scram import saslprep_problem

REPO = Path(__file__).resolve().parent.parent
GROUPS = ("lb", "app", "db", "cache", "monitoring")
SERVICES = ("intelligent-core", "broker-gateway", "event-bus", "monitoring", "frontend")
ServiceName = Literal["intelligent-core", "broker-gateway", "event-bus", "monitoring", "frontend"]


# ---------------------------------------------------------------------------------------------
# Types that say what a value is. Messages never repeat the value: it may come from a secret.


def _printable(value: str) -> str:
    if _invisible(value):  # the one definition, shared with Strict's check of every string
        raise ValueError("contains a control or invisible character")
    return value


# Any free text: one line, no control character, so no file's syntax can be smuggled in.
Text = Annotated[str, AfterValidator(_printable)]

USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# Debian's own accounts (base-passwd) and those of the packages the deploys install.
SYSTEM_ACCOUNTS = frozenset(
    [
        "root",
        "daemon",
        "bin",
        "sys",
        "sync",
        "games",
        "man",
        "lp",
        "mail",
        "news",
        "uucp",
        "proxy",
        "www-data",
        "backup",
        "list",
        "irc",
        "gnats",
        "nobody",
        "_apt",
        "messagebus",
        "sshd",
        "systemd-network",
        "systemd-resolve",
        "systemd-timesync",
        "systemd-journal",
        "postgres",
        "redis",
        "haproxy",
        "zabbix",
        "ntp",
        "uuidd",
        "tss",
        "operators",
        "adm",
        "sudo",
        # groups that grant privileges: the service user must never be one of them
        *[
            "shadow",
            "ssl-cert",
            "docker",
            "disk",
            "kmem",
            "tty",
            "dialout",
            "staff",
            "users",
            "lxd",
            "kvm",
            "wheel",
            "utmp",
        ],
        *["netdev", "input", "render", "tape", "crontab", "systemd-journal-remote"],
        "aktienanalyse-logs",  # the platform's log readers (infra/services.py LOG_READERS)
    ]
)


def _login_name(value: str) -> str:
    if not USERNAME.fullmatch(value):
        raise ValueError("not a login name (lower case letters, digits, _ and -, at most 32)")
    if value in SYSTEM_ACCOUNTS:
        raise ValueError("is a system account")
    return value


LoginName = Annotated[str, AfterValidator(_login_name)]

SAFE_PATH = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
# Where the platform's directories may live, and names there that belong to the system.
PATH_ROOTS = ("/opt/", "/srv/", "/etc/", "/var/lib/", "/var/log/")
SYSTEM_DIRECTORIES = frozenset(
    [
        "ssh",
        "systemd",
        "apt",
        "default",
        "postgresql",
        "redis",
        "haproxy",
        "zabbix",
        "sudoers.d",
        "security",
        "pam.d",
        "cron.d",
        "logrotate.d",
        "network",
        "dpkg",
        "lxc",
        "nftables.conf",
        "journal",
        "private",
    ]
)


def _platform_dir(value: str) -> str:
    value = value.rstrip("/")
    if not SAFE_PATH.fullmatch(value) or any(part in {".", ".."} for part in value.split("/")):
        raise ValueError("must be an absolute path of letters, digits, '.', '_', '-' and '/'")
    root = next((r for r in PATH_ROOTS if value.startswith(r)), None)
    if root is None:
        raise ValueError(f"must be below one of {', '.join(PATH_ROOTS)}")
    own = value[len(root) :].split("/")[0]
    if own in SYSTEM_DIRECTORIES or not own.startswith("aktienanalyse"):
        raise ValueError(
            f"must be the platform's own directory, e.g. {root}aktienanalyse (its name "
            "below the root starts with 'aktienanalyse')"
        )
    return value


PlatformDir = Annotated[str, AfterValidator(_platform_dir)]

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


def _pep440(value: str) -> str:
    try:
        normalised = str(Version(value))
    except InvalidVersion:
        raise ValueError("not a PEP 440 release version like 1.2.0") from None
    if normalised != value:
        raise ValueError("not written as pip writes it (normalised PEP 440)")
    return value


ReleaseVersion = Annotated[str, AfterValidator(_pep440)]


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


def _invisible(text: str) -> bool:
    return any(unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} for c in text)


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


class SecretRef(Strict):
    """Where a secret comes from: an environment variable or a file (its content, stripped)."""

    env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = Field(
        None, description="environment variable holding the secret"
    )
    file: Text | None = Field(None, description="path of a file holding the secret")

    @field_validator("file")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        """A relative `file` is most likely the secret itself pasted in: never repeat it."""
        if value is not None and not value.startswith("/"):
            raise ValueError("file must be an absolute path")
        return value

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self

    def resolve(self) -> SecretStr:
        """The secret, surrounding whitespace stripped. A file must be the runner's own and
        readable by nobody else; an empty or whitespace-only secret is refused."""
        if self.env is not None:
            value = os.environ.get(self.env, "").strip()
            if not value:
                raise ValueError(f"environment variable {self.env} is not set or empty")
        else:
            path = Path(self.file)
            if not path.is_file():
                raise ValueError(f"secret file {path} does not exist")
            info = path.stat()
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                raise ValueError(
                    f"secret file {path} has mode {info.st_mode & 0o777:04o} and owner uid "
                    f"{info.st_uid}: it must be yours with mode 0600 or 0400"
                )
            try:
                value = path.read_text().strip()
            except UnicodeDecodeError:
                raise ValueError(f"secret file {path} is not UTF-8 text") from None
            if not value:
                raise ValueError(f"secret file {path} is empty")
        if any(ord(c) < 32 and c not in "\n\r" for c in value):
            raise ValueError(f"{self.env or self.file}: the secret contains a control character")
        return SecretStr(value)


def resolve_reference(name: str, ref: Any, needed: bool) -> SecretStr | None:
    """Check a reference's shape; resolve it when `needed`. Errors name `name`, never a value."""
    try:
        checked = SecretRef.model_validate(ref)
        return checked.resolve() if needed else None
    except ValidationError as exc:
        reasons = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise ValueError(f"{name}: {reasons}") from None
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


class System(Strict):
    timezone: Text = Field("Europe/Berlin", description="host time zone (trading hours)")
    apt_proxy: HttpUrl | None = Field(
        None, description="HTTP proxy for apt, e.g. an apt-cacher-ng; none when unset"
    )
    packages: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.+-]+$")]] = Field(
        default=["sudo", "tzdata", "ca-certificates", "curl", "procps", "less", "openssl"],
        description="Debian packages every host gets",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value


class Platform(Strict):
    user: LoginName = Field(
        "aktienanalyse",
        description="system user and group owning the platform; each service runs as "
        "<user>-<service> in this group",
    )
    base_dir: PlatformDir = Field(
        "/opt/aktienanalyse", description="releases, current links, wheelhouse"
    )
    config_dir: PlatformDir = Field(
        "/etc/aktienanalyse", description="service config and secrets file"
    )
    log_dir: PlatformDir = Field("/var/log/aktienanalyse", description="the platform's log files")
    state_dir: PlatformDir = Field(
        "/var/lib/aktienanalyse", description="the services' writable data"
    )

    @field_validator("user")
    @classmethod
    def _room_for_service_users(cls, value: str) -> str:
        longest = max(len(name) for name in SERVICES)
        if len(value) + 1 + longest > 32:  # each service runs as <user>-<service>
            raise ValueError(f"at most {31 - longest} characters (service users are "
                             "<user>-<service>, at most 32)")  # fmt: skip
        return value

    @model_validator(mode="after")
    def _distinct(self) -> Platform:
        dirs = [self.base_dir, self.config_dir, self.log_dir, self.state_dir]
        for a in dirs:
            if any(b != a and (b + "/").startswith(a + "/") for b in dirs):
                raise ValueError("platform: the four directories must not contain each other")
        return self


KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
             "sk-ecdsa-sha2-nistp256@openssh.com")  # fmt: skip


def _ssh_public_key(value: str) -> str:
    """`type base64 [comment]` whose blob names the same type (a truncated paste fails)."""
    import base64
    import binascii
    import struct

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


MEMORY = re.compile(r"^[1-9][0-9]{0,6}[KMG]$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
MIN_SIZE, MAX_SIZE = 64 * 2**20, 2**40  # 64 MiB .. 1 TiB
PORT_STRIDE = 10  # between a service's instance ports: room for ten services' base ports


def check_size(value: str) -> str:
    if not MEMORY.fullmatch(value):
        raise ValueError("not a size like 512M or 1G")
    if not MIN_SIZE <= size_bytes(value) <= MAX_SIZE:
        raise ValueError("must be between 64M and 1024G")
    return value


def size_bytes(size: str) -> int:
    """Bytes in a size like 512M or 1G (binary units, as systemd and Redis read them)."""
    return int(size[:-1]) * 1024 ** "KMG".index(size[-1]) * 1024


class Service(Strict):
    port: int = Field(ge=1024, le=65535, description="first instance's port (the seeds')")
    instances: int = Field(
        1,
        ge=1,
        le=16,
        description=f"instances; instance n (from 0) listens on port + {PORT_STRIDE}·n",
    )
    memory_max: str = Field(description="systemd MemoryMax, e.g. 512M or 1G")
    cpu_quota: int = Field(ge=1, le=6400, description="systemd CPUQuota in percent")
    environment: dict[str, Text] = Field(
        default={},
        description="extra environment variables (plain text, in the unit file: no secrets)",
    )
    version: ReleaseVersion | None = Field(
        None, description="release to run (wheel version); none: the service is not deployed"
    )
    sha256: dict[str, str] = Field(
        default={},
        description="wheel file name -> sha256 for every wheel of the release; "
        "when set, pip installs with --require-hashes",
    )
    secrets: dict[str, SecretStr] = Field(
        default={},
        description="secret environment variables of this service alone, as references "
        '(`{"env": ...}` or `{"file": ...}`); delivered in a file only root and the service\'s '
        "own user can read; resolved only on app hosts and once the service has a version",
    )

    @field_validator("sha256")
    @classmethod
    def _wheel_digests(cls, value: dict[str, str]) -> dict[str, str]:
        for wheel, digest in value.items():
            try:
                parse_wheel_filename(wheel)
            except InvalidWheelFilename:
                raise ValueError("a key is not a wheel file name") from None
            if not SHA256.fullmatch(digest):
                raise ValueError("a value is not a hex sha256")
        return value

    @field_validator("secrets", mode="before")
    @classmethod
    def _resolve_secrets(cls, value: Any, info: ValidationInfo) -> Any:
        """Resolve the references on the app hosts (validation context "groups"); elsewhere
        check their shape only and keep the names with an empty value (no deploy reads another
        host's service secrets). Without a context, resolve
        all."""
        if not isinstance(value, Mapping):
            return value
        groups = (info.context or {}).get("groups")
        deployed = info.data.get("version") is not None  # declared before `secrets`
        resolved = {}
        for name, ref in value.items():
            if isinstance(ref, SecretStr):  # already resolved (a model_dump merged again)
                resolved[name] = ref
                continue
            if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
                raise ValueError("a name is not an environment variable name (A-Z, 0-9, _)")
            if name.startswith("AKTIENANALYSE_"):
                raise ValueError("AKTIENANALYSE_* variables are the deploy's (wheel contract)")
            needed = deployed and (groups is None or "app" in groups)
            resolved[name] = resolve_reference(name, ref, needed) or SecretStr("")
            if any(c in resolved[name].get_secret_value() for c in "\n\r"):
                raise ValueError(f"{name}: a service secret is one line; this one has more")
        return resolved

    @model_validator(mode="after")
    def _secrets_apart_from_environment(self) -> Service:
        both = sorted(set(self.secrets) & set(self.environment))
        if both:
            raise ValueError(f"{both[0]} is both in environment and in secrets")
        return self

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME.fullmatch(name):
                raise ValueError("a name is not an environment variable name (A-Z, 0-9, _)")
            if name.startswith("AKTIENANALYSE_"):
                raise ValueError("AKTIENANALYSE_* variables are the deploy's (wheel contract)")
        return value

    def wheel_version_problem(self, name: str) -> str | None:
        """Why the hash pins cannot be this release's wheels (another version, or not the
        service's own wheel at all)."""
        own = canonicalize_name(f"aktienanalyse-{name}")
        if self.sha256 and not any(parse_wheel_filename(w)[0] == own for w in self.sha256):
            return "the hash pins name no wheel of the service itself"
        for wheel in self.sha256:
            project, version, _, _ = parse_wheel_filename(wheel)
            if project == canonicalize_name(f"aktienanalyse-{name}") and str(version) != (
                self.version
            ):
                return "a hash pin names another version of the service's wheel"
        return None

    @field_validator("memory_max")
    @classmethod
    def _memory(cls, value: str) -> str:
        return check_size(value)

    @property
    def ports(self) -> range:
        """The instances' ports: the first is the seeds' (8001..8005), the others follow in
        steps of PORT_STRIDE, so every service can have up to 16 and the last digit still
        names the service (core 8001, 8011, 8021; broker 8002, 8012; ...)."""
        return range(self.port, self.port + PORT_STRIDE * self.instances, PORT_STRIDE)


# Seed 000 §4.1: the migration first, then event-bus, core, broker, monitoring, frontend.
START_ORDER = ("event-bus", "intelligent-core", "broker-gateway", "monitoring", "frontend")


class Releases(Strict):
    wheelhouse: Text | None = Field(
        None,
        description="directory of wheels on the control machine (relative to the repository "
        "or absolute); uploaded to the app hosts, only changed files are sent",
    )
    index_url: HttpUrl | None = Field(
        None,
        description="package index (PEP 503) the app hosts download the pinned wheels from "
        "into their wheelhouse, instead of an uploaded wheelhouse",
    )
    keep: int = Field(
        3, ge=2, le=20, description="releases kept per service, the live one included"
    )
    health_timeout: int = Field(
        60, ge=5, le=600, description="seconds an instance has to answer /health with its version"
    )

    @field_validator("wheelhouse")
    @classmethod
    def _existing_directory(cls, value: str | None) -> str | None:
        if value is not None:
            path = (Path(value) if Path(value).is_absolute() else REPO / value).resolve()
            if not value.strip() or path == REPO or (REPO in path.parents and ".git" in path.parts):
                raise ValueError("must name a wheelhouse directory, not the repository")
            if not path.is_dir():
                raise ValueError("the wheelhouse is not a directory")
            if not any(path.glob("*.whl")):
                raise ValueError("the wheelhouse holds no wheel")
            entries = list(path.iterdir())
            if any(f.resolve().parent != path or not f.resolve().is_file() for f in entries):
                raise ValueError(
                    "holds a link leading out of the wheelhouse, or something other than a "
                    "regular file (it is uploaded whole, what links point at included)"
                )
            if any(f.name != ".stamp" and f.suffix != ".whl" for f in entries):
                raise ValueError("the wheelhouse holds more than wheels (it is uploaded whole)")
            return str(path)
        return value


# The seeds' ports (003) and resource limits (000 §1.2).
# Seed 001's auto-scaling: core, event-bus and frontend run at least 2 instances ("always
# at least 2 for high availability"); broker-gateway and monitoring one.
DEFAULT_SERVICES: dict[str, Service] = {
    "intelligent-core": Service(port=8001, instances=2, memory_max="1G", cpu_quota=200),
    "broker-gateway": Service(port=8002, memory_max="512M", cpu_quota=150),
    "event-bus": Service(port=8003, instances=2, memory_max="1G", cpu_quota=200),
    "monitoring": Service(port=8004, memory_max="512M", cpu_quota=100),
    "frontend": Service(port=8005, instances=2, memory_max="512M", cpu_quota=100),
}


IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PG_PARAMETER = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)?$")
# Set by deploys/postgresql.py itself; an override would break access or the platform.
PG_MANAGED = {"listen_addresses", "port", "password_encryption", "hba_file", "data_directory",
              "config_file", "ident_file", "include", "include_dir", "shared_preload_libraries",
              "max_connections"}  # fmt: skip


def _names(*lines: str) -> frozenset[str]:
    return frozenset(" ".join(lines).split())


# What `postgresql.overrides` may set: tuning, timeouts, logging to the journal, statistics.
# An allow-list: anything else (loading code, running commands, files, security switches,
# replication, features a container lacks such as huge pages) is refused. Not log_statement:
# it would log the SQL that sets passwords.
PG_OVERRIDABLE = _names(
    # memory and planner
    "shared_buffers work_mem maintenance_work_mem autovacuum_work_mem logical_decoding_work_mem",
    "temp_buffers effective_cache_size hash_mem_multiplier wal_buffers temp_file_limit",
    "random_page_cost seq_page_cost cpu_tuple_cost cpu_index_tuple_cost cpu_operator_cost",
    "effective_io_concurrency maintenance_io_concurrency default_statistics_target jit",
    "jit_above_cost jit_inline_above_cost jit_optimize_above_cost from_collapse_limit",
    "join_collapse_limit geqo geqo_threshold plan_cache_mode",
    # parallelism
    "max_worker_processes max_parallel_workers max_parallel_workers_per_gather",
    "max_parallel_maintenance_workers parallel_leader_participation",
    # WAL, checkpoints, background writer, vacuum
    "min_wal_size max_wal_size checkpoint_timeout checkpoint_completion_target",
    "checkpoint_warning wal_compression wal_writer_delay wal_writer_flush_after commit_delay",
    "commit_siblings wal_keep_size bgwriter_delay bgwriter_lru_maxpages bgwriter_lru_multiplier",
    "bgwriter_flush_after vacuum_cost_delay vacuum_cost_limit vacuum_cost_page_hit",
    "vacuum_cost_page_miss vacuum_cost_page_dirty vacuum_freeze_min_age vacuum_freeze_table_age",
    "autovacuum autovacuum_max_workers autovacuum_naptime autovacuum_vacuum_threshold",
    "autovacuum_vacuum_insert_threshold autovacuum_analyze_threshold",
    "autovacuum_vacuum_scale_factor autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_scale_factor autovacuum_freeze_max_age autovacuum_vacuum_cost_delay",
    "autovacuum_vacuum_cost_limit",
    # timeouts and locks
    "statement_timeout lock_timeout idle_in_transaction_session_timeout idle_session_timeout",
    "deadlock_timeout max_locks_per_transaction tcp_keepalives_idle tcp_keepalives_interval",
    "tcp_keepalives_count",
    # logging (to the journal, as Debian's cluster does) and statistics
    "log_min_duration_statement log_checkpoints log_connections log_disconnections",
    "log_lock_waits log_temp_files log_autovacuum_min_duration log_min_messages",
    "log_min_error_statement log_line_prefix track_io_timing track_functions",
    "track_activity_query_size pg_stat_statements.max pg_stat_statements.track",
    "pg_stat_statements.track_utility",
    # session defaults
    "default_transaction_isolation timezone datestyle intervalstyle default_text_search_config",
)
# Roles and databases the cluster itself owns (zabbix: the agent's read-only monitoring role).
PG_RESERVED = frozenset({"postgres", "template0", "template1", "zabbix"})


class PostgreSQL(Strict):
    max_connections: int = Field(100, ge=10, le=5000, description="max_connections; sizes work_mem")
    storage: Literal["ssd", "hdd"] = Field(
        "ssd", description="storage profile: random_page_cost, effective_io_concurrency"
    )
    overrides: dict[str, Text | int | float] = Field(
        default={},
        description="postgresql.conf values that replace the computed ones, "
        "e.g. {'work_mem': '8MB'}",
    )
    app_role: str = Field("stock_analysis", description="the application's login role (seed 003)")
    databases: list[str] = Field(
        default=["aktienanalyse_event_store"], description="databases owned by the app role"
    )
    extensions: list[str] = Field(
        default=["pg_stat_statements"], description="extensions created in each database"
    )

    @field_validator("overrides")
    @classmethod
    def _parameter_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not PG_PARAMETER.fullmatch(name):
                raise ValueError("a name is not a PostgreSQL parameter name")
            if name in PG_MANAGED:
                raise ValueError(
                    f"{name} is set by the deploy (or its own setting), not overridable"
                )
            if name not in PG_OVERRIDABLE:
                raise ValueError(
                    f"{name} is not among the parameters an override may set (tuning, "
                    "timeouts, logging, statistics: infra/settings.py PG_OVERRIDABLE); others "
                    "run commands, load code or weaken security"
                )
        return value

    @field_validator("app_role", "databases", "extensions")
    @classmethod
    def _identifiers(cls, value: str | list[str]) -> str | list[str]:
        for name in [value] if isinstance(value, str) else value:
            if not IDENTIFIER.fullmatch(name):
                raise ValueError("not a lower-case SQL identifier")
            if name in PG_RESERVED or (name.startswith("pg_") and not isinstance(value, list)):
                raise ValueError("names a role or database the cluster itself owns")
        return value


ACL_PATTERN = re.compile(r"^[A-Za-z0-9:_.*?\[\]{}-]+$")
# What the app user may be granted; the ACL always ends with -@admin -@dangerous besides.
APP_CATEGORIES = frozenset(
    [
        "@read",
        "@write",
        "@pubsub",
        "@transaction",
        "@connection",
        "@keyspace",
        "@string",
        "@hash",
        "@list",
        "@set",
        "@sortedset",
        "@stream",
        "@bitmap",
        "@hyperloglog",
        "@geo",
        "@fast",
        "@slow",
        "@scripting",
    ]
)
DANGEROUS = frozenset(
    [
        "acl",
        "bgrewriteaof",
        "bgsave",
        "client",
        "cluster",
        "config",
        "debug",
        "failover",
        "flushall",
        "flushdb",
        "info",
        "keys",
        "lastsave",
        "latency",
        "memory",
        "migrate",
        "module",
        "monitor",
        "psync",
        "replconf",
        "replicaof",
        "restore",
        "role",
        "save",
        "shutdown",
        "slaveof",
        "slowlog",
        "sort",
        "swapdb",
        "sync",
    ]
)
SAVE_POINT = re.compile(r"^[1-9][0-9]* [1-9][0-9]*$")
ACL_RULE = re.compile(r"^[+-](@[a-z]+|[a-z|]+)$")


class Redis(Strict):
    maxmemory_fraction: float = Field(
        0.5, gt=0, le=0.9, description="share of the host's effective memory for data"
    )
    maxmemory_cap: Annotated[str, AfterValidator(check_size)] | None = Field(
        "1G", description="upper bound for maxmemory (seed 001: 1gb); none for no cap"
    )
    maxmemory_policy: Literal[
        "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "noeviction"
    ] = Field("allkeys-lru", description="eviction policy (seed 001)")
    save: list[str] = Field(
        default=["900 1", "300 10", "60 10000"], description="RDB snapshot points (seed 001)"
    )
    appendonly: bool = Field(False, description="AOF persistence in addition to RDB snapshots")
    app_user: str = Field("aktienanalyse", description="ACL user of the services")
    app_key_patterns: list[str] = Field(
        default=["market:*", "portfolio:*", "user:*", "session:*", "ratelimit:*", "calc:*",
                 "api:*", "events:*", "health:*"],
        description="key patterns the app user may touch (the seeds' cache keys)",
    )  # fmt: skip
    app_channel_patterns: list[str] = Field(
        default=["events:*"], description="pub/sub channels the app user may use"
    )
    app_commands: list[str] = Field(
        default=["+@read", "+@write", "+@pubsub", "+@transaction", "+@connection", "-@dangerous"],
        description="command categories of the app user, in order",
    )
    admin_user: str = Field("admin", description="ACL user with every right, for operators")

    @field_validator("save")
    @classmethod
    def _save_points(cls, value: list[str]) -> list[str]:
        for point in value:
            if not SAVE_POINT.fullmatch(point):
                raise ValueError("a save point is not '<seconds> <changes>'")
        return value

    @field_validator("app_user", "admin_user")
    @classmethod
    def _user_name(cls, value: str) -> str:
        if not USERNAME.fullmatch(value) or value in {"default", "zabbix"}:
            raise ValueError("not a usable ACL user name (default and zabbix are taken)")
        return value

    @field_validator("app_key_patterns", "app_channel_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not ACL_PATTERN.fullmatch(pattern):
                raise ValueError("a pattern is empty or has characters other than letters, "
                                 "digits and :_.-*?[]{}")  # fmt: skip
        return value

    @field_validator("app_commands")
    @classmethod
    def _acl_rules(cls, value: list[str]) -> list[str]:
        for rule in value:
            if not ACL_RULE.fullmatch(rule):
                raise ValueError("a rule is not an ACL command rule like +@read or -flushall")
            if rule.startswith("+") and (
                rule[1:] not in APP_CATEGORIES if rule[1] == "@" else rule[1:] in DANGEROUS
            ):
                raise ValueError(
                    "grants more than the app may have: categories "
                    f"{', '.join(sorted(APP_CATEGORIES))}, or single commands outside "
                    "@admin and @dangerous"
                )
        return value


MIN_PASSWORD = 16  # the passwords reach network services (PostgreSQL, Redis)
SecretName = Literal[
    "postgresql_app_password",
    "pgbackrest_cipher_pass",
    "redis_app_password",
    "redis_admin_password",
    "haproxy_tls_pem",
    "zabbix_admin_password",
    "zabbix_tls_pem",
]
PEM_SECRETS = ("haproxy_tls_pem", "zabbix_tls_pem")  # certificate and key, checked as such
# The group whose hosts use (and so need) each secret; others read it from them.
SECRET_OWNERS = {
    "postgresql_app_password": "db",
    "pgbackrest_cipher_pass": "db",
    "redis_app_password": "cache",
    "redis_admin_password": "cache",
    "haproxy_tls_pem": "lb",
    "zabbix_admin_password": "monitoring",
    "zabbix_tls_pem": "monitoring",  # the frontend's and API's HTTPS certificate and key
}


class Zabbix(Strict):
    server: list[Annotated[str, AfterValidator(_host)]] = Field(
        default=["10.1.1.103"],
        description="Zabbix server(s) allowed to poll (seed 000: 10.1.1.103)",
    )
    server_active: HostPort | None = Field(
        "10.1.1.103:10051", description="Zabbix server for active checks; none: passive only"
    )

    @field_validator("server")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                ip_address(address)
            except ValueError:
                raise ValueError("a server is not an IP address") from None
        return value


MIN_SECLEVEL = 2  # OpenSSL's security level: 112-bit keys, no SHA-1 signatures


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
    weak = [
        cipher
        for cipher in context.get_ciphers()
        if cipher["protocol"] != "TLSv1.3"
        and (cipher["kea"] not in ("kx-ecdhe", "kx-dhe") or cipher["auth"] == "auth-null"
             or not cipher["aead"] or cipher["strength_bits"] < 128)
    ]  # fmt: skip
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
    public_services: list[
        Literal["intelligent-core", "broker-gateway", "event-bus", "monitoring"]
    ] = Field(
        default=["intelligent-core", "broker-gateway", "event-bus", "monitoring"],
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


def _calendar(value: str) -> str:
    problem = calendar_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Calendar = Annotated[str, AfterValidator(_calendar)]

BACKUP_ROOTS = ("/srv/", "/mnt/", "/backup/", "/var/backups/")
DATA_DIRECTORIES = {"/var/lib/postgresql": "PostgreSQL's", "/var/lib/redis": "Redis'"}


def _backup_path(value: str) -> str:
    value = value.rstrip("/")
    if not SAFE_PATH.fullmatch(value) or any(part in {".", ".."} for part in value.split("/")):
        raise ValueError("must be an absolute path of letters, digits, '.', '_', '-' and '/'")
    for data_dir, whose in DATA_DIRECTORIES.items():
        if f"{value}/".startswith(f"{data_dir}/") or f"{data_dir}/".startswith(f"{value}/"):
            raise ValueError(
                f"holds or is inside {whose} data directory: a backup there dies with the disk "
                "it protects"
            )
    if not any(f"{value}/".startswith(root) and f"{value}/" != root for root in BACKUP_ROOTS):
        raise ValueError(f"must be below one of {', '.join(BACKUP_ROOTS)} (another disk's mount)")
    return value


class Backup(Strict):
    """pgBackRest for PostgreSQL (group db) and copies of Redis' snapshots (group cache)."""

    enabled: bool = Field(True, description="back up PostgreSQL (WAL archive + timers) and Redis")
    path: Annotated[str, AfterValidator(_backup_path)] = Field(
        "/srv/backup",
        description="where backups go: the mount of another disk or host, never the data's own",
    )
    require_mount: bool = Field(
        True, description="refuse (fail the host) when `path` is not a mount point of its own"
    )
    full_schedule: Calendar = Field(
        "Sun *-*-* 01:30", description="full backup (systemd calendar; seed 003: weekly)"
    )
    diff_schedule: Calendar = Field(
        "Mon..Sat *-*-* 01:30", description="differential backup on the other days"
    )
    retention_full: int = Field(4, ge=1, le=100, description="full backups kept (with their WAL)")
    retention_diff: int = Field(7, ge=1, le=100, description="differential backups kept")
    max_age_hours: int = Field(
        26, ge=1, le=24 * 14, description="Zabbix problem when the last verified backup is older"
    )
    redis_schedule: Calendar = Field(
        "*-*-* *:20:00", description="copy Redis' RDB snapshot to `path` (hourly)"
    )
    redis_copies: int = Field(48, ge=1, le=10000, description="Redis snapshot copies kept")


JOB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
PROGRAM = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")


class Job(Strict):
    """A scheduled job: a systemd timer and its hardened oneshot service."""

    schedule: Calendar = Field(description="systemd calendar expression (OnCalendar=)")
    run_as: Literal["postgres"] | ServiceName = Field(
        description="'postgres' (on db hosts) or a service, whose user, release and "
        "environment the job uses (on app hosts where the service is deployed)"
    )
    command: list[Text] = Field(
        min_length=1,
        description="program and arguments, no shell; a service's program is taken from its "
        "release's bin/",
    )

    @field_validator("command")
    @classmethod
    def _program(cls, value: list[str]) -> list[str]:
        if not (PROGRAM.fullmatch(value[0]) or SAFE_PATH.fullmatch(value[0])):
            raise ValueError("the program must be a plain name or an absolute path")
        return value


DEFAULT_JOBS = {
    "postgresql-vacuum": Job(
        schedule="Sun *-*-* 03:30",
        run_as="postgres",
        command=["vacuumdb", "--all", "--analyze"],
    ),
}


class Updates(Strict):
    """Unattended security upgrades, every host."""

    enabled: bool = Field(True, description="install security updates unattended")
    window: Calendar = Field(
        "*-*-* 04:00", description="when upgrades run (apt-daily-upgrade.timer)"
    )


class Settings(Strict):
    """A host's complete, validated settings (`infra.hostdata.settings()` in every deploy)."""

    system: System = Field(default_factory=System, description="OS-level settings")
    platform: Platform = Field(default_factory=Platform, description="user and directory layout")
    operators: list[Operator] = Field(default=[], description="operator accounts")
    services: dict[ServiceName, Service] = Field(
        default_factory=lambda: dict(DEFAULT_SERVICES), description="the five services"
    )
    releases: Releases = Field(default_factory=Releases, description="where wheels come from")
    haproxy: HAProxy = Field(default_factory=HAProxy, description="group lb")
    zabbix: Zabbix = Field(default_factory=Zabbix, description="Zabbix agent 2, every host")
    postgresql: PostgreSQL = Field(default_factory=PostgreSQL, description="group db")
    redis: Redis = Field(default_factory=Redis, description="group cache")
    backup: Backup = Field(default_factory=Backup, description="PostgreSQL and Redis backups")
    jobs: dict[Annotated[str, Field(pattern=JOB_NAME.pattern)], Job] = Field(
        default_factory=lambda: dict(DEFAULT_JOBS),
        description="scheduled jobs (systemd timers) besides the backups",
    )
    updates: Updates = Field(default_factory=Updates, description="unattended security updates")
    secrets: dict[SecretName, SecretStr] = Field(
        default={}, description="secret references; a host resolves those its groups need"
    )

    @field_validator("services", mode="before")
    @classmethod
    def _merge_service_defaults(cls, value: Any) -> Any:
        """Group data may set only what differs from the seeds' defaults for a service."""
        if not isinstance(value, Mapping):
            return value
        merged = {}
        for name, overrides in value.items():
            default = DEFAULT_SERVICES.get(name)
            if default is not None and isinstance(overrides, Mapping):
                merged[name] = {**default.model_dump(), **overrides}
            else:
                merged[name] = overrides
        return {**{k: v.model_dump() for k, v in DEFAULT_SERVICES.items()}, **merged}

    @field_validator("secrets", mode="before")
    @classmethod
    def _resolve_secrets(cls, value: Any, info: ValidationInfo) -> Any:
        """Resolve the references the host's groups need (validation context "groups");
        check the others' shape only. Without a context, resolve all."""
        if not isinstance(value, Mapping):
            return value
        groups = (info.context or {}).get("groups")
        resolved = {}
        for name, ref in value.items():
            if name not in SECRET_OWNERS:
                raise ValueError(f"unknown secret (known: {', '.join(SECRET_OWNERS)})")
            needed = groups is None or SECRET_OWNERS.get(name) in groups
            secret = resolve_reference(name, ref, needed)
            if secret is not None:
                resolved[name] = secret
        return resolved

    @model_validator(mode="after")
    def _checks_across_sections(self) -> Settings:
        """Each message starts with the dotted key it is about (infra/hostdata.py names the
        file that set it)."""
        h = self.haproxy
        reserved = {22: "SSH's", 5432: "PostgreSQL's", 6379: "Redis'", 10050: "the Zabbix agent's"}
        for key, port in (("port", h.port), ("stats_port", h.stats_port),
                          ("internal_port", h.internal_port),
                          ("admin_port", h.admin_port)):  # fmt: skip
            if port in reserved:
                raise ValueError(f"haproxy.{key}: port {port} is {reserved[port]}")
            reserved[port] = f"HAProxy's ({key})"
        taken: dict[int, str] = dict(reserved)
        for name, service in self.services.items():
            if service.ports[-1] > 65535:
                raise ValueError(f"services.{name}.instances: ports would pass 65535")
            for port in service.ports:
                if port in taken:
                    raise ValueError(f"services.{name}: port {port} is also {taken[port]}")
                taken[port] = f"{name}'s"
            problem = service.wheel_version_problem(name) if service.version else None
            if problem:
                raise ValueError(f"services.{name}.sha256: {problem}")
        pinned = [name for name, service in self.services.items() if service.version]
        sources = [self.releases.wheelhouse, self.releases.index_url]
        if None not in sources:
            raise ValueError("releases: give either wheelhouse or index_url, not both")
        if pinned and sources == [None, None]:
            raise ValueError(
                f"services.{pinned[0]}.version: give releases.wheelhouse or releases.index_url "
                f"to deploy {', '.join(pinned)}"
            )
        index = self.releases.index_url
        unpinned = [n for n in pinned if not self.services[n].sha256]
        if index and str(index).startswith("http://") and unpinned:
            raise ValueError(
                f"services.{unpinned[0]}.sha256: releases.index_url is plain http, where "
                "anyone on the path could swap a wheel; pin every wheel (sha256) or use https"
            )
        if self.redis.app_user == self.redis.admin_user:
            raise ValueError("redis.admin_user: must differ from redis.app_user")
        for name in PEM_SECRETS:
            pem = self.secrets.get(name)
            problem = pem and pem_problem(pem.get_secret_value(), self.haproxy.certificate_min_days)
            if problem:
                raise ValueError(f"secrets.{name}: {problem}")
        for name, secret in self.secrets.items():
            if name in PEM_SECRETS:
                continue
            if len(secret.get_secret_value()) < MIN_PASSWORD:
                raise ValueError(f"secrets.{name}: shorter than {MIN_PASSWORD} characters")
            if any(c in secret.get_secret_value() for c in "\n\r"):  # a line of every file
                raise ValueError(f"secrets.{name}: a password is one line; this one has more")
        cipher = self.secrets.get("pgbackrest_cipher_pass")
        if cipher and not re.fullmatch(r"[!-~]+", cipher.get_secret_value()):
            raise ValueError(
                "secrets.pgbackrest_cipher_pass: printable ASCII without spaces only "
                "(it is a value in pgBackRest's ini file)"
            )
        zabbix = self.secrets.get("zabbix_admin_password")
        if zabbix and len(zabbix.get_secret_value().encode()) > 72:
            raise ValueError(
                "secrets.zabbix_admin_password: longer than 72 bytes (bcrypt, the frontend's "
                "hash, ignores the rest)"
            )
        pg_password = self.secrets.get("postgresql_app_password")
        problem = pg_password and saslprep_problem(pg_password.get_secret_value())
        if problem:
            raise ValueError(f"secrets.postgresql_app_password: {problem}")
        names = [op.name for op in self.operators]
        if len(names) != len(set(names)):
            raise ValueError("operators: operator names must be unique")
        return self

    def to_json(self) -> dict[str, Any]:
        """For `pyinfra ... debug-inventory`; secrets print as '**********'."""
        return self.model_dump(mode="json")
