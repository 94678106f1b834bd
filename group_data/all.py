"""Settings for every host. Each name is a section of deploys/settings.py (README: Settings)."""

system = {
    "timezone": "Europe/Berlin",
}

# Operator accounts with SSH keys and sudo, e.g.
#   {"name": "alice", "ssh_keys": ["ssh-ed25519 AAAA... alice@laptop"]}
operators = []

# The seeds' ports and limits are the defaults; set here only what differs, e.g.
#   "frontend": {"instances": 2}
services = {}

# Production secrets come from the environment of whoever runs pyinfra (GitHub Actions:
# repository secrets). Never write a secret value in this repository.
secrets = {
    "postgresql_app_password": {"env": "AKTIENANALYSE_POSTGRESQL_APP_PASSWORD"},
    "redis_app_password": {"env": "AKTIENANALYSE_REDIS_APP_PASSWORD"},
    "redis_admin_password": {"env": "AKTIENANALYSE_REDIS_ADMIN_PASSWORD"},
}
