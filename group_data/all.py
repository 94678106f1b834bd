"""Settings for every host. Each name is a section of infra/settings.py (README: Settings).

pyinfra gives a host each name from its host data, else from its groups' files
(group_data/<group>.py), else from here; a name is replaced whole, never merged.
"""

system = {
    "timezone": "Europe/Berlin",
}

# Operator accounts with SSH keys and sudo, e.g.
#   {"name": "alice", "ssh_keys": ["ssh-ed25519 AAAA... alice@laptop"]}
operators = []

# Production secrets come from the environment of whoever runs pyinfra (GitHub Actions:
# repository secrets). Never write a secret value in this repository. Each host resolves
# the ones its groups need (db, cache: the passwords; lb: the certificate).
secrets = {
    "postgresql_app_password": {"env": "AKTIENANALYSE_POSTGRESQL_APP_PASSWORD"},
    "redis_app_password": {"env": "AKTIENANALYSE_REDIS_APP_PASSWORD"},
    "redis_admin_password": {"env": "AKTIENANALYSE_REDIS_ADMIN_PASSWORD"},
    "haproxy_tls_pem": {"env": "AKTIENANALYSE_HAPROXY_TLS_PEM"},
}
