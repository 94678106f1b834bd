"""Database clients on app hosts (group `app`): psql and redis-cli.

The operators' runbook (seed 003) checks the database and cache from the application's side;
the acceptance tests do the same. Settings: none. Nothing to configure: deploys/base.py
installs them with every other deploy's packages.
"""

PACKAGES = ["postgresql-client-15", "redis-tools"]
