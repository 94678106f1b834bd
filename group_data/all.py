"""Settings for every host: each name is a section (infra/settings/<section>.py, docs/settings.md).

pyinfra gives a host each name from its host data, else from its groups' files
(group_data/<group>.py), else from here; a name is replaced whole, never merged.
"""

import os

system = {
    "timezone": "Europe/Berlin",
}

# Operator accounts with SSH keys and sudo, e.g.
#   {"name": "alice", "ssh_keys": ["ssh-ed25519 AAAA... alice@laptop"]}
# The first is the one pyinfra connects as (inventories/prod.py: `deploy`, sudo); a converge
# that would remove it, or its sudo, is refused before contact. Its key is the public half
# of the workflows' deploy key, from the environment (repository variable
# AKTIENANALYSE_DEPLOY_PUBLIC_KEY), so a rotated key needs no commit.
operators = [
    {
        "name": os.environ.get("AKTIENANALYSE_SSH_USER", "deploy"),
        "ssh_keys": [os.environ.get("AKTIENANALYSE_DEPLOY_PUBLIC_KEY", "")],
    },
]

# Production secrets come from the environment of whoever runs pyinfra (GitHub Actions:
# repository secrets). Never write a secret value in this repository. Each host resolves
# the ones its groups need (db, cache: the passwords; lb: the certificate).
secrets = {
    "postgresql_app_password": {"env": "AKTIENANALYSE_POSTGRESQL_APP_PASSWORD"},
    # Encrypts the pgBackRest repository (backup.path); without it no backup can be restored.
    "pgbackrest_cipher_pass": {"env": "AKTIENANALYSE_PGBACKREST_CIPHER_PASS"},
    "redis_app_password": {"env": "AKTIENANALYSE_REDIS_APP_PASSWORD"},
    "redis_admin_password": {"env": "AKTIENANALYSE_REDIS_ADMIN_PASSWORD"},
    "haproxy_tls_pem": {"env": "AKTIENANALYSE_HAPROXY_TLS_PEM"},
}
# A cluster's (two data hosts, inventories/prod_ha.py): Patroni's superuser, the PostgreSQL
# standbys' and the Redis replicas' logins. Referenced once they are exported; a cluster
# without them is refused before any host is contacted.
secrets |= {
    name.lower(): {"env": f"AKTIENANALYSE_{name}"}
    for name in (
        "POSTGRESQL_SUPERUSER_PASSWORD",
        "POSTGRESQL_REPLICATION_PASSWORD",
        "REDIS_REPLICATION_PASSWORD",
    )
    if f"AKTIENANALYSE_{name}" in os.environ
}
