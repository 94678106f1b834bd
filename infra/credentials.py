"""Each service's own database role and Redis user, and their passwords.

Every service logs in as itself: `<postgresql.app_role>_<service>` (dashes as underscores) and
`<redis.app_user>-<service>`. The core (intelligent-core) runs the migrations: its role is a
member of `postgresql.app_role`, which owns the databases and cannot log in; the others get
data access (SELECT, INSERT, UPDATE, DELETE, sequences) on the schema it makes. Their
passwords are derived on the control machine from the secrets `postgresql_app_password` and
`redis_app_password` (HMAC-SHA256 with the service's name): a service receives its own
password only, in its own secrets file, and cannot compute another's; rotating the secret
rotates every service's.
"""

from __future__ import annotations

import base64
import hmac

from pydantic import SecretStr

from infra.settings import START_ORDER


def database_role(app_role: str, service: str) -> str:
    return f"{app_role}_{service.replace('-', '_')}"


def redis_user(app_user: str, service: str) -> str:
    return f"{app_user}-{service}"


def service_password(secret: SecretStr, store: str, service: str) -> SecretStr:
    """`service`'s password for `store` ("postgresql" or "redis"), derived from `secret`."""
    context = f"aktienanalyse {store} password of {service}".encode()
    digest = hmac.new(secret.get_secret_value().encode(), context, "sha256").digest()
    return SecretStr(base64.urlsafe_b64encode(digest).decode().rstrip("="))


def database_roles(app_role: str) -> dict[str, str]:
    """service -> its role, for every service of the platform (deployed or not)."""
    return {name: database_role(app_role, name) for name in START_ORDER}


def redis_users(app_user: str) -> dict[str, str]:
    return {name: redis_user(app_user, name) for name in START_ORDER}
