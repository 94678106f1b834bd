"""Database clients on app hosts (group `app`): psql and redis-cli.

The operators' runbook (seed 003) checks the database and cache from the application's side;
the acceptance tests do the same. Settings: none.
"""

from pyinfra.api import deploy

from infra.operations import apt_install


@deploy("Database clients")
def apply() -> None:
    apt_install("psql and redis-cli", ["postgresql-client-15", "redis-tools"])
